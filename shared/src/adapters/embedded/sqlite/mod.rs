//! The embedded store: one SQLite file (WAL) holding calls, events, alerts, idempotency keys, live-audio
//! window state, worker heartbeats, WebSocket tickets, batch calls and the batch job queue. Calls are versioned rows, so the same optimistic-concurrency
//! contract holds here as on DynamoDB.

mod batch;
mod calls;
mod heartbeats;
mod jobs;

pub use jobs::MAX_RECEIVES;
mod retention;
mod rows;
mod tickets;

use crate::ports::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS realtime_call (
    call_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS realtime_call_recent ON realtime_call (updated_at DESC, call_id DESC);
CREATE TABLE IF NOT EXISTS realtime_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    event_type TEXT NOT NULL,
    speaker TEXT,
    text TEXT NOT NULL,
    sentiment REAL,
    confidence REAL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS realtime_event_call ON realtime_event (call_id, occurred_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS supervisor_alert (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    acknowledged_at TEXT,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS supervisor_alert_call ON supervisor_alert (call_id, created_at DESC);
CREATE INDEX IF NOT EXISTS supervisor_alert_recent ON supervisor_alert (created_at DESC);
CREATE TABLE IF NOT EXISTS idempotency_key (
    call_id TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (call_id, key)
);
CREATE TABLE IF NOT EXISTS live_audio (
    call_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS heartbeat (
    component TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL,
    dead INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_ready ON job (dead, visible_at, id);
CREATE TABLE IF NOT EXISTS batch_call (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ws_ticket (
    digest TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
"#;

/// A shared SQLite connection; statements run on the blocking pool.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

pub(super) fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Backend("sqlite connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite task failed: {e}")))?
    }
}
