//! The live-audio window in the SQLite file: a head row per call (`live_audio_head`, versioned) and a row per
//! chunk (`live_audio_chunk`, keyed by its place in the window, its chunk id unique per call). An append
//! inserts one row, updates the head and deletes the rows that left the window: the same few hundred bytes
//! whatever the call's length.

use super::calls::{execute, exists, load_versioned};
use super::db_err;
use super::rows::{collect, json, to_json};
use crate::ports::{AppendOutcome, LoadedLiveAudio, StoreError};
use crate::realtime::live_audio::{ChunkRef, LiveAppend};
use rusqlite::{Connection, params};

pub fn load(c: &Connection, call_id: &str, chunk_id: Option<&str>) -> Result<LoadedLiveAudio, StoreError> {
    let head = load_versioned(c, "live_audio_head", call_id)?;
    let duplicate = match chunk_id {
        None => false,
        Some(id) => {
            exists(c, "SELECT 1 FROM live_audio_chunk WHERE call_id = ?1 AND chunk_id = ?2", params![call_id, id])?
        }
    };
    Ok(LoadedLiveAudio { head, duplicate })
}

pub fn oldest(c: &Connection, call_id: &str, limit: usize) -> Result<Vec<ChunkRef>, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT entry FROM live_audio_chunk WHERE call_id = ?1 ORDER BY order_key LIMIT ?2")
        .map_err(db_err)?;
    collect(&mut stmt, params![call_id, limit as i64], |r| json(&r.get::<_, String>(0).map_err(db_err)?))
}

/// The append in its own savepoint: a duplicate or a conflict leaves nothing behind.
pub fn append(c: &mut Connection, a: &LiveAppend) -> Result<AppendOutcome, StoreError> {
    let tx = c.savepoint().map_err(db_err)?;
    let call_id = &a.head.call_id;
    if let Some(e) = &a.entry {
        let fresh = execute(
            &tx,
            "INSERT INTO live_audio_chunk (call_id, order_key, chunk_id, entry) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            params![call_id, e.order_key(), e.id, to_json(e)?],
        )?;
        if fresh == 0 {
            return Ok(AppendOutcome::Duplicate);
        }
    }
    let head = to_json(&a.head)?;
    let changed = match a.expected_version {
        None => execute(
            &tx,
            "INSERT INTO live_audio_head (call_id, version, state) VALUES (?1, 1, ?2) ON CONFLICT (call_id) DO NOTHING",
            params![call_id, head],
        ),
        Some(v) => execute(
            &tx,
            "UPDATE live_audio_head SET version = version + 1, state = ?2 WHERE call_id = ?1 AND version = ?3",
            params![call_id, head, v as i64],
        ),
    }?;
    if changed != 1 {
        return Ok(AppendOutcome::Conflict);
    }
    for d in &a.dropped {
        execute(
            &tx,
            "DELETE FROM live_audio_chunk WHERE call_id = ?1 AND order_key = ?2",
            params![call_id, d.order_key()],
        )?;
    }
    tx.commit().map_err(db_err)?;
    Ok(AppendOutcome::Applied)
}
