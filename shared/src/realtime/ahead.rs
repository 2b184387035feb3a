//! Round 1 of an ingest: what its push and its answer need, read beside the call's load, so that after the
//! commit (round 2) only the posts are left. Read after the commit instead, the HTTP ingest cost four rounds
//! on DynamoDB: load, commit, the subscriber lookup, then the answer's snapshot (events, alerts, the live
//! window). Here the snapshot's rows are read with the load and what each commit of this ingest wrote is
//! merged in, ordered and capped as the snapshot endpoint lists them: the document a fresh read gives, as
//! long as nobody else wrote the call in between. The state's version tells: every load is checked against
//! the version the rows were read at (plus this ingest's own commits), and a lost race reads them again with
//! the next load; a write by someone else seen too late to re-read means a read after the commit, as before.
//! Left: a write by another process landing between the rows' read and the load of the same round, which
//! the answer then misses (a snapshot read after the commit, eventually consistent, could miss it too).
//!
//! The rule for what is read ahead: nothing for a bare audio chunk (no text, no sentiment), which mostly
//! changes nothing a supervisor sees, is pushed to no one and answered lean; the rare one that shows (a
//! status change, a dead-air alert) looks its followers up and reads its snapshot after its commit. Anything
//! else looks its followers up ahead, and reads the snapshot's rows ahead when the answer carries one.

use super::answer::{Doc, Part};
use super::queries::{SNAPSHOT_ALERTS, SNAPSHOT_EVENTS};
use super::{Answer, RealtimeService, ServiceError, activity};
use crate::ports::{Audience, LoadedCall};
use crate::realtime::domain::{Alert, CallState, EventRecord, alert_order, event_order};
use crate::realtime::normalize::NormalizedEvent;
use serde_json::{Value, json};

/// A snapshot's rows: the call's newest events (oldest first) and alerts (newest first), and the live
/// window's meta.
pub(super) struct Rows {
    pub events: Vec<EventRecord>,
    pub alerts: Vec<Alert>,
    pub live: Value,
}

impl Rows {
    /// With what a commit wrote, as a fresh read would list it.
    fn add(&mut self, event: Option<&EventRecord>, alerts: &[Alert]) {
        if let Some(e) = event {
            self.events.push(e.clone());
            self.events.sort_by(event_order);
            let over = self.events.len().saturating_sub(SNAPSHOT_EVENTS);
            self.events.drain(..over);
        }
        self.alerts.extend_from_slice(alerts);
        self.alerts.sort_by(alert_order);
        self.alerts.truncate(SNAPSHOT_ALERTS);
    }
}

/// The answer's snapshot while the ingest runs.
struct Snapshot {
    /// The live window's meta when the ingest has it (an audio chunk just appended): not read.
    live: Option<Value>,
    /// The rows and the state version they stand at; `None` until read, or once stale.
    read: Option<(Result<Rows, ServiceError>, Option<u64>)>,
}

/// What one ingest (an event, or every event of an audio chunk) reads ahead and has written so far.
pub(super) struct Ahead {
    audience: Option<Audience>,
    /// `None`: the answer is lean.
    snapshot: Option<Snapshot>,
    /// This ingest's own rows, for an answer whose snapshot cannot be read.
    events: Vec<EventRecord>,
    alerts: Vec<Alert>,
}

impl Ahead {
    /// For an ingest answering as `answer` says; `live` is the live window's meta when known.
    pub fn answering(answer: Answer, live: Option<Value>) -> Self {
        let snapshot = (answer == Answer::Snapshot).then_some(Snapshot { live, read: None });
        Self { audience: None, snapshot, events: Vec::new(), alerts: Vec::new() }
    }

    /// The followers looked up ahead, if they were.
    pub fn audience(&self) -> Option<&Audience> {
        self.audience.as_ref()
    }

    /// A load saw the state at `version`: rows read at another version are stale.
    fn loaded(&mut self, version: Option<u64>) {
        if let Some(s) = &mut self.snapshot
            && s.read.as_ref().is_some_and(|(_, at)| *at != version)
        {
            s.read = None;
        }
    }

