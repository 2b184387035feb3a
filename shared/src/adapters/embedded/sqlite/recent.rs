//! The newest events and alerts of the calls being written, kept in memory by the writer as it commits
//! them, so the snapshot every ingest answers with needs no read of what was just written: under ingest
//! load, reading back and decoding a call's last 40 events and 30 alerts was most of what an ingest cost.
//!
//! Only the writer thread changes what is kept, after each COMMIT and before the committing caller hears
//! of it, and every write that adds, changes or removes a call's events or alerts goes through it (commits,
//! acknowledgements, purges), so what is kept is always what the file holds. That holds while this process
//! is the one writing calls to the file, as it is: other processes of an installation write heartbeats only.

use super::calls::{alerts, newest_events};
use crate::ports::{AlertQuery, StoreError};
use crate::realtime::domain::{Alert, EventRecord, alert_order, event_order};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Events and alerts kept per call: more than a snapshot shows (40 and 30); a larger read goes to the file.
const KEPT: usize = 64;
/// Calls kept; past this one is dropped, and its reads go to the file until its next commit.
const CALLS: usize = 1024;

/// One call's newest rows, in the order the store returns them.
struct Kept {
    /// Oldest first by (`occurred_at`, id).
    events: Vec<EventRecord>,
    /// Newest first by (`created_at`, id).
    alerts: Vec<Alert>,
}

#[derive(Default)]
pub struct Recent {
    calls: Mutex<HashMap<String, Kept>>,
}

impl Recent {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Kept>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest `limit` events of a call, oldest first, if kept.
    pub fn events(&self, call_id: &str, limit: usize) -> Option<Vec<EventRecord>> {
        let calls = self.lock();
        let kept = calls.get(call_id).filter(|_| limit <= KEPT)?;
        Some(kept.events[kept.events.len().saturating_sub(limit)..].to_vec())
    }

    /// The newest `limit` alerts of a call, newest first, if kept.
    pub fn alerts(&self, call_id: &str, limit: usize) -> Option<Vec<Alert>> {
        let calls = self.lock();
        let kept = calls.get(call_id).filter(|_| limit <= KEPT)?;
        Some(kept.alerts.iter().take(limit).cloned().collect())
    }

    /// After a commit stored `event` and `alerts` for `call_id`. A call not kept yet is read from the file,
    /// which holds them by now.
    pub fn committed(&self, conn: &Connection, call_id: &str, event: Option<&EventRecord>, alerts: &[Alert]) {
        let mut calls = self.lock();
        if let Some(kept) = calls.get_mut(call_id) {
            if let Some(e) = event {
                kept.events.push(e.clone());
                kept.events.sort_by(event_order);
                if kept.events.len() > KEPT {
                    kept.events.remove(0);
                }
            }
            kept.alerts.extend(alerts.iter().cloned());
            kept.alerts.sort_by(alert_order);
            kept.alerts.truncate(KEPT);
            return;
        }
        match read(conn, call_id) {
            Ok(kept) => {
                if calls.len() >= CALLS {
                    let dropped = calls.keys().next().cloned();
                    dropped.map(|k| calls.remove(&k));
                }
                calls.insert(call_id.to_string(), kept);
            }
            Err(error) => tracing::warn!(call_id, %error, "recent rows not kept; snapshots read the file"),
        }
    }

    /// After an alert's acknowledgement was committed: `alert` as stored now.
    pub fn acknowledged(&self, alert: &Alert) {
        if let Some(kept) = self.lock().get_mut(&alert.call_id) {
            kept.alerts.iter_mut().filter(|a| a.id == alert.id).for_each(|a| *a = alert.clone());
        }
    }

    /// After a call's rows were deleted.
    pub fn forget(&self, call_id: &str) {
        self.lock().remove(call_id);
    }
}

fn read(conn: &Connection, call_id: &str) -> Result<Kept, StoreError> {
    let q = AlertQuery { call_id: Some(call_id.to_string()), open_only: false, limit: KEPT };
    Ok(Kept { events: newest_events(conn, call_id, KEPT)?, alerts: alerts(conn, &q)? })
}
