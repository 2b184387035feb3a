//! Risk engine tests: the seed's worked example, each corrected seed bug, cooldowns, and properties.

use super::*;
use crate::realtime::domain::{AlertType, round_to};
use crate::realtime::normalize::normalize_event;
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;

fn cfg() -> RealtimeConfig {
    RealtimeConfig::default()
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 2, 10, 10, 0, 0).unwrap()
}

fn ev(v: Value) -> NormalizedEvent {
    let mut obj = v.as_object().unwrap().clone();
    obj.entry("call_id").or_insert(json!("c1"));
    normalize_event(&obj, 20_000).unwrap()
}

fn types(a: &Applied) -> Vec<AlertType> {
    a.alerts.iter().map(|x| x.alert_type).collect()
}

fn worked_example() -> NormalizedEvent {
    ev(json!({"text": "i need a supervisor now", "sentiment": -0.82, "metadata": {"dead_air_seconds": 4}}))
}

#[test]
fn seed_worked_example() {
    let a = apply_event(None, &worked_example(), t0(), &cfg());
    assert_eq!(round_to(a.state.risk_score, 2), 0.74);
    assert!((a.state.risk_score - 0.7444).abs() < 1e-9);
    assert_eq!(a.state.sentiment_score, -0.82);
    assert_eq!(types(&a), [AlertType::NegativeSentiment, AlertType::EscalationKeyword, AlertType::HighRiskScore]);
    let sev: Vec<&str> = a.alerts.iter().map(|x| x.severity.as_str()).collect();
    assert_eq!(sev, ["high", "high", "critical"]);
    assert_eq!(a.alerts[2].message, "Live risk score crossed threshold (0.74).");
    assert_eq!(a.alerts[0].message, "Negative sentiment detected (-0.82) in live call.");
    assert_eq!(a.alerts[1].message, "Escalation keywords detected: supervisor");

    // The same event again within the cooldown: risk saturates, every alert type is cooling down.
    let b = apply_event(Some(&a.state), &worked_example(), t0() + Duration::seconds(2), &cfg());
    assert_eq!(b.state.risk_score, 1.0);
    assert!(b.alerts.is_empty());
    assert!((b.state.sentiment_score - -0.82).abs() < 1e-12);
}

#[test]
fn no_sticky_floor_risk_decays_to_zero() {
    let mut s = apply_event(None, &ev(json!({"sentiment": -0.1})), t0(), &cfg()).state;
    assert!(s.risk_score > 0.0);
    for i in 1..=60 {
        s = apply_event(Some(&s), &ev(json!({"text": "fine thanks"})), t0() + Duration::seconds(30 * i), &cfg()).state;
    }
    assert_eq!(round_to(s.risk_score, 2), 0.0, "the seed stuck at 0.04; we decay to zero");
}

#[test]
fn decay_follows_time_not_event_count() {
    let first = apply_event(None, &worked_example(), t0(), &cfg()).state;
    let one = apply_event(Some(&first), &ev(json!({"text": "ok"})), t0() + Duration::seconds(27), &cfg()).state;
    let mut many = first.clone();
    for i in 1..=27 {
        many = apply_event(Some(&many), &ev(json!({"text": "ok"})), t0() + Duration::seconds(i), &cfg()).state;
    }
    assert!((one.risk_score - many.risk_score).abs() < 1e-9);
    let expected = first.risk_score * decay_factor(27.0, 27.1);
    assert!((one.risk_score - expected).abs() < 1e-9);
}

#[test]
fn audio_only_events_do_not_decay_or_raise_risk() {
    let first = apply_event(None, &worked_example(), t0(), &cfg()).state;
    let mut s = first.clone();
    for i in 1..=100 {
        let chunk = ev(json!({"event_type": "audio_chunk"}));
        s = apply_event(Some(&s), &chunk, t0() + Duration::milliseconds(200 * i), &cfg()).state;
    }
    assert_eq!(s.risk_score, first.risk_score);
    assert_eq!(s.risk_updated_at, first.risk_updated_at);
    assert_eq!(s.event_count, 101);
}