    /// A commit moved the state to version `to`, writing `event` and `alerts` (conditional on the version
    /// just loaded, which the rows were checked against).
    pub fn wrote(&mut self, to: u64, event: Option<&EventRecord>, alerts: &[Alert]) {
        self.events.extend(event.cloned());
        self.alerts.extend_from_slice(alerts);
        if let Some((rows, at)) = self.snapshot.as_mut().and_then(|s| s.read.as_mut()) {
            if let Ok(rows) = rows {
                rows.add(event, alerts);
            }
            *at = Some(to);
        }
    }

    /// A commit lost a race: the next load reads the rows again, in its round.
    pub fn lost_race(&mut self) {
        if let Some(s) = &mut self.snapshot {
            s.read = None;
        }
    }
}

impl RealtimeService {
    /// The snapshot's rows as they stand; `live` is the window's meta when the caller has it.
    pub(super) async fn snapshot_rows(&self, call_id: &str, live: Option<Value>) -> Result<Rows, ServiceError> {
        let live = async {
            match live {
                Some(meta) => Ok(meta),
                None => self.live_head(call_id).await.map(|h| self.live_meta(&h)),
            }
        };
        let (events, alerts, live) = tokio::join!(
            self.store.recent_events(call_id, SNAPSHOT_EVENTS),
            self.store.recent_alerts(call_id, SNAPSHOT_ALERTS),
            live,
        );
        Ok(Rows { events: events?, alerts: alerts?, live: live? })
    }

    /// Loads the call for `ev` (checking `key`) and, in the same round, whatever `ahead` still lacks.
    pub(super) async fn load_ahead(
        &self,
        ev: &NormalizedEvent,
        key: Option<&str>,
        ahead: &mut Ahead,
    ) -> Result<LoadedCall, ServiceError> {
        let bare = activity::bare(ev);
        let audience = async {
            match ahead.audience.is_none() && !bare {
                true => Some(self.push.audience(&ev.call_id).await),
                false => None,
            }
        };
        let rows = async {
            match &ahead.snapshot {
                Some(Snapshot { live, read: None }) if !bare => {
                    Some(self.snapshot_rows(&ev.call_id, live.clone()).await)
                }
                _ => None,
            }
        };
        let (loaded, audience, rows) = tokio::join!(self.store.load_call(&ev.call_id, key), audience, rows);
        let loaded = loaded?;
        let version = loaded.state.as_ref().map(|v| v.version);
        if audience.is_some() {
            ahead.audience = audience;
        }
        match (rows, &mut ahead.snapshot) {
            (Some(rows), Some(s)) => s.read = Some((rows, version)),
            _ => ahead.loaded(version),
        }
        Ok(loaded)
    }

