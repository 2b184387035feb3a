//! Finding idle calls and purging expired ones from the SQLite store.

use super::db_err;
use super::rows::collect;
use crate::ports::{PurgedCall, StoreError};
use crate::values::timestamps::{Timestamp, iso};
use rusqlite::{Connection, params};

/// Tables holding per-call rows, all keyed by `call_id`.
const CALL_TABLES: [&str; 6] =
    ["realtime_event", "supervisor_alert", "idempotency_key", "live_audio_chunk", "live_audio_head", "realtime_call"];

pub fn idle_calls(c: &Connection, before: Timestamp, limit: usize) -> Result<Vec<String>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT call_id FROM realtime_call WHERE status NOT IN ('ended', 'completed', 'closed') AND updated_at < ?1
             ORDER BY updated_at LIMIT ?2",
        )
        .map_err(db_err)?;
    collect(&mut stmt, params![iso(&before), limit as i64], |r| r.get(0).map_err(db_err))
}

pub fn purge_calls(c: &mut Connection, before: Timestamp, limit: usize) -> Result<Vec<PurgedCall>, StoreError> {
    let tx = c.savepoint().map_err(db_err)?;
    let ids: Vec<String> = {
        let mut stmt = tx
            .prepare_cached("SELECT call_id FROM realtime_call WHERE updated_at < ?1 ORDER BY updated_at LIMIT ?2")
            .map_err(db_err)?;
        collect(&mut stmt, params![iso(&before), limit as i64], |r| r.get(0).map_err(db_err))?
    };
    let mut purged = Vec::with_capacity(ids.len());
    for call_id in ids {
        purged.push(purge_one(&tx, call_id)?);
    }
    tx.commit().map_err(db_err)?;
    Ok(purged)
}

/// Deletes one call's rows (a bulk delete); `None` when there were none.
pub fn delete_call(c: &mut Connection, call_id: &str) -> Result<Option<PurgedCall>, StoreError> {
    let tx = c.savepoint().map_err(db_err)?;
    let exists: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM realtime_call WHERE call_id = ?1) OR EXISTS (SELECT 1 FROM live_audio_head WHERE call_id = ?1)",
            [call_id],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if !exists {
        return Ok(None);
    }
    let purged = purge_one(&tx, call_id.to_string())?;
    tx.commit().map_err(db_err)?;
    Ok(Some(purged))
}

fn purge_one(tx: &Connection, call_id: String) -> Result<PurgedCall, StoreError> {
    for table in CALL_TABLES {
        tx.execute(&format!("DELETE FROM {table} WHERE call_id = ?1"), [&call_id]).map_err(db_err)?;
    }
    Ok(PurgedCall { call_id })
}
