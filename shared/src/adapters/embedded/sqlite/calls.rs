//! `CallStore` on SQLite: conditional, transactional commits of state + event + alerts + idempotency key.

use super::rows::{self, ALERT_COLUMNS, EVENT_COLUMNS, collect, json, to_json};
use super::{SqliteStore, db_err};
use crate::ports::{
    AlertQuery, AppendOutcome, CallPage, CallQuery, CallStore, CommitOutcome, EventCommit, LoadedCall, LoadedLiveAudio,
    PurgedCall, StoreError, Versioned,
};
use crate::realtime::domain::{Alert, CallState, EventRecord};
use crate::realtime::live_audio::{ChunkRef, LiveAppend};
use crate::values::timestamps::{Timestamp, iso};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension, params};

/// Writes the state row: insert when `expected` is `None`, else update only at that version.
fn write_state(tx: &Connection, state: &CallState, expected: Option<u64>) -> Result<bool, StoreError> {
    let body = to_json(state)?;
    let at = iso(&state.updated_at);
    let changed = match expected {
        None => tx
            .prepare_cached(
                "INSERT INTO realtime_call (call_id, version, status, updated_at, state) VALUES (?1, 1, ?2, ?3, ?4)
                 ON CONFLICT (call_id) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![state.call_id, state.status, at, body])),
        Some(v) => tx
            .prepare_cached(
                "UPDATE realtime_call SET version = version + 1, status = ?2, updated_at = ?3, state = ?4
                 WHERE call_id = ?1 AND version = ?5",
            )
            .and_then(|mut s| s.execute(params![state.call_id, state.status, at, body, v as i64])),
    }
    .map_err(db_err)?;
    Ok(changed == 1)
}

