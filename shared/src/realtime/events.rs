//! Ingesting one realtime event: load (with what the push and the answer need, `ahead.rs`), apply the pure
//! engine, commit conditionally, push. A bare audio chunk that changes nothing a supervisor sees is not
//! written (unless its activity is due) and never pushed (`activity.rs`).

use super::ahead::Ahead;
use super::answer::{Doc, Part};
use super::{MAX_COMMIT_ATTEMPTS, RealtimeService, ServiceError, backoff};
use crate::ports::{Audience, CommitOutcome, EventCommit, PushMessage};
use crate::process::metrics::names::ALERTS_RAISED;
use crate::realtime::domain::{Alert, CallState, EventRecord, round_to};
use crate::realtime::normalize::{NormalizedEvent, normalize_event};
use crate::realtime::{activity, risk};
use serde_json::{Map, Value, json};

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub call_id: String,
    /// The call after the event (or as it stands, for a duplicate).
    pub state: Option<CallState>,
    pub event: Option<EventRecord>,
    pub alerts: Vec<Alert>,
    pub duplicate: bool,
    /// Nothing a supervisor sees changed (a bare audio chunk, written or not): nothing was pushed, and an
    /// answer needs no snapshot (see [`activity::shows`]).
    pub quiet: bool,
}

/// What an ingest answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The seed's shape: with the call's snapshot (events, alerts, the live window, read beside the load:
    /// `ahead.rs`), unless nothing a supervisor sees changed (a bare chunk), for the HTTP endpoints.
    Snapshot,
    /// What the ingest did, never read back: for the in-process ingest, which discards the answer.
    Lean,
}

/// A bare audio chunk (no text, sentiment, alert or status change) moves the call but is not worth a row:
/// the seed wrote several such rows per second per call. A dead-air reading alone does not make a chunk
/// worth one either: AudioHook sends a reading with every chunk; the chunks whose dead air raised an alert
/// are kept through that alert.
fn worth_a_row(ev: &NormalizedEvent, prev: Option<&CallState>, applied: &risk::Applied) -> bool {
    let status_changed = prev.is_none_or(|p| p.status != applied.state.status);
    status_changed || !activity::bare(ev) || !applied.alerts.is_empty()
}

fn event_json(event: Option<&EventRecord>, ev: &NormalizedEvent) -> Value {
    match event {
        Some(e) => serde_json::to_value(e).unwrap_or(Value::Null),
        None => json!({"id": null, "type": ev.event_type, "speaker": ev.speaker, "text": ev.text,
            "sentiment": ev.sentiment, "confidence": ev.confidence, "occurred_at": null, "metadata": ev.metadata}),
    }
}

impl RealtimeService {
    /// `POST /api/realtime/events`: the seed's response shape, plus `duplicate` for a repeated `event_id`.
    pub async fn ingest_event(&self, body: &Map<String, Value>) -> Result<Doc, ServiceError> {
        self.ingest_event_answering(body, Answer::Snapshot).await
    }

    /// [`Self::ingest_event`], answering as `answer` says (`snapshot` absent from a lean answer). Two rounds
    /// to the store: the load with everything else it needs (`ahead.rs`), then the commit.
    pub async fn ingest_event_answering(&self, body: &Map<String, Value>, answer: Answer) -> Result<Doc, ServiceError> {
        let ev =
            normalize_event(body, self.config.max_text_chars).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let mut ahead = Ahead::answering(answer, None);
        let done = self.ingest_ahead(&ev, &mut ahead).await?;
        let snapshot = match answer {
            Answer::Snapshot if !done.quiet => {
                Some(self.snapshot_answer(ahead, &done.call_id, done.state.as_ref()).await)
            }
            _ => None,
        };
        let (risk, sentiment) = done.state.as_ref().map_or((0.0, 0.0), |s| (self.risk_now(s), s.sentiment_score));
        let mut out = Doc::new(json!({
            "ok": true,
            "call_id": done.call_id,
            "risk_score": round_to(risk, 2),
            "sentiment_score": round_to(sentiment, 3),
        }));
        out.set_part("alerts", Part::Alerts(done.alerts));
        if let Some(snapshot) = snapshot {
            out.set_part("snapshot", Part::Doc(Box::new(snapshot)));
        }
        if done.duplicate {
            out.set("duplicate", json!(true));
        }
        Ok(out)
    }

    /// Applies one normalised event exactly once (per `event_id`), retrying lost races.
    pub async fn ingest_normalized(&self, ev: &NormalizedEvent) -> Result<Ingested, ServiceError> {
        self.ingest_ahead(ev, &mut Ahead::answering(Answer::Lean, None)).await
    }

