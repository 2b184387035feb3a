//! Files a process creates are its user's alone. Under `DATA_DIR` they hold what customers said
//! (recordings, uploads, transcripts, the SQLite file), the spool of undelivered events and generated
//! secrets; the logs name calls. Created with the usual umask (022) they were readable by every local user.
//!
//! Why a umask and not a mode at each place that creates a file: they are created in many places, some not
//! ours (SQLite makes its -wal and -shm files, tracing-appender the log files, `create_dir_all` every
//! folder on the way), and a umask set once, first thing in `main`, covers all of them and any added later.
//! Directories then come out 0700 and files 0600. A folder that already exists keeps its mode: the
//! operator's deployment says who may enter it (systemd's `StateDirectoryMode=0700`, the image's `/data`).

/// Sets the process's umask to 077. Call it first in `main`, before anything writes a file.
pub fn keep_new_files_private() {
    #[cfg(unix)]
    // SAFETY: umask(2) cannot fail and touches no memory; it only sets the mask for files created after it.
    unsafe {
        libc::umask(0o077);
    }
}
