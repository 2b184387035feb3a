//! Row ↔ domain conversions for the SQLite store.

use super::db_err;
use crate::ports::StoreError;
use crate::realtime::domain::{Alert, AlertType, EventRecord, NewAlert, NewEvent, Severity};
use crate::values::timestamps::{Timestamp, parse_iso};
use rusqlite::Row;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub const EVENT_COLUMNS: &str = "id, occurred_at, event_type, speaker, text, sentiment, confidence, metadata";
pub const ALERT_COLUMNS: &str = "id, call_id, created_at, alert_type, severity, message, acknowledged_at, metadata";

pub fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub fn ts(text: &str) -> Result<Timestamp, StoreError> {
    parse_iso(text).ok_or_else(|| corrupt(&format!("timestamp {text:?}")))
}

pub fn json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn col<T: rusqlite::types::FromSql>(row: &Row, i: usize) -> Result<T, StoreError> {
    row.get(i).map_err(db_err)
}

pub fn event(row: &Row) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        id: col(row, 0)?,
        event: NewEvent {
            occurred_at: ts(&col::<String>(row, 1)?)?,
            event_type: col(row, 2)?,
            speaker: col(row, 3)?,
            text: col(row, 4)?,
            sentiment: col(row, 5)?,
            confidence: col(row, 6)?,
            metadata: json::<Map<String, Value>>(&col::<String>(row, 7)?)?,
        },
    })
}

pub fn alert(row: &Row) -> Result<Alert, StoreError> {
    let kind: String = col(row, 3)?;
    let severity: String = col(row, 4)?;
    Ok(Alert {
        id: col(row, 0)?,
        call_id: col(row, 1)?,
        alert: NewAlert {
            alert_type: AlertType::parse(&kind).ok_or_else(|| corrupt(&kind))?,
            severity: Severity::parse(&severity).ok_or_else(|| corrupt(&severity))?,
            message: col(row, 5)?,
            created_at: ts(&col::<String>(row, 2)?)?,
            metadata: json(&col::<String>(row, 7)?)?,
        },
        acknowledged_at: col::<Option<String>>(row, 6)?.map(|t| ts(&t)).transpose()?,
    })
}

/// Runs a query and converts every row; a row that does not convert is logged and skipped
/// (`StoreError::skip_corrupt`), a failing query fails.
pub fn collect<T>(
    stmt: &mut rusqlite::Statement,
    params: impl rusqlite::Params,
    f: fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut rows = stmt.query(params).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.extend(StoreError::skip_corrupt(f(row), "row")?);
    }
    Ok(out)
}
