//! The realtime risk engine: what one event does to a call, as a pure function.
//!
//! Seed parity (weights, EMA, alert order A, B, C, risk, D) with the corrections listed in docs/changes-from-seed.md:
//! risk decays with time, not per event (half-life `REALTIME_RISK_HALF_LIFE_SECONDS`, 27.1 s = the seed's
//! ×0.88 per event at one event per 5 s); events with no signal (bare audio chunks) leave risk alone;
//! nothing is rounded inside the recurrence (no sticky 0.04 floor); terminal statuses are not revived;
//! a missing provider does not reset the call's provider; the first sentiment seeds the EMA; dead air
//! counts once per silence (the seed added its term again with every event that repeated the reading,
//! so a streamed minute of silence drove a call to `high_risk_score`).

use crate::realtime::alerts::{self, Signals};
use crate::realtime::config::RealtimeConfig;
use crate::realtime::domain::{CallState, NewAlert, NewEvent, Severity, is_terminal};
use crate::realtime::keywords;
use crate::realtime::normalize::NormalizedEvent;
use crate::values::timestamps::Timestamp;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `last_text` keeps at most this many characters (the seed's 2,400).
pub const LAST_TEXT_CHARS: usize = 2400;
/// The call's merged metadata keeps at most this many top-level keys; later new keys are dropped.
pub const MAX_CALL_METADATA_KEYS: usize = 256;
/// The call's merged metadata stays below this many bytes serialised (a DynamoDB item holds 400 KB).
pub const MAX_CALL_METADATA_BYTES: usize = 64 * 1024;
/// Weight of a new sentiment in the exponential moving average.
const SENTIMENT_EMA_WEIGHT: f64 = 0.28;
/// Damping applied on an event while the call is over.
const TERMINAL_DAMPING: f64 = 0.6;

/// The result of applying one event: the new state, the event row and the alerts to create.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub state: CallState,
    pub event: NewEvent,
    pub alerts: Vec<NewAlert>,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn new_call(ev: &NormalizedEvent, now: Timestamp) -> CallState {
    CallState {
        call_id: ev.call_id.clone(),
        provider: ev.provider.clone().unwrap_or_else(|| "generic".into()),
        status: non_empty(&ev.status).unwrap_or_else(|| "active".into()),
        created_at: now,
        updated_at: now,
        agent_id: None,
        customer_id: None,
        last_speaker: None,
        last_text: String::new(),
        sentiment_score: 0.0,
        sentiment_samples: 0,
        risk_score: 0.0,
        risk_updated_at: None,
        metadata: Map::new(),
        last_alert_at: BTreeMap::new(),
        last_alert_severity: BTreeMap::new(),
        dead_air_counted_seconds: 0.0,
        event_count: 0,
    }
}

/// Serialised size of one metadata entry (key, value and separators).
fn entry_size(k: &str, v: &Value) -> usize {
    k.len() + serde_json::to_string(v).map_or(0, |s| s.len()) + 4
}

/// Shallow merge, later keys win, within `MAX_CALL_METADATA_KEYS` and `MAX_CALL_METADATA_BYTES`: an entry
/// that would break either bound is dropped (the event itself keeps its full metadata).
fn merge_metadata(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    let mut size: usize = into.iter().map(|(k, v)| entry_size(k, v)).sum();
    for (k, v) in from {
        let old = into.get(k).map_or(0, |o| entry_size(k, o));
        let new = entry_size(k, v);
        let fits_keys = old > 0 || into.len() < MAX_CALL_METADATA_KEYS;
        if fits_keys && size - old + new <= MAX_CALL_METADATA_BYTES {
            size = size - old + new;
            into.insert(k.clone(), v.clone());
        }
    }
}

/// True when `ev` starts an ended call again under the same id (providers that reuse ids, a second AudioHook
/// session of a conversation): a `call_start`, or an explicit `active` status on anything but a bare audio
/// chunk. Late audio (the listener marks every chunk `active`) never restarts a call.
fn restarts(prev: &CallState, ev: &NormalizedEvent) -> bool {
    is_terminal(&prev.status)
        && (ev.event_type == "call_start" || (ev.status == "active" && ev.event_type != "audio_chunk"))
}

/// Upsert: fields the event carries overwrite the call's; empty ones leave them. A restarted call begins
/// as a new call would (created now, no scores, cooldowns, participants or metadata); its earlier events
/// and alerts stay in its history.
fn upsert(prev: Option<&CallState>, ev: &NormalizedEvent, now: Timestamp) -> (CallState, bool) {
    let prev = prev.filter(|p| !restarts(p, ev));
    let mut s = prev.cloned().unwrap_or_else(|| new_call(ev, now));
    let was_terminal = prev.is_some_and(|p| is_terminal(&p.status));
    if let Some(p) = &ev.provider {
        s.provider = p.clone();
    }
    // A terminal status is final: a later non-terminal one (e.g. late audio saying `active`) is ignored.
    if !ev.status.is_empty() && (!was_terminal || is_terminal(&ev.status)) {
        s.status = ev.status.clone();
    }
    s.updated_at = now;
    s.agent_id = non_empty(&ev.agent_id).or(s.agent_id);
    s.customer_id = non_empty(&ev.customer_id).or(s.customer_id);
    s.last_speaker = non_empty(&ev.speaker).or(s.last_speaker);
    if !ev.text.is_empty() {
        s.last_text = truncate(&ev.text, LAST_TEXT_CHARS);
    }
    if let Some(x) = ev.sentiment {
        s.sentiment_score = if s.sentiment_samples == 0 {
            x
        } else {
            s.sentiment_score * (1.0 - SENTIMENT_EMA_WEIGHT) + x * SENTIMENT_EMA_WEIGHT
        };
        s.sentiment_samples += 1;
    }
    merge_metadata(&mut s.metadata, &ev.metadata);
    s.event_count += 1;
    let became_terminal = !was_terminal && is_terminal(&s.status);
    (s, became_terminal)
}

/// The decay factor for `elapsed` seconds at the configured half-life.
pub fn decay_factor(elapsed_seconds: f64, half_life_seconds: f64) -> f64 {
    0.5f64.powf(elapsed_seconds.max(0.0) / half_life_seconds)
}

/// The call's risk as it stands at `now`: the stored score decayed since it was last computed. Every read
/// (snapshot, call list, push, the high-risk rule) goes through this, so a call that has gone quiet shows
/// its risk falling instead of the value of its last event.
pub fn risk_at(state: &CallState, now: Timestamp, half_life_seconds: f64) -> f64 {
    let elapsed = state.risk_updated_at.map_or(0.0, |t| (now - t).as_seconds_f64());
    state.risk_score * decay_factor(elapsed, half_life_seconds)
}

/// The seed's dead-air risk term for a silence of `seconds`.
fn dead_air_term(seconds: f64) -> f64 {
    ((seconds - 10.0).max(0.0) / 100.0).min(0.25)
}

/// What a dead-air reading adds to risk: the growth of the seed's term since `counted`, the last reading
/// of the same silence. A reading below it starts a new silence, which counts from nothing.
fn dead_air_growth(counted: f64, reading: f64) -> f64 {
    let before = if reading >= counted { counted } else { 0.0 };
    dead_air_term(reading) - dead_air_term(before)
}

/// The seed's risk recurrence with time decay, no intermediate rounding, and dead air counted by
/// its growth within a silence.
fn next_risk(state: &CallState, s: &Signals, created: &[NewAlert], now: Timestamp, cfg: &RealtimeConfig) -> f64 {
    let mut score = risk_at(state, now, cfg.risk_half_life_seconds);
    if let Some(sent) = s.sentiment.filter(|v| *v < 0.0) {
        score += (sent.abs() * 0.42).min(0.46);
    }
    if !s.keyword_hits.is_empty() {
        score += 0.24;
    }
    if let Some(d) = s.dead_air_seconds {
        score += dead_air_growth(state.dead_air_counted_seconds, d);
    }
    if created.iter().any(|a| a.severity == Severity::High) {
        score += 0.16;
    }
    if is_terminal(&state.status) {
        score *= TERMINAL_DAMPING;
    }
    score.clamp(0.0, 1.0)
}

/// Applies one normalised event to the call's previous state (`None` for a new call) at server time `now`.
pub fn apply_event(prev: Option<&CallState>, ev: &NormalizedEvent, now: Timestamp, cfg: &RealtimeConfig) -> Applied {
    let (mut state, became_terminal) = upsert(prev, ev, now);
    let signals = Signals {
        sentiment: ev.sentiment,
        keyword_hits: keywords::matches(&ev.text, &cfg.keywords),
        dead_air_seconds: alerts::dead_air_of(&ev.metadata),
        event_id: ev.event_id.as_deref(),
    };
    let mut created = alerts::rule_alerts(&state, &signals, now, cfg);
    // Text, sentiment, dead air or the end of the call move risk; a bare audio chunk does not.
    if !signals.is_empty() || !ev.text.is_empty() || became_terminal {
        state.risk_score = next_risk(&state, &signals, &created, now, cfg);
        state.risk_updated_at = Some(now);
    }
    if let Some(d) = signals.dead_air_seconds {
        state.dead_air_counted_seconds = d;
    }
    let risk = risk_at(&state, now, cfg.risk_half_life_seconds);
    created.extend(alerts::high_risk_alert(&state, risk, ev.event_id.as_deref(), now, cfg));
    for a in &created {
        state.last_alert_at.insert(a.alert_type, now);
        state.last_alert_severity.insert(a.alert_type, a.severity);
    }
    let event = NewEvent {
        occurred_at: ev.occurred_at.unwrap_or(now),
        event_type: ev.event_type.clone(),
        speaker: non_empty(&ev.speaker),
        text: ev.text.clone(),
        sentiment: ev.sentiment,
        confidence: ev.confidence,
        metadata: ev.metadata.clone(),
    };
    Applied { state, event, alerts: created }
}

#[cfg(test)]
#[path = "risk_tests.rs"]
mod tests;