    /// [`Self::ingest_normalized`], reading ahead and recording its writes in `ahead`.
    pub(super) async fn ingest_ahead(&self, ev: &NormalizedEvent, ahead: &mut Ahead) -> Result<Ingested, ServiceError> {
        let _serial = self.locks.lock(&ev.call_id).await;
        let key = ev.event_id.as_deref();
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            let loaded = self.load_ahead(ev, key, ahead).await?;
            let prev = loaded.state.as_ref().map(|v| &v.value);
            if loaded.duplicate {
                return Ok(self.duplicate(ev, prev.cloned()));
            }
            let now = self.now();
            let applied = risk::apply_event(prev, ev, now, &self.config);
            let shown = activity::shows(prev, ev, &applied, now, self.config.risk_half_life_seconds);
            if activity::unseen(prev, &applied, now, shown) {
                tracing::trace!(call_id = %ev.call_id, "bare audio chunk: nothing to write");
                return Ok(Ingested {
                    call_id: ev.call_id.clone(),
                    state: prev.cloned(),
                    event: None,
                    alerts: Vec::new(),
                    duplicate: false,
                    quiet: true,
                });
            }
            let commit = EventCommit {
                state: applied.state.clone(),
                expected_version: loaded.state.as_ref().map(|v| v.version),
                previous_updated_at: prev.map(|p| p.updated_at),
                event: worth_a_row(ev, prev, &applied).then(|| applied.event.clone()),
                alerts: applied.alerts.clone(),
                idempotency_key: ev.event_id.clone(),
            };
            let version = commit.next_version();
            match self.store.commit_event(commit).await? {
                CommitOutcome::Applied { event, alerts } => {
                    ahead.wrote(version, event.as_ref(), &alerts);
                    for a in &alerts {
                        let (kind, severity) = (a.alert.alert_type.as_str(), a.alert.severity.as_str());
                        metrics::counter!(ALERTS_RAISED, "type" => kind, "severity" => severity).increment(1);
                    }
                    if shown {
                        self.publish(ev, &applied.state, event.as_ref(), &alerts, ahead.audience()).await;
                    }
                    return Ok(Ingested {
                        call_id: ev.call_id.clone(),
                        state: Some(applied.state),
                        event,
                        alerts,
                        duplicate: false,
                        quiet: !shown,
                    });
                }
                CommitOutcome::Duplicate => {
                    // A concurrent writer used the key: the call as it left it, with the rows read again.
                    ahead.lost_race();
                    let now = self.load_ahead(ev, None, ahead).await?;
                    return Ok(self.duplicate(ev, now.state.map(|v| v.value)));
                }
                CommitOutcome::Conflict => {
                    ahead.lost_race();
                    backoff(attempt).await
                }
            }
        }
        Err(ServiceError::Contention)
    }

    fn duplicate(&self, ev: &NormalizedEvent, state: Option<CallState>) -> Ingested {
        tracing::debug!(call_id = %ev.call_id, event_id = ?ev.event_id, "duplicate event acknowledged");
        Ingested { call_id: ev.call_id.clone(), state, event: None, alerts: Vec::new(), duplicate: true, quiet: false }
    }

    /// Pushes `realtime_event` and one `supervisor_alert` per alert, as the seed's SSE did, to the followers
    /// looked up ahead (else looked up now).
    async fn publish(
        &self,
        ev: &NormalizedEvent,
        state: &CallState,
        event: Option<&EventRecord>,
        alerts: &[Alert],
        audience: Option<&Audience>,
    ) {
        let (risk, sentiment) = (round_to(self.risk_now(state), 2), round_to(state.sentiment_score, 3));
        let body = json!({
            "type": "realtime_event", "call_id": state.call_id, "provider": state.provider, "status": state.status,
            "event": event_json(event, ev), "risk_score": risk, "sentiment_score": sentiment,
        });
        let mut messages = vec![PushMessage { call_id: state.call_id.clone(), body }];
        for a in alerts {
            let body = json!({"type": "supervisor_alert", "call_id": state.call_id, "provider": state.provider,
                "risk_score": risk, "alert": a});
            messages.push(PushMessage { call_id: state.call_id.clone(), body });
        }
        let audience = match audience {
            Some(known) => known.clone(),
            None => self.push.audience(&state.call_id).await,
        };
        self.push.publish_to(&audience, messages).await;
    }
}
