//! Which bare audio chunks need no write of the call. AudioHook sends one to three chunks a second per call,
//! each a bare `audio_chunk` event; writing the call's row for each (a versioned rewrite of the whole state,
//! and on DynamoDB a transaction with the call-list entry) was most of what audio cost beyond its bytes. A bare
//! chunk that changes nothing a supervisor sees is not written at all (no row, no push), unless the call's
//! last activity is [`ACTIVITY_WRITE_SECONDS`] old: then it is written (still pushed to no one), so the idle
//! sweep (`REALTIME_CALL_IDLE_MINUTES`) and the call list's order by last activity stay right to that many
//! seconds.
//!
//! What a skipped chunk would have changed is either shown nowhere (its metadata merged into the call's,
//! the event count) or carried by the next write: dead air counts a silence's growth from the last reading
//! written (`dead_air_counted_seconds`), so readings skipped within one silence add up to the same risk.

use crate::realtime::domain::CallState;
use crate::realtime::normalize::NormalizedEvent;
use crate::realtime::risk::{Applied, risk_at};
use crate::values::timestamps::Timestamp;

/// At most this long between writes of a call's last activity while only bare chunks arrive.
pub const ACTIVITY_WRITE_SECONDS: i64 = 30;

/// True when `applied` (the result of applying an event to `prev`) need not be stored: `shown` (what
/// [`shows`] answered for it) is false, the call's last activity is recent and the silence goes on.
pub fn unseen(prev: Option<&CallState>, applied: &Applied, now: Timestamp, shown: bool) -> bool {
    let Some(p) = prev else { return false };
    let since = (now - p.updated_at).num_milliseconds();
    let recent = (0..ACTIVITY_WRITE_SECONDS * 1000).contains(&since);
    // A reading below the counted one starts a new silence: written, so the next one counts from nothing.
    let same_silence = applied.state.dead_air_counted_seconds >= p.dead_air_counted_seconds;
    !shown && recent && same_silence
}

/// A bare audio chunk: no text, no sentiment. Mostly it changes nothing a supervisor sees, so an ingest
/// reads nothing ahead for it (see `ahead.rs`).
pub fn bare(ev: &NormalizedEvent) -> bool {
    ev.event_type == "audio_chunk" && ev.text.is_empty() && ev.sentiment.is_none()
}

/// Whether applying `ev` to `prev` changes what a supervisor sees: anything but a bare audio chunk that
/// leaves the call's view (status, parties, last words, sentiment, risk) as it was and raises no alert. A
/// chunk that shows nothing is pushed to no one (not even when written for its activity alone: a post to
/// every supervisor following all calls, per call every [`ACTIVITY_WRITE_SECONDS`], to redraw the same row),
/// and its ingest answer carries no snapshot (three reads of events, alerts and the live window).
pub fn shows(
    prev: Option<&CallState>,
    ev: &NormalizedEvent,
    applied: &Applied,
    now: Timestamp,
    half_life: f64,
) -> bool {
    let Some(prev) = prev else { return true };
    let s = &applied.state;
    let same_view = s.status == prev.status
        && s.provider == prev.provider
        && s.created_at == prev.created_at
        && s.agent_id == prev.agent_id
        && s.customer_id == prev.customer_id
        && s.last_speaker == prev.last_speaker
        && s.last_text == prev.last_text
        && s.sentiment_score == prev.sentiment_score
        && s.last_alert_at == prev.last_alert_at
        && (risk_at(s, now, half_life) - risk_at(prev, now, half_life)).abs() < 1e-9;
    !(bare(ev) && applied.alerts.is_empty() && same_view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::config::RealtimeConfig;
    use crate::realtime::normalize::normalize_event;
    use crate::realtime::risk::apply_event;
    use crate::values::timestamps::parse_iso;
    use serde_json::{Value, json};

    fn at(ms: i64) -> Timestamp {
        parse_iso("2026-02-10T10:00:00Z").unwrap() + chrono::Duration::milliseconds(ms)
    }

    fn event(body: Value) -> NormalizedEvent {
        normalize_event(body.as_object().unwrap(), 2_000).unwrap()
    }

    fn chunk(dead_air: f64) -> NormalizedEvent {
        event(json!({"call_id": "c", "event_type": "audio_chunk", "status": "active",
            "metadata": {"metrics": {"dead_air_seconds": dead_air}, "audio": {"chunk_count": 3}}}))
    }

    /// Applies `ev` at `ms` after a call whose last write was at 0; whether it may be skipped.
    fn skipped(prev: &CallState, ev: &NormalizedEvent, ms: i64) -> bool {
        let cfg = RealtimeConfig::default();
        let applied = apply_event(Some(prev), ev, at(ms), &cfg);
        let shown = shows(Some(prev), ev, &applied, at(ms), cfg.risk_half_life_seconds);
        unseen(Some(prev), &applied, at(ms), shown)
    }

    fn call() -> CallState {
        let cfg = RealtimeConfig::default();
        let first = event(json!({"call_id": "c", "text": "hello", "speaker": "agent", "sentiment": -0.4}));
        let s = apply_event(None, &first, at(0), &cfg).state;
        apply_event(Some(&s), &chunk(2.0), at(0), &cfg).state
    }

    #[test]
    fn a_bare_chunk_that_changes_nothing_seen_is_skipped_until_activity_is_due() {
        let prev = call();
        assert!(skipped(&prev, &chunk(2.0), 750));
        assert!(skipped(&prev, &chunk(4.5), 750), "a growing silence below 10 s adds no risk");
        assert!(skipped(&prev, &chunk(2.0), ACTIVITY_WRITE_SECONDS * 1000 - 1));
        assert!(!skipped(&prev, &chunk(2.0), ACTIVITY_WRITE_SECONDS * 1000), "last activity is due");
        assert!(!skipped(&prev, &chunk(2.0), -5), "a clock behind the stored activity writes");
    }

    #[test]
    fn what_a_supervisor_sees_is_written() {
        let prev = call();
        assert!(!skipped(&prev, &chunk(0.0), 750), "speech ends the silence: a new one counts from nothing");
        assert!(!skipped(&prev, &chunk(14.0), 750), "dead air past 10 s moves risk");
        assert!(!skipped(&prev, &chunk(25.0), 750), "and raises an alert");
        let ended = event(json!({"call_id": "c", "event_type": "audio_chunk", "status": "ended"}));
        assert!(!skipped(&prev, &ended, 750), "status");
        let text = event(json!({"call_id": "c", "event_type": "audio_chunk", "text": "hi"}));
        assert!(!skipped(&prev, &text, 750), "not bare");
        let speaker = event(json!({"call_id": "c", "event_type": "audio_chunk", "speaker": "customer"}));
        assert!(!skipped(&prev, &speaker, 750), "last speaker");
        let cfg = RealtimeConfig::default();
        let ev = chunk(2.0);
        let applied = apply_event(None, &ev, at(750), &cfg);
        let shown = shows(None, &ev, &applied, at(750), cfg.risk_half_life_seconds);
        assert!(!unseen(None, &applied, at(750), shown), "a new call");
    }
}
