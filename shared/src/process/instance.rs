//! Which process this is, for records several processes write side by side: with two or more listener tasks,
//! each keeps its own heartbeat (see `process::health`), so one task's beats never overwrite another's.

use std::sync::OnceLock;

/// `INSTANCE_ID` when set (non-empty); otherwise the host name (on Fargate, the task's own) and the process
/// id, so a restarted process is a new instance and the one before it can be told apart.
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use crate::settings::env::{ProcessEnv, string};
        string(&ProcessEnv, "INSTANCE_ID").unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .or_else(|| std::env::var("HOSTNAME").ok())
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "host".into());
            format!("{host}-{}", std::process::id())
        })
    })
}
