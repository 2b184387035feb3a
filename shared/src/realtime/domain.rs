//! Realtime domain types: the call's state, its events and alerts, and their wire shapes (docs/api.md).

use crate::values::timestamps::{Timestamp, iso};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Statuses after which a call is over: risk is damped and later events do not revive it.
pub const TERMINAL_STATUSES: [&str; 3] = ["ended", "completed", "closed"];

pub fn is_terminal(status: &str) -> bool {
    TERMINAL_STATUSES.contains(&status)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    NegativeSentiment,
    EscalationKeyword,
    DeadAir,
    HighRiskScore,
}

impl AlertType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NegativeSentiment => "negative_sentiment",
            Self::EscalationKeyword => "escalation_keyword",
            Self::DeadAir => "dead_air",
            Self::HighRiskScore => "high_risk_score",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::NegativeSentiment, Self::EscalationKeyword, Self::DeadAir, Self::HighRiskScore]
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Medium, Self::High, Self::Critical].into_iter().find(|s| s.as_str() == text)
    }
}

/// The stored state of one live call. Scores are kept unrounded; they are rounded only on output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallState {
    pub call_id: String,
    pub provider: String,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub agent_id: Option<String>,
    pub customer_id: Option<String>,
    pub last_speaker: Option<String>,
    pub last_text: String,
    pub sentiment_score: f64,
    /// How many events carried a sentiment (the first one seeds the EMA).
    pub sentiment_samples: u64,
    pub risk_score: f64,
    /// When `risk_score` was last recomputed; decay runs from here.
    pub risk_updated_at: Option<Timestamp>,
    pub metadata: Map<String, Value>,
    /// Last alert creation time per type, for cooldowns (acknowledged alerts still count, as in the seed).
    pub last_alert_at: BTreeMap<AlertType, Timestamp>,
    /// Severity of the last alert per type: a more severe one passes the cooldown (dead air turning high
    /// 15 s after the medium alert). Absent from states stored before it existed, hence the default.
    #[serde(default)]
    pub last_alert_severity: BTreeMap<AlertType, Severity>,
    /// The last dead-air reading of the current silence, already counted in risk: producers repeat the
    /// growing reading with every chunk, and a silence must raise risk once, not once per chunk.
    #[serde(default)]
    pub dead_air_counted_seconds: f64,
    pub event_count: u64,
}

/// An event about to be stored (no id yet). Serde derives are the storage form, not the wire form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub occurred_at: Timestamp,
    pub event_type: String,
    pub speaker: Option<String>,
    pub text: String,
    pub sentiment: Option<f64>,
    pub confidence: Option<f64>,
    pub metadata: Map<String, Value>,
}

/// A stored event; serialises as the seed's Event shape.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub event: NewEvent,
}

/// The keys in the order a JSON object (a `serde_json::Map`, sorted) has always written them, so an answer
/// serialised straight from the record is the same bytes as one built through a `Value`.
impl Serialize for EventRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = &self.event;
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("confidence", &e.confidence)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("metadata", &e.metadata)?;
        m.serialize_entry("occurred_at", &iso(&e.occurred_at))?;
        m.serialize_entry("sentiment", &e.sentiment)?;
        m.serialize_entry("speaker", e.speaker.as_deref().unwrap_or(""))?;
        m.serialize_entry("text", &e.text)?;
        m.serialize_entry("type", &e.event_type)?;
        m.end()
    }
}

/// An alert about to be stored (no id yet). Serde derives are the storage form, not the wire form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    pub alert_type: AlertType,
    pub severity: Severity,
    pub message: String,
    pub created_at: Timestamp,
    pub metadata: Map<String, Value>,
}

impl NewAlert {
    /// Records the stored id of the event that raised the alert (the seed's `metadata.event_id`);
    /// store adapters call this once the event row has its id.
    pub fn link_event(&mut self, event_id: i64) {
        self.metadata.insert("event_id".into(), Value::from(event_id));
    }
}

/// A stored alert; serialises as the seed's Alert shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: i64,
    pub call_id: String,
    pub alert: NewAlert,
    pub acknowledged_at: Option<Timestamp>,
}

