//! Read-side use cases: snapshot, alerts and acknowledgement, the live call list, live audio.

use super::ahead::Rows;
use super::answer::{Doc, Part};
use super::{RealtimeService, ServiceError};
use crate::ports::delivery::{self, FileMeta, Handout};
use crate::ports::{AlertQuery, CallQuery, PushMessage};
use crate::realtime::domain::{CallState, round_to};
use crate::realtime::live_audio::{LiveHead, MAX_WINDOW_CHUNKS, reads, tail};
use crate::realtime::risk;
use crate::values::ids;
use crate::values::timestamps::{Timestamp, iso};
use serde_json::{Value, json};

/// Events in a snapshot (the seed's 40) and alerts (30).
pub(super) const SNAPSHOT_EVENTS: usize = 40;
pub(super) const SNAPSHOT_ALERTS: usize = 30;
/// What a call without live audio answers.
const NO_LIVE: &str = "Live audio not found";
/// Longest `last_text` shown in the call list.
const LIST_TEXT_CHARS: usize = 280;

fn valid_call_id(call_id: &str) -> Result<(), ServiceError> {
    ids::validate_call_id(call_id).map_err(|e| ServiceError::BadRequest(e.to_string()))
}

/// One call as the snapshot and the call list show it, with its risk as it stands at `now`.
fn call_summary(s: &CallState, now: Timestamp, half_life_seconds: f64) -> Value {
    json!({
        "call_id": s.call_id, "provider": s.provider, "status": s.status,
        "risk_score": round_to(risk::risk_at(s, now, half_life_seconds), 2),
        "sentiment_score": round_to(s.sentiment_score, 3),
        "created_at": iso(&s.created_at), "updated_at": iso(&s.updated_at),
        "agent_id": s.agent_id, "customer_id": s.customer_id, "last_speaker": s.last_speaker,
        "last_text": s.last_text.chars().take(LIST_TEXT_CHARS).collect::<String>(), "event_count": s.event_count,
    })
}

impl RealtimeService {
    pub(super) async fn live_head(&self, call_id: &str) -> Result<LiveHead, ServiceError> {
        let loaded = self.store.load_live_audio(call_id, None).await?;
        Ok(loaded.head.map_or_else(|| LiveHead::new(call_id), |v| v.value))
    }

    /// `call_summary` at the service's clock.
    pub(super) fn summary(&self, state: &CallState) -> Value {
        call_summary(state, self.now(), self.config.risk_half_life_seconds)
    }

    /// The call's risk as it stands now (decayed since its last signal).
    pub(super) fn risk_now(&self, state: &CallState) -> f64 {
        risk::risk_at(state, self.now(), self.config.risk_half_life_seconds)
    }

    pub(super) fn live_meta(&self, head: &LiveHead) -> Value {
        head.meta(self.config.audio_window_seconds)
    }

    /// The seed's snapshot of a call in `state` (`None`: unknown call) with `rows` as read.
    pub(super) fn snapshot_doc(&self, call_id: &str, state: Option<&CallState>, rows: Rows) -> Doc {
        let mut doc = match state {
            None => Doc::new(json!({"call_id": call_id, "provider": "generic", "status": "idle", "risk_score": 0.0,
                "sentiment_score": 0.0})),
            Some(s) => Doc::new(self.summary(s)),
        };
        let (events, alerts) = match state {
            None => (Vec::new(), Vec::new()),
            Some(_) => (rows.events, rows.alerts),
        };
        doc.set_part("events", Part::Events(events));
        doc.set_part("alerts", Part::Alerts(alerts));
        doc.set("live_audio", rows.live);
        doc
    }

    /// `GET /api/realtime/calls/{id}/snapshot` (200 with `status: idle` for an unknown call, as the seed).
    pub async fn snapshot(&self, call_id: &str) -> Result<Value, ServiceError> {
        valid_call_id(call_id)?;
        let state = self.store.load_call(call_id, None).await?.state.map(|v| v.value);
        let rows = self.snapshot_rows(call_id, None).await?;
        Ok(self.snapshot_doc(call_id, state.as_ref(), rows).to_value())
    }

    /// `GET /api/realtime/alerts`.
    pub async fn list_alerts(
        &self,
        call_id: Option<String>,
        open_only: bool,
        limit: usize,
    ) -> Result<Value, ServiceError> {
        if let Some(id) = &call_id {
            valid_call_id(id)?;
        }
        let alerts = self.store.list_alerts(&AlertQuery { call_id, open_only, limit: limit.clamp(1, 200) }).await?;
        Ok(json!({"alerts": alerts}))
    }