    /// The answer's snapshot once the ingest is done, with the call as it left it: the rows read ahead with
    /// this ingest's writes merged in, else read now. The ingest is committed by then, so a failed read must
    /// not turn its answer into a 5xx (a provider would retry and, without an `event_id`, apply it twice):
    /// the answer then carries the call as committed with this ingest's own event and alerts, marked
    /// `partial`.
    pub(super) async fn snapshot_answer(&self, ahead: Ahead, call_id: &str, state: Option<&CallState>) -> Doc {
        let Snapshot { live, read } = ahead.snapshot.unwrap_or(Snapshot { live: None, read: None });
        let rows = match read {
            Some((rows, _)) => rows,
            None => self.snapshot_rows(call_id, live).await,
        };
        match rows {
            Ok(rows) => self.snapshot_doc(call_id, state, rows),
            Err(error) => {
                tracing::error!(call_id, %error, "snapshot read failed after a commit; answering the commit alone");
                let mut doc = Doc::new(state.map_or_else(|| json!({"call_id": call_id}), |s| self.summary(s)));
                doc.set_part("events", Part::Events(ahead.events));
                doc.set_part("alerts", Part::Alerts(ahead.alerts));
                doc.set("partial", json!(true));
                doc
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::domain::{AlertType, NewAlert, NewEvent, Severity};
    use crate::values::timestamps::parse_iso;
    use serde_json::Map;

    fn event(id: i64, second: u32) -> EventRecord {
        let occurred_at = parse_iso(&format!("2026-02-10T10:00:{second:02}Z")).unwrap();
        let event = NewEvent {
            occurred_at,
            event_type: "transcript".into(),
            speaker: None,
            text: format!("e{id}"),
            sentiment: None,
            confidence: None,
            metadata: Map::new(),
        };
        EventRecord { id, event }
    }

    fn alert(id: i64, second: u32) -> Alert {
        let created_at = parse_iso(&format!("2026-02-10T10:00:{second:02}Z")).unwrap();
        let alert = NewAlert {
            alert_type: AlertType::EscalationKeyword,
            severity: Severity::High,
            message: String::new(),
            created_at,
            metadata: Map::new(),
        };
        Alert { id, call_id: "c".into(), alert, acknowledged_at: None }
    }

    fn read_at(version: Option<u64>, events: Vec<EventRecord>, alerts: Vec<Alert>) -> Ahead {
        let mut ahead = Ahead::answering(Answer::Snapshot, Some(json!({})));
        let rows = Rows { events, alerts, live: json!({}) };
        ahead.snapshot.as_mut().unwrap().read = Some((Ok(rows), version));
        ahead
    }

    fn ids(ahead: &Ahead) -> (Vec<i64>, Vec<i64>) {
        let (Ok(rows), _) = ahead.snapshot.as_ref().unwrap().read.as_ref().unwrap() else { panic!("no rows") };
        (rows.events.iter().map(|e| e.id).collect(), rows.alerts.iter().map(|a| a.id).collect())
    }

    #[test]
    fn writes_merge_in_the_stores_order_and_caps() {
        let events: Vec<EventRecord> = (1..=40).map(|i| event(i, 10 + (i as u32 % 40))).collect();
        let mut sorted = events.clone();
        sorted.sort_by(event_order);
        let alerts = (1..=30).map(|i| alert(i, 5)).collect::<Vec<_>>();
        let mut ahead = read_at(Some(7), sorted, alerts);
        // An event timed before the newest (a producer's own clock) lands among them, not at the end.
        ahead.wrote(8, Some(&event(41, 30)), &[alert(31, 6)]);
        let (events, alerts) = ids(&ahead);
        assert_eq!(events.len(), SNAPSHOT_EVENTS);
        assert!(!events.contains(&40) && events[0] == 1, "the oldest (id 40, at :10) left: {events:?}");
        let at = events.iter().position(|id| *id == 41).unwrap();
        assert_eq!(events[at - 1..=at + 1], [20, 41, 21], "after :30 by id, before :31");
        assert_eq!((alerts.len(), alerts[0], alerts[1], alerts[29]), (SNAPSHOT_ALERTS, 31, 30, 2));
        assert_eq!(ahead.snapshot.as_ref().unwrap().read.as_ref().unwrap().1, Some(8));
    }

    #[test]
    fn rows_read_at_another_version_are_dropped() {
        let mut ahead = read_at(Some(3), vec![event(1, 0)], Vec::new());
        ahead.loaded(Some(3));
        assert!(ahead.snapshot.as_ref().unwrap().read.is_some(), "the same version: kept");
        ahead.loaded(Some(4));
        assert!(ahead.snapshot.as_ref().unwrap().read.is_none(), "someone else wrote the call");
        let mut ahead = read_at(None, vec![event(1, 0)], Vec::new());
        ahead.lost_race();
        assert!(ahead.snapshot.as_ref().unwrap().read.is_none(), "a lost race reads again");
        // Stale rows take no merge; the answer reads afresh, still knowing what this ingest wrote.
        ahead.wrote(1, Some(&event(2, 1)), &[]);
        assert!(ahead.snapshot.as_ref().unwrap().read.is_none());
        assert_eq!(ahead.events.len(), 1);
    }
}