/// Keys in sorted order, as for `EventRecord`.
impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = &self.alert;
        let mut m = s.serialize_map(Some(9))?;
        m.serialize_entry("acknowledged", &self.acknowledged_at.is_some())?;
        m.serialize_entry("acknowledged_at", &self.acknowledged_at.as_ref().map(iso))?;
        m.serialize_entry("call_id", &self.call_id)?;
        m.serialize_entry("created_at", &iso(&a.created_at))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("message", &a.message)?;
        m.serialize_entry("metadata", &a.metadata)?;
        m.serialize_entry("severity", a.severity.as_str())?;
        m.serialize_entry("type", a.alert_type.as_str())?;
        m.end()
    }
}

/// The order every store lists a call's events in: oldest first by time as stored (to the microsecond), then
/// id. Shared so that rows merged in memory (a cache, an ingest's answer) come out as a fresh read does.
pub fn event_order(a: &EventRecord, b: &EventRecord) -> std::cmp::Ordering {
    (a.event.occurred_at.timestamp_micros(), a.id).cmp(&(b.event.occurred_at.timestamp_micros(), b.id))
}

/// The order every store lists a call's alerts in: newest first by creation (to the microsecond), then id.
pub fn alert_order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    (b.alert.created_at.timestamp_micros(), b.id).cmp(&(a.alert.created_at.timestamp_micros(), a.id))
}

/// Rounds for output: risk to 2 decimals, sentiment to 3 (the seed's precision).
pub fn round_to(value: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (value * p).round() / p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire shapes, byte for byte as the seed (through a sorted `Value`) wrote them, whether serialised
    /// straight to text or into a `Value` first.
    #[test]
    fn events_and_alerts_serialise_to_the_same_bytes_either_way() {
        let at = crate::values::timestamps::parse_iso("2026-02-10T10:00:05Z").unwrap();
        let metadata: Map<String, Value> = serde_json::from_str(r#"{"z":1,"a":{"y":2,"b":3}}"#).unwrap();
        let event = EventRecord {
            id: 7,
            event: NewEvent {
                occurred_at: at,
                event_type: "transcript".into(),
                speaker: None,
                text: "héllo \"x\"".into(),
                sentiment: Some(-0.25),
                confidence: None,
                metadata: metadata.clone(),
            },
        };
        let alert = Alert {
            id: 9,
            call_id: "c1".into(),
            alert: NewAlert {
                alert_type: AlertType::EscalationKeyword,
                severity: Severity::High,
                message: "m".into(),
                created_at: at,
                metadata,
            },
            acknowledged_at: Some(at),
        };
        let meta = r#"{"a":{"b":3,"y":2},"z":1}"#;
        let event_text = format!(
            r#"{{"confidence":null,"id":7,"metadata":{meta},"occurred_at":"2026-02-10T10:00:05.000000Z","sentiment":-0.25,"speaker":"","text":"héllo \"x\"","type":"transcript"}}"#
        );
        let alert_text = format!(
            r#"{{"acknowledged":true,"acknowledged_at":"2026-02-10T10:00:05.000000Z","call_id":"c1","created_at":"2026-02-10T10:00:05.000000Z","id":9,"message":"m","metadata":{meta},"severity":"high","type":"escalation_keyword"}}"#
        );
        assert_eq!(serde_json::to_string(&event).unwrap(), event_text);
        assert_eq!(serde_json::to_value(&event).unwrap().to_string(), event_text);
        assert_eq!(serde_json::to_string(&alert).unwrap(), alert_text);
        assert_eq!(serde_json::to_value(&alert).unwrap().to_string(), alert_text);
    }

    #[test]
    fn a_call_state_stored_before_severities_and_dead_air_were_kept_still_loads() {
        let stored = serde_json::json!({
            "call_id": "c1", "provider": "genesys", "status": "active",
            "created_at": "2026-02-10T10:00:00Z", "updated_at": "2026-02-10T10:00:05Z",
            "agent_id": null, "customer_id": null, "last_speaker": null, "last_text": "",
            "sentiment_score": 0.0, "sentiment_samples": 0, "risk_score": 0.1, "risk_updated_at": null,
            "metadata": {}, "last_alert_at": {"dead_air": "2026-02-10T10:00:05Z"}, "event_count": 3,
        });
        let state: CallState = serde_json::from_value(stored).unwrap();
        assert!(state.last_alert_severity.is_empty());
        assert_eq!(state.dead_air_counted_seconds, 0.0);
        assert_eq!(state.last_alert_at.len(), 1);
    }
}