    /// `POST /api/realtime/alerts/{id}/ack`: idempotent; pushes `supervisor_alert_ack` the first time only.
    pub async fn acknowledge(&self, alert_id: i64) -> Result<Value, ServiceError> {
        let (alert, changed) = self
            .store
            .acknowledge_alert(alert_id, self.now())
            .await?
            .ok_or(ServiceError::NotFound("Alert not found"))?;
        if changed {
            let body = json!({"type": "supervisor_alert_ack", "call_id": alert.call_id, "alert": alert});
            self.push.publish(vec![PushMessage { call_id: alert.call_id.clone(), body }]).await;
        }
        Ok(json!({"ok": true, "alert": alert}))
    }

    /// `GET /api/realtime/calls`: live calls by last activity, newest first, with an opaque cursor.
    pub async fn list_calls(
        &self,
        status: Option<String>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Value, ServiceError> {
        let page = self.store.list_calls(&CallQuery { status, limit: limit.clamp(1, 200), cursor }).await?;
        Ok(
            json!({"calls": page.calls.iter().map(|s| self.summary(s)).collect::<Vec<_>>(), "next_cursor": page.next_cursor}),
        )
    }

    /// `GET /api/realtime/calls/{id}/audio/meta`; `fallback` says whether the call has an upload or a
    /// recording to play instead. The preferred source is the live window, else that file, else `none`
    /// (the seed said `fallback` even with no file to play).
    pub async fn audio_meta(&self, call_id: &str, fallback: bool) -> Result<Value, ServiceError> {
        valid_call_id(call_id)?;
        let live = self.live_meta(&self.live_head(call_id).await?);
        let preferred = match (live["available"] == json!(true), fallback) {
            (true, _) => "live",
            (false, true) => "fallback",
            (false, false) => "none",
        };
        Ok(json!({"call_id": call_id, "live_audio": live, "fallback_audio_available": fallback,
                  "preferred_source": preferred}))
    }

    /// `GET /api/realtime/calls/{id}/audio`: the rolling window (or its last `max_seconds`) as WAV; where
    /// storage presigns, a link to a copy under `live/<id>/windows/` (deleted with the call's chunks, and by
    /// the bucket's one-day `live/` rule). The copy is named by the window head's version and last write and
    /// the length asked for, so the same window asked again is the same object, found by a HEAD instead of
    /// reading every chunk and writing up to 9.6 MB again; a window that moved is a new name.
    pub async fn live_window(&self, call_id: &str, max_seconds: Option<u32>) -> Result<Handout, ServiceError> {
        valid_call_id(call_id)?;
        let loaded = self.store.load_live_audio(call_id, None).await?;
        let head = loaded.head.filter(|h| h.value.chunk_count > 0).ok_or(ServiceError::NotFound(NO_LIVE))?;
        let written = head.value.updated_at.map_or(0, |t| t.timestamp_micros());
        let length = max_seconds.map_or_else(|| "all".to_string(), |s| s.to_string());
        let key = format!("live/{call_id}/windows/v{}-{written}_{length}.wav", head.version);
        let file = FileMeta::audio(&format!("{call_id}_live.wav"));
        delivery::made(self.blobs.as_ref(), &key, file, self.window_wav(&head.value, max_seconds)).await
    }

    /// The rolling window (or its last `max_seconds`) as WAV.
    pub async fn live_wav(&self, call_id: &str, max_seconds: Option<u32>) -> Result<Vec<u8>, ServiceError> {
        valid_call_id(call_id)?;
        self.window_wav(&self.live_head(call_id).await?, max_seconds).await
    }

    /// The window `head` describes (or its last `max_seconds`) as WAV, its chunks read from the blob store.
    async fn window_wav(&self, head: &LiveHead, max_seconds: Option<u32>) -> Result<Vec<u8>, ServiceError> {
        let call_id = head.call_id.as_str();
        let format = head.format.filter(|_| head.chunk_count > 0).ok_or(ServiceError::NotFound(NO_LIVE))?;
        let window = self.store.live_audio_chunks(call_id, MAX_WINDOW_CHUNKS).await?;
        let (chunks, skip) = tail(&window, format, max_seconds);
        let mut pcm = Vec::with_capacity(chunks.iter().map(|c| c.bytes as usize).sum());
        for r in reads(chunks) {
            let bytes = match r.offset {
                Some(offset) => self.blobs.get_range(&r.key, offset, r.len).await?,
                None => self.blobs.get(&r.key).await?,
            };
            match bytes {
                Some(bytes) => pcm.extend_from_slice(&bytes),
                None => tracing::warn!(call_id, key = %r.key, "live audio missing from blob store"),
            }
        }
        let skip = skip.min(pcm.len());
        Ok(crate::audio::wav::encode(&format, &pcm[skip..]))
    }
}
