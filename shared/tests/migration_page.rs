//! `docs/migration.md` lists every setting of the Django system this replaces, saying for each whether it is
//! still read. This keeps that true: a setting marked "no longer read" is one the processes warn about and
//! nothing reads; any other is read somewhere in the code.

use shared::settings::retired::RETIRED;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_old_setting_is_read_or_named_as_retired() {
    let page = std::fs::read_to_string(root().join("docs/migration.md")).unwrap();
    let rows: Vec<(&str, bool)> = page
        .lines()
        .filter_map(|l| {
            let name = l.strip_prefix("| `")?.split('`').next()?;
            let retired = l.rsplit('|').nth(1)?.contains("no longer read");
            name.chars().all(|c| c.is_ascii_uppercase() || c == '_').then_some((name, retired))
        })
        .collect();
    assert!(rows.len() >= 77, "the old system had 77 settings; the page lists {}", rows.len());
    let mut code = Vec::new();
    for crate_dir in ["shared/src", "functions/src", "listener/src"] {
        sources(&root().join(crate_dir), &mut code);
    }
    let read_by_code = |name: &str| {
        let quoted = format!("\"{name}\"");
        code.iter().any(|(path, text)| !path.ends_with("settings/retired.rs") && text.contains(&quoted))
    };
    for (name, retired) in &rows {
        if *retired {
            assert!(RETIRED.iter().any(|(r, _)| r == name), "{name} is marked retired but not warned about");
            assert!(!read_by_code(name), "{name} is marked retired but the code reads it");
        } else {
            assert!(read_by_code(name), "{name} is marked as read but nothing reads it");
        }
    }
    for (name, _) in RETIRED {
        assert!(rows.iter().any(|(r, retired)| r == name && *retired), "{name} is warned about but not on the page");
    }
}
