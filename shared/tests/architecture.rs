//! The architecture invariants of `ARCHITECTURE.md` that can be checked mechanically, and the page's own
//! accuracy: every path it names exists and every Lambda binary is in its table. Workspace-wide, so it
//! lives in the crate every other depends on (and the cheapest to build). Reads `cargo metadata`
//! (workspace manifests only, no build, no network) and the source tree; builds nothing.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// `cargo metadata --no-deps`: the workspace members with their declared dependencies and features.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--manifest-path"])
        .arg(root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Workspace {
    packages: BTreeMap<String, Value>,
}

impl Workspace {
    fn load() -> Self {
        let meta = metadata();
        let packages =
            meta["packages"].as_array().unwrap().iter().map(|p| (p["name"].as_str().unwrap().to_string(), p.clone()));
        Self { packages: packages.collect() }
    }

    /// Normal (not dev, not build) dependencies of a member.
    fn normal_deps(&self, pkg: &str) -> Vec<&Value> {
        self.packages[pkg]["dependencies"].as_array().unwrap().iter().filter(|d| d["kind"].is_null()).collect()
    }

    /// The package a dependency entry points at, when it is a workspace member.
    fn member_of(&self, dep: &Value) -> Option<String> {
        let name = dep["name"].as_str().unwrap();
        self.packages.contains_key(name).then(|| name.to_string())
    }

    fn dep_named(&self, pkg: &str, local_name: &str) -> Option<&Value> {
        self.normal_deps(pkg).into_iter().find(|d| d["rename"].as_str().or(d["name"].as_str()) == Some(local_name))
    }

    /// Features enabled on every workspace member when `root` is built on its own with `features`
    /// (plus `default` when `default` is true): cargo's feature resolution, restricted to members. A
    /// member is in the map only when something activates it (optional ones through `dep:` or `dep/f`).
    /// Items naming a non-member (`dep:whisper-rs`, `axum/ws`) are kept as they are, so callers can look
    /// for them.
    fn resolve(&self, root: &str, features: &[&str], default: bool) -> BTreeMap<String, BTreeSet<String>> {
        let mut enabled: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut queue: VecDeque<(String, Option<String>)> = VecDeque::new();
        // `dep?/f`: the feature applies only if the dependency is activated by something else.
        let mut weak: Vec<(String, String)> = Vec::new();
        queue.push_back((root.to_string(), None));
        for f in features {
            queue.push_back((root.to_string(), Some(f.to_string())));
        }
        if default {
            queue.push_back((root.to_string(), Some("default".into())));
        }
        loop {
            while let Some((pkg, feature)) = queue.pop_front() {
                let activated = enabled.contains_key(&pkg);
                let set = enabled.entry(pkg.clone()).or_default();
                if !activated {
                    // A newly activated member activates its non-optional member dependencies.
                    for dep in self.normal_deps(&pkg) {
                        if dep["optional"].as_bool() != Some(true) {
                            queue.extend(self.activation(dep));
                        }
                    }
                }
                let Some(feature) = feature else { continue };
                let table = &self.packages[&pkg]["features"];
                if feature == "default" && table.get("default").is_none() {
                    continue;
                }
                if !set.insert(feature.clone()) {
                    continue;
                }
                for item in table.get(&feature).and_then(Value::as_array).into_iter().flatten() {
                    let item = item.as_str().unwrap();
                    let named = |dep: &str| self.dep_named(&pkg, dep).filter(|d| self.member_of(d).is_some());
                    if let Some((dep, f)) = item.split_once('/') {
                        match (dep.strip_suffix('?'), named(dep.trim_end_matches('?'))) {
                            (Some(_), Some(d)) => weak.push((self.member_of(d).unwrap(), f.to_string())),
                            (None, Some(d)) => {
                                queue.extend(self.activation(d));
                                queue.push_back((self.member_of(d).unwrap(), Some(f.to_string())));
                            }
                            (_, None) => {
                                enabled.get_mut(&pkg).unwrap().insert(item.to_string());
                            }
                        }
                    } else if let Some(dep) = item.strip_prefix("dep:") {
                        queue.extend(named(dep).map(|d| self.activation(d)).unwrap_or_default());
                        enabled.get_mut(&pkg).unwrap().insert(item.to_string());
                    } else {
                        queue.push_back((pkg.clone(), Some(item.to_string())));
                    }
                }
            }
            let due: Vec<_> = weak
                .iter()
                .filter(|(m, f)| enabled.get(m).is_some_and(|set| !set.contains(f)))
                .map(|(m, f)| (m.clone(), Some(f.clone())))
                .collect();
            if due.is_empty() {
                return enabled;
            }
            queue.extend(due);
        }
    }

    /// What depending on `dep` turns on, when it is a workspace member: the member, the features the
    /// dependency asks for, and its defaults unless turned off.
    fn activation(&self, dep: &Value) -> Vec<(String, Option<String>)> {
        let Some(m) = self.member_of(dep) else { return Vec::new() };
        let mut out = vec![(m.clone(), None)];
        out.extend(dep["features"].as_array().unwrap().iter().map(|f| (m.clone(), Some(f.as_str().unwrap().into()))));
        if dep["uses_default_features"].as_bool() == Some(true) {
            out.push((m, Some("default".into())));
        }
        out
    }
}

fn any_enabled(resolved: &BTreeMap<String, BTreeSet<String>>, feature: &str) -> Vec<String> {
    resolved.iter().filter(|(_, fs)| fs.contains(feature)).map(|(p, _)| format!("{p}/{feature}")).collect()
}

/// No member the Lambdas build depends on `crate` unless it is optional (and so off unless turned on).
fn only_optional(ws: &Workspace, resolved: &BTreeMap<String, BTreeSet<String>>, krate: &str) {
    for pkg in resolved.keys() {
        assert!(
            ws.normal_deps(pkg).iter().all(|d| d["name"] != krate || d["optional"] == true),
            "{pkg} depends on {krate} unconditionally"
        );
    }
}

#[test]
fn the_lambdas_link_neither_the_listener_nor_sqlite_nor_whisper() {
    let ws = Workspace::load();
    let lambdas = ws.resolve("lambdas", &[], true);
    assert!(lambdas["shared"].contains("aws"), "the resolution must see `aws` reach shared: {lambdas:?}");
    assert!(!lambdas.contains_key("listener"), "the Lambdas link the listener: {lambdas:?}");
    assert_eq!(any_enabled(&lambdas, "local"), Vec::<String>::new(), "the Lambdas build the local host");
    assert_eq!(any_enabled(&lambdas, "whisper"), Vec::<String>::new(), "the Lambdas enable whisper");
    assert_eq!(any_enabled(&lambdas, "embedded"), Vec::<String>::new(), "the Lambdas enable the embedded adapters");
    // axum's `ws` feature links tokio-tungstenite, the WebSocket stack only the local host serves with.
    assert_eq!(any_enabled(&lambdas, "axum/ws"), Vec::<String>::new(), "the Lambdas enable axum/ws");
    for krate in ["whisper-rs", "rusqlite", "tokio-tungstenite"] {
        assert_eq!(any_enabled(&lambdas, &format!("dep:{krate}")), Vec::<String>::new());
        only_optional(&ws, &lambdas, krate);
    }
    for pkg in lambdas.keys() {
        let axum = ws.dep_named(pkg, "axum").map(|d| d["features"].as_array().unwrap().clone()).unwrap_or_default();
        assert!(!axum.iter().any(|f| f == "ws"), "{pkg} asks for axum with ws unconditionally");
    }
}

#[test]
fn the_local_binary_links_no_aws_sdk() {
    let ws = Workspace::load();
    let local = ws.resolve("functions", &[], true);
    assert!(local["shared"].contains("whisper"), "the local binary has whisper, and the resolution sees it");
    assert!(local["shared"].contains("embedded") && local["listener"].contains("whisper"), "{local:?}");
    assert!(local["functions"].contains("axum/ws"), "the local binary serves /ws: {local:?}");
    assert_eq!(any_enabled(&local, "aws"), Vec::<String>::new(), "the local binary enables aws");
    for pkg in local.keys() {
        for dep in ws.normal_deps(pkg) {
            let name = dep["name"].as_str().unwrap();
            assert!(
                !(name.starts_with("aws-") || name == "lambda_http") || dep["optional"] == true,
                "{pkg} depends on {name} unconditionally"
            );
        }
    }
}

#[test]
fn shared_never_names_http_servers_or_lambda() {
    let ws = Workspace::load();
    let banned = ["axum", "tower-http", "lambda_http", "lambda_runtime"];
    for dep in ws.normal_deps("shared") {
        assert!(!banned.contains(&dep["name"].as_str().unwrap()), "shared depends on {}", dep["name"]);
    }
    let mut offenders = Vec::new();
    for file in rust_files(&root().join("shared/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        if ["axum", "tower_http", "lambda_http", "lambda_runtime"].iter().any(|w| text.contains(w)) {
            offenders.push(file.display().to_string());
        }
    }
    assert_eq!(offenders, Vec::<String>::new(), "shared/src names an HTTP server or Lambda crate");
}

#[test]
fn layering() {
    let ws = Workspace::load();
    let members =
        |pkg: &str| -> BTreeSet<String> { ws.normal_deps(pkg).into_iter().filter_map(|d| ws.member_of(d)).collect() };
    assert_eq!(members("shared"), BTreeSet::new(), "shared depends on another workspace crate");
    assert_eq!(members("listener"), BTreeSet::from(["shared".to_string()]));
    assert_eq!(members("lambdas"), BTreeSet::from(["functions".to_string()]));
}

#[test]
fn shared_reads_as_a_dozen_areas() {
    let lib = std::fs::read_to_string(root().join("shared/src/lib.rs")).unwrap();
    let areas: Vec<&str> = lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).collect();
    assert!(areas.len() <= 12, "shared has {} top-level modules: group them into areas", areas.len());
    for area in areas.iter().map(|a| a.trim_end_matches(';')) {
        let folder = root().join("shared/src").join(area).join("mod.rs").exists();
        assert!(folder || area == "ports", "shared::{area} is a file: an area is a folder");
    }
}