/// Runs a statement from the connection's cache of prepared statements.
pub(super) fn execute(c: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize, StoreError> {
    c.prepare_cached(sql).and_then(|mut s| s.execute(params)).map_err(db_err)
}

/// Whether a cached point query finds a row.
pub(super) fn exists(c: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool, StoreError> {
    let row = c.prepare_cached(sql).and_then(|mut s| s.query_row(params, |_| Ok(())).optional());
    Ok(row.map_err(db_err)?.is_some())
}

/// One event's commit, all or nothing: in its own savepoint, so a duplicate or a conflict leaves no trace
/// in the transaction the writer shares with other commits.
fn apply_commit(c: &mut Connection, commit: EventCommit) -> Result<CommitOutcome, StoreError> {
    let tx = c.savepoint().map_err(db_err)?;
    let call_id = commit.state.call_id.clone();
    if let Some(key) = &commit.idempotency_key {
        let fresh = execute(
            &tx,
            "INSERT INTO idempotency_key (call_id, key, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![call_id, key, iso(&commit.state.updated_at)],
        )?;
        if fresh == 0 {
            return Ok(CommitOutcome::Duplicate);
        }
    }
    if !write_state(&tx, &commit.state, commit.expected_version)? {
        return Ok(CommitOutcome::Conflict);
    }
    let event = match commit.event {
        None => None,
        Some(e) => {
            execute(
                &tx,
                "INSERT INTO realtime_event (call_id, occurred_at, event_type, speaker, text, sentiment, confidence, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![call_id, iso(&e.occurred_at), e.event_type, e.speaker, e.text, e.sentiment, e.confidence, to_json(&e.metadata)?],
            )?;
            Some(EventRecord { id: tx.last_insert_rowid(), event: e })
        }
    };
    let mut alerts = Vec::with_capacity(commit.alerts.len());
    for mut a in commit.alerts {
        if let Some(e) = &event {
            a.link_event(e.id);
        }
        execute(
            &tx,
            "INSERT INTO supervisor_alert (call_id, created_at, alert_type, severity, message, acknowledged_at, metadata)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
            params![call_id, iso(&a.created_at), a.alert_type.as_str(), a.severity.as_str(), a.message, to_json(&a.metadata)?],
        )?;
        alerts.push(Alert { id: tx.last_insert_rowid(), call_id: call_id.clone(), alert: a, acknowledged_at: None });
    }
    tx.commit().map_err(db_err)?;
    Ok(CommitOutcome::Applied { event, alerts })
}

fn encode_cursor(state: &CallState) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", iso(&state.updated_at), state.call_id))
}

fn decode_cursor(cursor: &str) -> Option<(String, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (at, id) = raw.split_once('|')?;
    Some((at.to_string(), id.to_string()))
}

/// Reads a versioned JSON `state` row of `table` (`realtime_call` or `live_audio_head`) by call id.
pub(super) fn load_versioned<T: serde::de::DeserializeOwned>(
    c: &Connection,
    table: &str,
    call_id: &str,
) -> Result<Option<Versioned<T>>, StoreError> {
    let sql = format!("SELECT state, version FROM {table} WHERE call_id = ?1");
    let row: Option<(String, i64)> = c
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row([call_id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(db_err)?;
    row.map(|(body, version)| Ok(Versioned { value: json(&body)?, version: version as u64 })).transpose()
}

/// A call's newest `limit` events by `occurred_at`, oldest first.
pub(super) fn newest_events(c: &Connection, call_id: &str, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM realtime_event WHERE call_id = ?1 ORDER BY occurred_at DESC, id DESC LIMIT ?2"
    );
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let mut events = collect(&mut stmt, params![call_id, limit as i64], rows::event)?;
    events.reverse();
    Ok(events)
}

/// Alerts newest first, of one call or of all.
pub(super) fn alerts(c: &Connection, q: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM supervisor_alert
         WHERE (?1 IS NULL OR call_id = ?1) AND (?2 = 0 OR acknowledged_at IS NULL)
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    );
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    collect(&mut stmt, params![q.call_id, q.open_only, q.limit as i64], rows::alert)
}

#[async_trait]
impl CallStore for SqliteStore {
    async fn load_call(&self, call_id: &str, key: Option<&str>) -> Result<LoadedCall, StoreError> {
        let (call_id, key) = (call_id.to_string(), key.map(str::to_string));
        self.read_now(move |c| {
            let state = load_versioned(c, "realtime_call", &call_id)?;
            let duplicate = match &key {
                None => false,
                Some(k) => {
                    exists(c, "SELECT 1 FROM idempotency_key WHERE call_id = ?1 AND key = ?2", params![call_id, k])?
                }
            };
            Ok(LoadedCall { state, duplicate })
        })
        .await
    }

    async fn commit_event(&self, commit: EventCommit) -> Result<CommitOutcome, StoreError> {
        let (recent, call_id) = (self.recent.clone(), commit.state.call_id.clone());
        let keep = move |c: &Connection, outcome: &CommitOutcome| {
            if let CommitOutcome::Applied { event, alerts } = outcome {
                recent.committed(c, &call_id, event.as_ref(), alerts);
            }
        };
        self.writer.write_then(move |c| apply_commit(c, commit), keep).await
    }

    async fn recent_events(&self, call_id: &str, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        if let Some(events) = self.recent.events(call_id, limit) {
            return Ok(events);
        }
        let call_id = call_id.to_string();
        self.read_now(move |c| newest_events(c, &call_id, limit)).await
    }

    async fn recent_alerts(&self, call_id: &str, limit: usize) -> Result<Vec<Alert>, StoreError> {
        if let Some(alerts) = self.recent.alerts(call_id, limit) {
            return Ok(alerts);
        }
        let q = AlertQuery { call_id: Some(call_id.to_string()), open_only: false, limit };
        self.read_now(move |c| alerts(c, &q)).await
    }

    async fn list_alerts(&self, q: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let q = q.clone();
        self.read(move |c| alerts(c, &q)).await
    }

    async fn acknowledge_alert(&self, alert_id: i64, at: Timestamp) -> Result<Option<(Alert, bool)>, StoreError> {
        let recent = self.recent.clone();
        let keep = move |_: &Connection, acked: &Option<(Alert, bool)>| {
            if let Some((alert, true)) = acked {
                recent.acknowledged(alert);
            }
        };
        self.writer
            .write_then(
                move |c| {
                    let changed = execute(
                        c,
                        "UPDATE supervisor_alert SET acknowledged_at = ?2 WHERE id = ?1 AND acknowledged_at IS NULL",
                        params![alert_id, iso(&at)],
                    )?;
                    let mut stmt = c
                        .prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM supervisor_alert WHERE id = ?1"))
                        .map_err(db_err)?;
                    let alert = collect(&mut stmt, [alert_id], rows::alert)?.pop();
                    Ok(alert.map(|a| (a, changed == 1)))
                },
                keep,
            )
            .await
    }

    async fn list_calls(&self, q: &CallQuery) -> Result<CallPage, StoreError> {
        let q = q.clone();
        self.read(move |c| {
            let (after_at, after_id) = q.cursor.as_deref().and_then(decode_cursor).unzip();
            let mut stmt = c
                .prepare_cached(
                    "SELECT state FROM realtime_call
                     WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR (updated_at, call_id) < (?2, ?3))
                     ORDER BY updated_at DESC, call_id DESC LIMIT ?4",
                )
                .map_err(db_err)?;
            let bodies = collect(&mut stmt, params![q.status, after_at, after_id, q.limit as i64 + 1], |r| {
                r.get::<_, String>(0).map_err(db_err)
            })?;
            let mut calls = bodies.iter().map(|b| json::<CallState>(b)).collect::<Result<Vec<_>, _>>()?;
            let next_cursor = (calls.len() > q.limit).then(|| {
                calls.truncate(q.limit);
                calls.last().map(encode_cursor)
            });
            Ok(CallPage { calls, next_cursor: next_cursor.flatten() })
        })
        .await
    }

    async fn load_live_audio(&self, call_id: &str, chunk_id: Option<&str>) -> Result<LoadedLiveAudio, StoreError> {
        let (call_id, chunk_id) = (call_id.to_string(), chunk_id.map(str::to_string));
        self.read_now(move |c| super::live_audio::load(c, &call_id, chunk_id.as_deref())).await
    }

    async fn live_audio_chunks(&self, call_id: &str, limit: usize) -> Result<Vec<ChunkRef>, StoreError> {
        let call_id = call_id.to_string();
        self.read_now(move |c| super::live_audio::oldest(c, &call_id, limit)).await
    }

    async fn append_live_audio(&self, append: &LiveAppend) -> Result<AppendOutcome, StoreError> {
        let append = append.clone();
        self.write(move |c| super::live_audio::append(c, &append)).await
    }

    async fn idle_calls(&self, before: Timestamp, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(move |c| super::retention::idle_calls(c, before, limit)).await
    }

    async fn purge_calls(&self, before: Timestamp, limit: usize) -> Result<Vec<PurgedCall>, StoreError> {
        let recent = self.recent.clone();
        let forget =
            move |_: &Connection, purged: &Vec<PurgedCall>| purged.iter().for_each(|p| recent.forget(&p.call_id));
        self.writer.write_then(move |c| super::retention::purge_calls(c, before, limit), forget).await
    }

    async fn delete_call(&self, call_id: &str) -> Result<Option<PurgedCall>, StoreError> {
        let call_id = call_id.to_string();
        let recent = self.recent.clone();
        let forget =
            move |_: &Connection, purged: &Option<PurgedCall>| purged.iter().for_each(|p| recent.forget(&p.call_id));
        self.writer.write_then(move |c| super::retention::delete_call(c, &call_id), forget).await
    }
}