#[test]
fn keywords_match_on_word_boundaries() {
    let a = apply_event(None, &ev(json!({"text": "that is illegal and management knows"})), t0(), &cfg());
    assert!(a.alerts.is_empty());
    assert_eq!(a.state.risk_score, 0.0);
    let b = apply_event(None, &ev(json!({"text": "Call my LAWYER."})), t0(), &cfg());
    assert_eq!(types(&b), [AlertType::EscalationKeyword]);
    assert_eq!(b.alerts[0].severity, Severity::High);
}

#[test]
fn ended_call_is_not_revived_and_provider_is_kept() {
    let a = apply_event(None, &ev(json!({"provider": "genesys", "status": "active"})), t0(), &cfg()).state;
    let b = apply_event(Some(&a), &ev(json!({"status": "ended"})), t0(), &cfg()).state;
    let c = apply_event(Some(&b), &ev(json!({"status": "active", "event_type": "audio_chunk"})), t0(), &cfg()).state;
    assert_eq!(c.status, "ended");
    assert_eq!(c.provider, "genesys");
}

#[test]
fn terminal_status_damps_risk() {
    let a = apply_event(None, &worked_example(), t0(), &cfg()).state;
    let b = apply_event(Some(&a), &ev(json!({"status": "ended"})), t0(), &cfg()).state;
    assert!((b.risk_score - a.risk_score * 0.6).abs() < 1e-12);
}

#[test]
fn cooldown_is_per_call_and_type() {
    let neg = ev(json!({"sentiment": -0.5}));
    let a = apply_event(None, &neg, t0(), &cfg());
    assert_eq!(types(&a), [AlertType::NegativeSentiment]);
    assert_eq!(a.alerts[0].severity, Severity::Medium);
    let b = apply_event(Some(&a.state), &neg, t0() + Duration::seconds(74), &cfg());
    assert!(!types(&b).contains(&AlertType::NegativeSentiment));
    // another type is not blocked by this one's cooldown
    let c = apply_event(
        Some(&b.state),
        &ev(json!({"text": "complaint", "sentiment": -0.5})),
        t0() + Duration::seconds(74),
        &cfg(),
    );
    assert!(types(&c).contains(&AlertType::EscalationKeyword));
    let d = apply_event(Some(&c.state), &neg, t0() + Duration::seconds(75), &cfg());
    assert!(types(&d).contains(&AlertType::NegativeSentiment));
}

#[test]
fn dead_air_alerts_and_risk() {
    let a = apply_event(None, &ev(json!({"metrics": {"dead_air_seconds": 36}})), t0(), &cfg());
    assert_eq!(types(&a), [AlertType::DeadAir]);
    assert_eq!(a.alerts[0].severity, Severity::High);
    assert_eq!(a.alerts[0].message, "Extended dead air detected (36.0s).");
    assert!((a.state.risk_score - (0.25 + 0.16)).abs() < 1e-12);
}

/// An audio chunk carrying the listener's dead-air reading.
fn silent_chunk(dead_air: f64) -> NormalizedEvent {
    ev(json!({"event_type": "audio_chunk", "metadata": {"metrics": {"dead_air_seconds": dead_air}}}))
}

/// One silence of `seconds` read every 0.4 s (as AudioHook chunks carry it, server time moving along), after
/// `state`; returns the state then and every alert raised as (reading, type, severity).
fn silence(mut state: Option<CallState>, seconds: i64) -> (CallState, Vec<(f64, AlertType, Severity)>) {
    let start = state.as_ref().map_or(t0(), |s| s.updated_at);
    let mut raised = Vec::new();
    for i in 1..=seconds * 10 / 4 {
        let reading = (i * 4) as f64 / 10.0;
        let a = apply_event(state.as_ref(), &silent_chunk(reading), start + Duration::milliseconds(400 * i), &cfg());
        raised.extend(a.alerts.iter().map(|x| (reading, x.alert_type, x.severity)));
        state = Some(a.state);
    }
    (state.expect("at least one reading"), raised)
}