/// Modules ARCHITECTURE.md calls pure: no I/O and no async outside their tests.
const PURE: &[&str] = &[
    "shared/src/realtime/normalize.rs",
    "shared/src/values/ids.rs",
    "shared/src/realtime/audio_chunk.rs",
    "shared/src/realtime/risk.rs",
    "shared/src/realtime/alerts.rs",
    "shared/src/realtime/keywords.rs",
    "shared/src/realtime/live_audio.rs",
    "shared/src/realtime/activity.rs",
    "shared/src/audio/silence.rs",
    "shared/src/realtime/domain.rs",
    "shared/src/values/timestamps.rs",
    "shared/src/process/health.rs",
    "shared/src/audio/wav.rs",
    "shared/src/audio/wav/layout.rs",
    "shared/src/audio/g711.rs",
    "shared/src/genesys/mapping.rs",
    "shared/src/batch/exports.rs",
    "shared/src/speech/transcript.rs",
    "shared/src/analysis/engine.rs",
    "shared/src/analysis/sentiment.rs",
    "shared/src/analysis/insights.rs",
    "shared/src/analysis/roles.rs",
    "shared/src/analysis/tags.rs",
    "shared/src/analysis/talk.rs",
    "shared/src/analysis/glossary.rs",
    "shared/src/analysis/llm_prompt.rs",
    "shared/src/analysis/llm_reply.rs",
    "shared/src/batch/listing.rs",
    "shared/src/batch/record.rs",
    "shared/src/batch/digest.rs",
    "shared/src/audio/decode.rs",
    "shared/src/audio/channels.rs",
    "shared/src/audio/resample.rs",
    "shared/src/audio/noise.rs",
    "shared/src/audio/pieces.rs",
    "shared/src/speech/whisper/segments.rs",
    "shared/src/speech/whisper/squeeze.rs",
    "listener/src/audiohook/upgrade.rs",
    "listener/src/audiohook/signature.rs",
    "listener/src/audiohook/structured.rs",
    "listener/src/audiohook/session.rs",
    "listener/src/audiohook/media.rs",
    "listener/src/audiohook/chunker.rs",
    "listener/src/audiohook/utterances.rs",
    "listener/src/audiohook/transcripts.rs",
    "listener/src/genesys/topics.rs",
    "listener/src/genesys/watchdog.rs",
    "listener/src/genesys/budget.rs",
    "functions/src/ws_protocol.rs",
];

