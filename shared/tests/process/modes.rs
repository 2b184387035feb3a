//! Test support: whether what a process left under a directory is its owner's alone (included by path).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Every entry under `dir` (and `dir` itself) whose mode is not 0700 for a directory or 0600 for a file,
/// with its mode; and how many entries were looked at (entries removed meanwhile are skipped).
pub fn not_private(dir: &Path) -> (Vec<String>, usize) {
    let (mut open, mut seen) = (Vec::new(), 0);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        // A running process may remove what it wrote (a spool file delivered, recording parts joined).
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        seen += 1;
        if mode != if meta.is_dir() { 0o700 } else { 0o600 } {
            open.push(format!("{} {mode:o}", path.display()));
        }
        if let Ok(entries) = std::fs::read_dir(&path) {
            pending.extend(entries.flatten().map(|e| e.path()));
        }
    }
    (open, seen)
}
