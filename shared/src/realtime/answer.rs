//! Ingest answers and snapshots as documents serialised straight to the response: the small fields as a
//! `serde_json::Map`, the call's 40 events and 30 alerts written from the rows themselves. Built into a
//! `serde_json::Value` first, as before, every answer to an event allocated and freed about a thousand keys
//! and values only to write them out once; under ingest load that was the largest share of the time.
//!
//! The bytes are the same as through a `Value`: every key of the document comes out in sorted order, as a
//! `Map` (sorted, no `preserve_order`) writes them, and the rows serialise their keys sorted too (`domain.rs`).

use crate::realtime::domain::{Alert, EventRecord};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A large part of a document, kept as rows until it is written.
#[derive(Debug, Clone)]
pub enum Part {
    Events(Vec<EventRecord>),
    Alerts(Vec<Alert>),
    Doc(Box<Doc>),
}

impl Serialize for Part {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Events(events) => events.serialize(s),
            Part::Alerts(alerts) => alerts.serialize(s),
            Part::Doc(doc) => doc.serialize(s),
        }
    }
}

/// A JSON object: `fields` plus `parts` (at most one per key, none also in `fields`).
#[derive(Debug, Clone, Default)]
pub struct Doc {
    fields: Map<String, Value>,
    /// Sorted by key.
    parts: Vec<(&'static str, Part)>,
}

impl Doc {
    /// A document of `fields` (anything but an object is no field).
    pub fn new(fields: Value) -> Self {
        let fields = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Self { fields, parts: Vec::new() }
    }

    /// Sets a small field (replacing a part of that name).
    pub fn set(&mut self, key: &'static str, value: Value) {
        self.parts.retain(|(k, _)| *k != key);
        self.fields.insert(key.to_string(), value);
    }

    /// Sets a part (replacing a field of that name).
    pub fn set_part(&mut self, key: &'static str, part: Part) {
        self.fields.remove(key);
        self.parts.retain(|(k, _)| *k != key);
        let at = self.parts.partition_point(|(k, _)| *k < key);
        self.parts.insert(at, (key, part));
    }

    /// A small field, if set.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// The document as a `Value` (for a caller that edits it further or compares it).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Doc {
    /// Fields and parts merged in key order.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.fields.len() + self.parts.len()))?;
        let mut parts = self.parts.iter().peekable();
        for (key, value) in &self.fields {
            while let Some((name, part)) = parts.next_if(|(name, _)| *name < key.as_str()) {
                m.serialize_entry(name, part)?;
            }
            m.serialize_entry(key, value)?;
        }
        for (name, part) in parts {
            m.serialize_entry(name, part)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::domain::NewEvent;
    use crate::values::timestamps::parse_iso;
    use serde_json::json;

    fn event(id: i64) -> EventRecord {
        let event = NewEvent {
            occurred_at: parse_iso("2026-02-10T10:00:00Z").unwrap(),
            event_type: "transcript".into(),
            speaker: Some("agent".into()),
            text: format!("line {id}"),
            sentiment: Some(-0.25),
            confidence: None,
            metadata: serde_json::from_value(json!({"z": 1, "a": [true]})).unwrap(),
        };
        EventRecord { id, event }
    }

    /// The same bytes as the `Value` the answer used to be built as, parts among fields in key order.
    #[test]
    fn writes_what_a_value_would() {
        let mut inner = Doc::new(json!({"call_id": "c", "status": "active", "agent_id": null}));
        inner.set_part("events", Part::Events(vec![event(1), event(2)]));
        inner.set_part("alerts", Part::Alerts(Vec::new()));
        let mut outer = Doc::new(json!({"ok": true, "risk_score": 0.5, "alerts": []}));
        outer.set_part("snapshot", Part::Doc(Box::new(inner.clone())));
        outer.set("duplicate", json!(true));

        let mut expected = json!({"call_id": "c", "status": "active", "agent_id": null, "alerts": []});
        expected["events"] = serde_json::to_value(vec![event(1), event(2)]).unwrap();
        let expected = json!({"ok": true, "risk_score": 0.5, "alerts": [], "snapshot": expected, "duplicate": true});
        assert_eq!(serde_json::to_string(&outer).unwrap(), expected.to_string());
        assert_eq!(outer.to_value(), expected);
        assert_eq!(outer.field("duplicate"), Some(&json!(true)));

        // A field set over a part replaces it, and the other way round.
        inner.set("events", json!([]));
        inner.set_part("status", Part::Alerts(Vec::new()));
        let text = serde_json::to_string(&inner).unwrap();
        assert_eq!(text, r#"{"agent_id":null,"alerts":[],"call_id":"c","events":[],"status":[]}"#);
    }
}
