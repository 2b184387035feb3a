//! The embedded store: one SQLite file (WAL) holding calls, events, alerts, idempotency keys, the live-audio
//! window (a head and a row per chunk), worker heartbeats, WebSocket tickets, batch calls and the batch job queue. Calls are versioned rows, so the same optimistic-concurrency
//! contract holds here as on DynamoDB. Writes go through one writer thread that commits them in groups
//! (`writer.rs`), which also keeps each call's newest events and alerts (`recent.rs`); reads run on a few
//! read-only connections (`readers.rs`).

mod batch;
mod calls;
mod heartbeats;
mod jobs;
mod live_audio;

pub use jobs::MAX_RECEIVES;
mod readers;
mod recent;
mod retention;
mod rows;
mod tickets;
mod writer;

use crate::ports::StoreError;
use readers::Readers;
use recent::Recent;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use writer::Writer;

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
CREATE TABLE IF NOT EXISTS live_audio_head (
    call_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_audio_chunk (
    call_id TEXT NOT NULL,
    order_key TEXT NOT NULL,
    chunk_id TEXT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (call_id, order_key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS live_audio_chunk_id ON live_audio_chunk (call_id, chunk_id);
-- Releases before 2026-12 kept each call's window as one row listing every chunk. A window is rolling
-- audio: calls live at the upgrade start a fresh one, and their old chunks' blobs go with the call.
DROP TABLE IF EXISTS live_audio;
-- Earlier versions kept one heartbeat per component; heartbeats are transient, so that table just goes.
DROP TABLE IF EXISTS heartbeat;
CREATE TABLE IF NOT EXISTS worker_heartbeat (
    component TEXT NOT NULL,
    instance TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (component, instance)
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

/// The SQLite file: one writer thread, a few read connections.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
    recent: Arc<Recent>,
    path: PathBuf,
}

pub(super) fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Statements each connection keeps prepared: more than the store has, so none is ever prepared twice.
const STATEMENT_CACHE: usize = 64;

/// Opens one connection to the file, set up as every connection of the store is.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(db_err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(db_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
        }
        let conn = connect(path)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        let readers = Readers::open(|| connect(path))?;
        Ok(Self {
            writer: Writer::start(conn)?,
            readers: Arc::new(readers),
            recent: Arc::default(),
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` in the writer's next transaction; returns once that is committed.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer.write(f).await
    }

    /// Runs a point read at once on a free read connection (`Readers::read_now`).
    async fn read_now<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.read_now(f).await
    }

    /// Runs `f` on a read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.read(f).await
    }
}