#[test]
fn a_silent_minute_raises_dead_air_medium_then_high_and_nothing_else() {
    let (s, raised) = silence(None, 60);
    let dead_air = |reading, severity| (reading, AlertType::DeadAir, severity);
    assert_eq!(raised, [dead_air(20.0, Severity::Medium), dead_air(35.2, Severity::High)]);
    assert!(s.risk_score < 0.5, "the silence counted once: {}", s.risk_score);
}

#[test]
fn dead_air_counts_once_per_silence() {
    // Growing readings of one silence add up to the seed's term for the longest (less decay), not once each.
    let (s, _) = silence(None, 30);
    assert!(s.risk_score > 0.1 && s.risk_score <= 0.2, "{}", s.risk_score);
    let repeat = apply_event(Some(&s), &silent_chunk(30.0), s.updated_at, &cfg()).state;
    assert_eq!(repeat.risk_score, s.risk_score, "the same reading again adds nothing");
    // A lower reading is a new silence: it counts again from nothing.
    let talk = apply_event(Some(&repeat), &silent_chunk(0.0), s.updated_at, &cfg()).state;
    let next = apply_event(Some(&talk), &silent_chunk(30.0), s.updated_at, &cfg()).state;
    assert!((next.risk_score - talk.risk_score - 0.2).abs() < 1e-9, "{} then {}", talk.risk_score, next.risk_score);
}

#[test]
fn only_a_more_severe_alert_passes_the_cooldown() {
    let neg = |x: f64| ev(json!({"sentiment": x}));
    let a = apply_event(None, &neg(-0.5), t0(), &cfg());
    assert_eq!(a.alerts[0].severity, Severity::Medium);
    let same = apply_event(Some(&a.state), &neg(-0.5), t0() + Duration::seconds(10), &cfg());
    assert!(!types(&same).contains(&AlertType::NegativeSentiment), "same severity: still cooling down");
    let worse = apply_event(Some(&same.state), &neg(-0.9), t0() + Duration::seconds(20), &cfg());
    let raised: Vec<_> = worse.alerts.iter().filter(|x| x.alert_type == AlertType::NegativeSentiment).collect();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].severity, Severity::High);
    // The high alert starts its own cooldown: a medium one after it, or another high, stays suppressed.
    let lower = apply_event(Some(&worse.state), &neg(-0.5), t0() + Duration::seconds(90), &cfg());
    assert!(!types(&lower).contains(&AlertType::NegativeSentiment));
    let high = apply_event(Some(&lower.state), &neg(-0.9), t0() + Duration::seconds(94), &cfg());
    assert!(!types(&high).contains(&AlertType::NegativeSentiment));
    let later = apply_event(Some(&high.state), &neg(-0.5), t0() + Duration::seconds(95), &cfg());
    assert!(types(&later).contains(&AlertType::NegativeSentiment), "the cooldown still ends");
}

#[test]
fn first_sentiment_seeds_the_ema() {
    let a = apply_event(None, &ev(json!({"event_type": "audio_chunk"})), t0(), &cfg()).state;
    let b = apply_event(Some(&a), &ev(json!({"sentiment": -0.8})), t0(), &cfg()).state;
    assert_eq!(b.sentiment_score, -0.8);
    let c = apply_event(Some(&b), &ev(json!({"sentiment": 0.2})), t0(), &cfg()).state;
    assert!((c.sentiment_score - (-0.8 * 0.72 + 0.2 * 0.28)).abs() < 1e-12);
}

#[test]
fn merged_call_metadata_is_bounded() {
    let mut s = apply_event(None, &ev(json!({"metadata": {"queue": "billing"}})), t0(), &cfg()).state;
    for i in 0..40 {
        let payload = json!({"metadata": {format!("k{i}"): "x".repeat(8000)}});
        s = apply_event(Some(&s), &ev(payload), t0(), &cfg()).state;
    }
    let size = serde_json::to_string(&s.metadata).unwrap().len();
    assert!(size <= MAX_CALL_METADATA_BYTES, "{size}");
    assert_eq!(s.metadata["queue"], "billing");
    assert!(s.metadata.contains_key("k0") && !s.metadata.contains_key("k39"));
    // An existing key can still be updated.
    s = apply_event(Some(&s), &ev(json!({"metadata": {"queue": "sales"}})), t0(), &cfg()).state;
    assert_eq!(s.metadata["queue"], "sales");
}

