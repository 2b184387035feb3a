//! Reading the old system's SQLite file, read-only: its tables `call`, `realtime_call`, `realtime_event` and
//! `supervisor_alert` (Django's own tables are ignored). Rows come out as [`Row`]s, one call at a time, so
//! months of events are never held at once.

use super::row::{Cell, Row};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, params};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("cannot open {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("{0} is not the old system's database: {1}")]
    NotDjango(String, String),
    #[error("reading the old database failed: {0}")]
    Read(#[from] rusqlite::Error),
}

/// The columns read from each table; a table missing one is not the old system's.
const CALL_COLUMNS: &str = "id, filename, storage_path, status, created_at, updated_at, duration_seconds, \
    language_code, stt_model, with_diarization, num_speakers, prompt, prompt_pack, glossary_terms, \
    transcript_text_path, transcript_json_path, analysis_json_path, qa_json_path, summary_json_path, \
    raw_llm_path, error_message";
const REALTIME_CALL_COLUMNS: &str = "call_id, provider, status, created_at, updated_at, agent_id, customer_id, \
    last_speaker, last_text, sentiment_score, risk_score, metadata";
const EVENT_COLUMNS: &str = "id, occurred_at, event_type, speaker, text, sentiment, confidence, metadata";
const ALERT_COLUMNS: &str = "id, created_at, alert_type, severity, message, acknowledged, acknowledged_at, metadata";

pub struct Source {
    conn: Connection,
}

fn cell(v: SqlValue) -> Cell {
    match v {
        SqlValue::Null => Cell::Null,
        SqlValue::Integer(i) => Cell::Int(i),
        SqlValue::Real(x) => Cell::Real(x),
        SqlValue::Text(s) => Cell::Text(s),
        SqlValue::Blob(_) => Cell::Blob,
    }
}

fn rows(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Row>, SourceError> {
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    let found = stmt.query_map(args, |r| {
        let pairs: rusqlite::Result<Vec<(String, Cell)>> =
            names.iter().enumerate().map(|(i, name)| Ok((name.clone(), cell(r.get::<_, SqlValue>(i)?)))).collect();
        pairs.map(Row::from_pairs)
    })?;
    Ok(found.collect::<rusqlite::Result<_>>()?)
}

impl Source {
    /// Opens `path` read-only and checks it has the four tables with their columns.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(SourceError::Open { path: shown, reason: "no such file".into() });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| SourceError::Open { path: shown.clone(), reason: e.to_string() })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        for (table, cols) in [
            ("call", CALL_COLUMNS),
            ("realtime_call", REALTIME_CALL_COLUMNS),
            ("realtime_event", EVENT_COLUMNS),
            ("supervisor_alert", ALERT_COLUMNS),
        ] {
            conn.prepare(&format!("SELECT {cols} FROM \"{table}\" LIMIT 0"))
                .map_err(|e| SourceError::NotDjango(shown.clone(), format!("table {table}: {e}")))?;
        }
        Ok(Self { conn })
    }

    pub fn batch_calls(&self) -> Result<Vec<Row>, SourceError> {
        rows(&self.conn, &format!("SELECT {CALL_COLUMNS} FROM \"call\" ORDER BY created_at, id"), [])
    }

    pub fn realtime_calls(&self) -> Result<Vec<Row>, SourceError> {
        rows(&self.conn, &format!("SELECT {REALTIME_CALL_COLUMNS} FROM realtime_call ORDER BY created_at, call_id"), [])
    }

    pub fn events_of(&self, call_id: &str) -> Result<Vec<Row>, SourceError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM realtime_event WHERE realtime_call_id = ?1 ORDER BY id");
        rows(&self.conn, &sql, params![call_id])
    }

    pub fn alerts_of(&self, call_id: &str) -> Result<Vec<Row>, SourceError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM supervisor_alert WHERE realtime_call_id = ?1 ORDER BY id");
        rows(&self.conn, &sql, params![call_id])
    }

    /// Events and alerts whose call row is missing (the old foreign keys were not enforced by every tool
    /// that wrote the file): reported, never imported. `(kind, id, call id)`.
    pub fn orphans(&self) -> Result<Vec<(&'static str, String, String)>, SourceError> {
        let mut out = Vec::new();
        for (kind, table) in [("event", "realtime_event"), ("alert", "supervisor_alert")] {
            let sql = format!(
                "SELECT id, realtime_call_id FROM {table} t WHERE NOT EXISTS
                 (SELECT 1 FROM realtime_call c WHERE c.call_id = t.realtime_call_id) ORDER BY id"
            );
            for r in rows(&self.conn, &sql, [])? {
                out.push((kind, r.text("id").unwrap_or_default(), r.text("realtime_call_id").unwrap_or_default()));
            }
        }
        Ok(out)
    }
}