#[test]
fn pure_modules_do_no_io() {
    let io = ["async fn", ".await", "tokio::", "std::fs", "std::net", "reqwest", "rusqlite", "aws_sdk", "std::process"];
    let mut offenders = Vec::new();
    for path in PURE {
        let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if let Some(word) = io.iter().find(|w| line.contains(*w)) {
                offenders.push(format!("{path}:{}: {word}", n + 1));
            }
        }
    }
    assert_eq!(offenders, Vec::<String>::new(), "a module ARCHITECTURE.md calls pure does I/O");
}

#[test]
fn lambda_binaries_only_wire() {
    for file in rust_files(&root().join("functions/lambda/src/bin")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")).count();
        assert!(code <= 10, "{} has {code} lines of code: build things in functions/src/lambda.rs", file.display());
    }
}

#[test]
fn architecture_md_names_only_what_exists() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    for span in doc.split('`').skip(1).step_by(2) {
        if looks_like_repo_path(span) {
            checked += 1;
            if !root.join(span.trim_end_matches('/')).exists() {
                missing.push(span.to_string());
            }
        }
    }
    for link in doc.split("](").skip(1) {
        let target = link.split(')').next().unwrap().split('#').next().unwrap();
        if !target.is_empty() && !target.contains("://") {
            checked += 1;
            if !root.join(target).exists() {
                missing.push(target.to_string());
            }
        }
    }
    assert!(checked > 50, "only {checked} paths found: is the code map still there?");
    assert_eq!(missing, Vec::<String>::new(), "ARCHITECTURE.md names paths that do not exist");
}

#[test]
fn architecture_md_lists_every_lambda() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for file in rust_files(&root().join("functions/lambda/src/bin")) {
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        assert!(doc.contains(&format!("`{rel}`")), "ARCHITECTURE.md's Lambda table lacks {rel}");
    }
}

fn looks_like_repo_path(span: &str) -> bool {
    const TOP: &[&str] = &["shared/", "functions/", "listener/", "web/", "infra/", "scripts/", "events/", "docs/"];
    const FILES: &[&str] = &["template.yaml", "samconfig.toml", "Cargo.toml", "Makefile", "README.md"];
    let plain = !span.is_empty() && !span.contains(|c: char| c.is_whitespace() || "*<>{}…|:".contains(c));
    // `shared/aws` is a feature, `shared/src/ids.rs` and `shared/src/` are paths.
    let last = span.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    let pathy = span.ends_with('/') || last.contains('.') || span.matches('/').count() >= 2;
    plain && ((pathy && TOP.iter().any(|t| span.starts_with(t))) || FILES.contains(&span))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