fn arb_event() -> impl Strategy<Value = (Value, i64)> {
    (
        proptest::option::of(-5.0f64..5.0),
        prop::sample::select(vec!["", "supervisor", "all good", "lawyer and refund now", "illegal"]),
        proptest::option::of(-10.0f64..500.0),
        prop::sample::select(vec!["", "active", "ended"]),
        0i64..600,
    )
        .prop_map(|(s, text, dead, status, dt)| {
            (json!({"sentiment": s, "text": text, "metrics": {"dead_air_seconds": dead}, "status": status}), dt)
        })
}

proptest! {
    #[test]
    fn risk_and_sentiment_stay_in_range(events in prop::collection::vec(arb_event(), 1..60)) {
        let mut state: Option<CallState> = None;
        let mut now = t0();
        for (payload, dt) in events {
            now += Duration::seconds(dt);
            let a = apply_event(state.as_ref(), &ev(payload), now, &cfg());
            prop_assert!((0.0..=1.0).contains(&a.state.risk_score));
            prop_assert!((-1.0..=1.0).contains(&a.state.sentiment_score));
            prop_assert!(a.alerts.len() <= 4);
            state = Some(a.state);
        }
    }
}

#[test]
fn risk_read_later_is_decayed_by_the_half_life() {
    let a = apply_event(None, &worked_example(), t0(), &cfg());
    let half_life = cfg().risk_half_life_seconds;
    let later = t0() + Duration::milliseconds((half_life * 1000.0) as i64);
    assert!((risk_at(&a.state, later, half_life) - a.state.risk_score / 2.0).abs() < 1e-9);
    assert_eq!(risk_at(&a.state, t0(), half_life), a.state.risk_score);
    assert_eq!(round_to(risk_at(&a.state, t0() + Duration::minutes(10), half_life), 2), 0.0);
}

#[test]
fn a_bare_chunk_after_the_cooldown_does_not_raise_high_risk_from_an_old_score() {
    let a = apply_event(None, &worked_example(), t0(), &cfg());
    let chunk = ev(json!({"event_type": "audio_chunk"}));
    // The stored score is still 0.74 (a bare chunk does not recompute it), but the risk now is not.
    let b = apply_event(Some(&a.state), &chunk, t0() + Duration::seconds(90), &cfg());
    assert!(b.alerts.is_empty(), "{:?}", types(&b));
}

#[test]
fn an_ended_call_starts_again_on_call_start_or_an_explicit_active_status() {
    let hot = apply_event(None, &worked_example(), t0(), &cfg()).state;
    let ended = apply_event(Some(&hot), &ev(json!({"status": "ended"})), t0() + Duration::seconds(1), &cfg()).state;
    let later = t0() + Duration::seconds(60);
    for restart in [json!({"event_type": "call_start"}), json!({"status": "active", "text": "hello again"})] {
        let again = apply_event(Some(&ended), &ev(restart.clone()), later, &cfg());
        let s = &again.state;
        assert_eq!((s.status.as_str(), s.risk_score, s.sentiment_samples), ("active", 0.0, 0), "{restart}");
        assert_eq!((s.created_at, s.event_count), (later, 1), "{restart}");
        assert!(s.last_alert_at.is_empty(), "cooldowns start afresh: {restart}");
        // The new generation alerts as a new call would, cooldowns of the old one notwithstanding.
        let hot_again = apply_event(Some(s), &worked_example(), later + Duration::seconds(1), &cfg());
        assert_eq!(types(&hot_again).len(), 3, "{restart}");
    }
    // Late audio and a late transcript without a status leave it ended.
    for late in [json!({"status": "active", "event_type": "audio_chunk"}), json!({"text": "late words"})] {
        assert_eq!(apply_event(Some(&ended), &ev(late.clone()), later, &cfg()).state.status, "ended", "{late}");
    }
}
