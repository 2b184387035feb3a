//! One writer of a `DATA_DIR`'s calls at a time. `call-analytics serve` keeps each call's newest events and
//! alerts in memory as it writes them (the SQLite store's `recent`), so another process writing calls to
//! the same file (`import-django`) would go unseen by it until it restarts, and their commits would race.
//! Both therefore hold an exclusive advisory lock on `DATA_DIR/serve.lock` while they run; the second one
//! is refused at once with a message. The lock is the kernel's (`flock`): it goes with the process, so a
//! crash never leaves a stale lock behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The lock file under `DATA_DIR`.
pub const LOCK_FILE: &str = "serve.lock";

#[derive(Debug, Error)]
pub enum LockError {
    #[error("{0} is in use by another call-analytics process (serve or import-django); stop it first")]
    Busy(PathBuf),
    #[error("cannot lock {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Held for as long as it lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock of `data_dir` (creating the folder and the file if needed), or says who holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |e| LockError::Io(path.clone(), e);
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        lock(&file).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock { LockError::Busy(data_dir.to_path_buf()) } else { io(e) }
        })?;
        Ok(Self { _file: file })
    }
}

#[cfg(unix)]
fn lock(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a descriptor this `File` owns for the call's duration; it touches no memory.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Elsewhere nothing is locked: the local process is built and supported for Linux and macOS.
#[cfg(not(unix))]
fn lock(_file: &File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::TempDir::new().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let refused = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(refused, LockError::Busy(_)), "{refused}");
        assert!(refused.to_string().contains("stop it first"));
        drop(first);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
