//! Writing one realtime call through the `CallStore` port, so the same steps work on SQLite and DynamoDB.
//!
//! A call goes in as a sequence of conditional commits: a first one creating the call (key
//! [`BEGIN_KEY`]), one per event with the alerts it raised (key `django:event:<old id>`), one per alert
//! no event raised (`django:alert:<old id>`), the acknowledgements, and a last one (key [`DONE_KEY`]).
//! Every key is checked before its commit and written with it, so a run stopped anywhere is finished by
//! the next, and a finished call is recognised by its last key without reading anything else.

use super::ImportError;
use super::mapping::{BEGIN_KEY, DONE_KEY, PlannedAlert, RealtimePlan, alert_key, event_key};
use super::report::Outcome;
use shared::ports::{AlertQuery, CallStore, CommitOutcome, EventCommit};
use shared::realtime::domain::{Alert, NewEvent};
use std::collections::HashSet;

/// How a call went: imported (or finished), already there, or refused because a call of this id exists
/// that the importer did not make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Done(Outcome),
    Taken,
}

/// Tries per commit when another writer moves the call in between (live traffic on AWS, where nothing
/// stops it): each try reads the call again.
const COMMIT_TRIES: usize = 5;

/// Commits `event`/`alerts` under `key` unless the key was used; `true` when it wrote.
async fn commit_once(
    store: &dyn CallStore,
    plan: &RealtimePlan,
    key: &str,
    event: Option<NewEvent>,
    alerts: &[PlannedAlert],
) -> Result<bool, ImportError> {
    let call_id = &plan.state.call_id;
    for _ in 0..COMMIT_TRIES {
        let loaded = store.load_call(call_id, Some(key)).await?;
        if loaded.duplicate {
            return Ok(false);
        }
        let mut state = plan.state.clone();
        let prev = loaded.state.as_ref();
        state.event_count = prev.map_or(0, |p| p.value.event_count) + u64::from(event.is_some());
        let commit = EventCommit {
            state,
            expected_version: prev.map(|p| p.version),
            previous_updated_at: prev.map(|p| p.value.updated_at),
            event: event.clone(),
            alerts: alerts.iter().map(|a| a.alert.clone()).collect(),
            idempotency_key: Some(key.to_string()),
        };
        match store.commit_event(commit).await? {
            CommitOutcome::Applied { .. } => return Ok(true),
            CommitOutcome::Duplicate => return Ok(false),
            CommitOutcome::Conflict => continue,
        }
    }
    Err(ImportError::Concurrent(call_id.clone()))
}

/// Stored alerts matched to the old acknowledged ones by type, time and message (the store gives new
/// ids), and acknowledged with the old time. Acknowledging twice changes nothing, so this is safe to redo.
async fn acknowledge(store: &dyn CallStore, plan: &RealtimePlan) -> Result<(), ImportError> {
    let wanted: Vec<&PlannedAlert> = plan.alerts().filter(|a| a.acknowledged_at.is_some()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let limit = plan.alerts().count() + 1;
    let query = AlertQuery { call_id: Some(plan.state.call_id.clone()), open_only: false, limit };
    let stored: Vec<Alert> = store.list_alerts(&query).await?;
    let mut used = HashSet::new();
    for want in wanted {
        let found = stored.iter().find(|s| {
            !used.contains(&s.id)
                && s.alert.alert_type == want.alert.alert_type
                && s.alert.created_at == want.alert.created_at
                && s.alert.message == want.alert.message
        });
        if let (Some(s), Some(at)) = (found, want.acknowledged_at) {
            used.insert(s.id);
            if s.acknowledged_at.is_none() {
                store.acknowledge_alert(s.id, at).await?;
            }
        }
    }
    Ok(())
}

/// Imports one call (see the module's doc).
pub async fn import_call(store: &dyn CallStore, plan: &RealtimePlan) -> Result<CallOutcome, ImportError> {
    let call_id = &plan.state.call_id;
    if store.load_call(call_id, Some(DONE_KEY)).await?.duplicate {
        return Ok(CallOutcome::Done(Outcome::Present));
    }
    let started = store.load_call(call_id, Some(BEGIN_KEY)).await?;
    if started.state.is_some() && !started.duplicate {
        return Ok(CallOutcome::Taken);
    }
    commit_once(store, plan, BEGIN_KEY, None, &[]).await?;
    for e in &plan.events {
        commit_once(store, plan, &event_key(e.old_id), Some(e.event.clone()), &e.alerts).await?;
    }
    for a in &plan.loose_alerts {
        commit_once(store, plan, &alert_key(a.old_id), None, std::slice::from_ref(a)).await?;
    }
    acknowledge(store, plan).await?;
    commit_once(store, plan, DONE_KEY, None, &[]).await?;
    Ok(CallOutcome::Done(Outcome::Imported))
}
