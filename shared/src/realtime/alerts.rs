//! Supervisor alert rules: the same types, severities, thresholds and messages,
//! with a per-(call, type) cooldown read from the call's state instead of a query. Unlike the seed, an
//! alert more severe than the last one of its type passes the cooldown: a silence reaching 35 s raises the
//! high dead-air alert 15 s after the medium one instead of being swallowed by it.

use crate::realtime::config::RealtimeConfig;
use crate::realtime::domain::{AlertType, CallState, NewAlert, Severity};
use crate::values::timestamps::Timestamp;
use serde_json::{Map, Value, json};

/// Dead air at or above this many seconds raises a medium alert.
pub const DEAD_AIR_MEDIUM_SECONDS: f64 = 20.0;
/// Dead air at or above this many seconds raises a high alert.
pub const DEAD_AIR_HIGH_SECONDS: f64 = 35.0;
/// Keywords that make an escalation alert high rather than medium.
const HIGH_KEYWORDS: [&str; 3] = ["supervisor", "lawyer", "legal"];

/// What one event observed, as the rules need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals<'a> {
    pub sentiment: Option<f64>,
    pub keyword_hits: Vec<&'a str>,
    pub dead_air_seconds: Option<f64>,
    /// The stored id of the triggering event is not known before commit; its idempotency key is.
    pub event_id: Option<&'a str>,
}

impl Signals<'_> {
    /// True when the event carries no sentiment, keyword or dead air.
    pub fn is_empty(&self) -> bool {
        self.sentiment.is_none() && self.keyword_hits.is_empty() && self.dead_air_seconds.is_none()
    }
}

/// Reads dead air from `metadata` then `metadata.metrics` (`dead_air_seconds`, `silence_seconds`,
/// `silence_duration`, first parsable wins), floored at 0.
pub fn dead_air_of(metadata: &Map<String, Value>) -> Option<f64> {
    const KEYS: [&str; 3] = ["dead_air_seconds", "silence_seconds", "silence_duration"];
    let metrics = metadata.get("metrics").and_then(Value::as_object);
    [Some(metadata), metrics].into_iter().flatten().find_map(|m| {
        KEYS.iter().find_map(|k| {
            let v = m.get(*k)?;
            let x = v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?;
            x.is_finite().then_some(x.max(0.0))
        })
    })
}

/// True when an alert of `kind` at `severity` may be raised now: none of that type was raised for this call
/// within the cooldown, or the last one was less severe. A state that does not know the last severity
/// (stored before it was kept) stays in cooldown, as before.
fn may_raise(state: &CallState, kind: AlertType, severity: Severity, now: Timestamp, cfg: &RealtimeConfig) -> bool {
    let cooldown = cfg.alert_cooldown_seconds.max(5.0);
    let cooling = state.last_alert_at.get(&kind).is_some_and(|last| (now - *last).as_seconds_f64() < cooldown);
    !cooling || state.last_alert_severity.get(&kind).is_some_and(|last| severity > *last)
}

fn alert(kind: AlertType, severity: Severity, message: String, metadata: Value, now: Timestamp) -> NewAlert {
    NewAlert {
        alert_type: kind,
        severity,
        message,
        created_at: now,
        metadata: metadata.as_object().cloned().unwrap_or_default(),
    }
}

/// Rules A (negative sentiment), B (escalation keyword) and C (dead air), in that order, after cooldown.
pub fn rule_alerts(state: &CallState, s: &Signals, now: Timestamp, cfg: &RealtimeConfig) -> Vec<NewAlert> {
    let threshold = cfg.negative_sentiment_threshold;
    let mut out = Vec::new();
    if let Some(sent) = s.sentiment.filter(|v| *v <= threshold) {
        let severity = if sent <= threshold - 0.2 { Severity::High } else { Severity::Medium };
        out.push(alert(
            AlertType::NegativeSentiment,
            severity,
            format!("Negative sentiment detected ({sent:.2}) in live call."),
            json!({"sentiment": sent, "threshold": threshold, "source_event_id": s.event_id}),
            now,
        ));
    }
    if !s.keyword_hits.is_empty() {
        let high = s.keyword_hits.iter().any(|k| HIGH_KEYWORDS.contains(k));
        let shown: Vec<&str> = s.keyword_hits.iter().take(4).copied().collect();
        out.push(alert(
            AlertType::EscalationKeyword,
            if high { Severity::High } else { Severity::Medium },
            format!("Escalation keywords detected: {}", shown.join(", ")),
            json!({"keywords": s.keyword_hits, "source_event_id": s.event_id}),
            now,
        ));
    }
    if let Some(d) = s.dead_air_seconds.filter(|d| *d >= DEAD_AIR_MEDIUM_SECONDS) {
        out.push(alert(
            AlertType::DeadAir,
            if d >= DEAD_AIR_HIGH_SECONDS { Severity::High } else { Severity::Medium },
            format!("Extended dead air detected ({d:.1}s)."),
            json!({"dead_air_seconds": d, "source_event_id": s.event_id}),
            now,
        ));
    }
    out.retain(|a| may_raise(state, a.alert_type, a.severity, now, cfg));
    out
}

/// Rule D: the call's (unrounded) risk at `now` crossed the threshold.
pub fn high_risk_alert(
    state: &CallState,
    risk: f64,
    event_id: Option<&str>,
    now: Timestamp,
    cfg: &RealtimeConfig,
) -> Option<NewAlert> {
    let allowed = may_raise(state, AlertType::HighRiskScore, Severity::Critical, now, cfg);
    (risk >= cfg.high_risk_threshold && allowed).then(|| {
        alert(
            AlertType::HighRiskScore,
            Severity::Critical,
            format!("Live risk score crossed threshold ({risk:.2})."),
            json!({"risk_score": crate::realtime::domain::round_to(risk, 2), "threshold": cfg.high_risk_threshold, "source_event_id": event_id}),
            now,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_air_lookup_order_and_parsing() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(dead_air_of(&m(json!({}))), None);
        assert_eq!(dead_air_of(&m(json!({"silence_seconds": "21.5"}))), Some(21.5));
        assert_eq!(dead_air_of(&m(json!({"dead_air_seconds": -4}))), Some(0.0));
        assert_eq!(dead_air_of(&m(json!({"metrics": {"silence_duration": 30}}))), Some(30.0));
        assert_eq!(dead_air_of(&m(json!({"dead_air_seconds": "x", "silence_seconds": 5}))), Some(5.0));
        assert_eq!(dead_air_of(&m(json!({"dead_air_seconds": 1, "metrics": {"dead_air_seconds": 50}}))), Some(1.0));
    }
}
