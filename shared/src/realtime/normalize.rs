//! Normalisation of the seed's event payload: aliases, defaults and trimming kept;
//! NaN/∞ rejected, sentiment and confidence clamped, ids validated, strings bounded, wrong types refused.

use crate::values::ids::{self, IdError};
use crate::values::timestamps::{ClientTimeError, Timestamp, read_client_timestamp};
use serde_json::{Map, Value};
use thiserror::Error;

/// Longest short string field (provider, speaker, status, agent/customer ids, event type).
pub const MAX_SHORT_FIELD: usize = 128;
/// Largest `metadata` (with `metrics`) of one event, serialised.
pub const MAX_METADATA_BYTES: usize = 32 * 1024;

#[derive(Debug, Error, PartialEq)]
pub enum PayloadError {
    #[error("Invalid JSON body")]
    InvalidJson,
    #[error("JSON payload must be an object")]
    NotObject,
    #[error("Missing call_id")]
    MissingCallId,
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("{0} must be a string")]
    NotString(&'static str),
    #[error("{0} must be a finite number")]
    NotFinite(&'static str),
    #[error("{0} must be a number")]
    NotNumber(&'static str),
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is larger than {max} bytes")]
    TooBig { field: &'static str, max: usize },
    #[error("{field} {reason}")]
    BadTime { field: &'static str, reason: ClientTimeError },
}

/// One event after normalisation, before it meets the call's state.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedEvent {
    pub call_id: String,
    /// `None` when the payload omitted it: the call keeps its provider (the seed reset it to `generic`).
    pub provider: Option<String>,
    pub event_type: String,
    pub speaker: String,
    pub text: String,
    /// Clamped to [-1, 1].
    pub sentiment: Option<f64>,
    /// Clamped to [0, 1].
    pub confidence: Option<f64>,
    /// Lower-cased; empty means "leave the status unchanged".
    pub status: String,
    pub agent_id: String,
    pub customer_id: String,
    pub occurred_at: Option<Timestamp>,
    pub metadata: Map<String, Value>,
    /// Optional idempotency key: a repeat is acknowledged and not applied twice.
    pub event_id: Option<String>,
}

/// Parses a request body into a JSON object; an empty body is `{}` (as in the seed).
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PayloadError::NotObject),
        Err(_) => Err(PayloadError::InvalidJson),
    }
}

/// JSON truthiness, as Python's `or` chain saw it.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A form field or query flag as the seed read it: `1`, `true`, `yes` or `on`, in any case, trimmed.
pub fn flag(text: &str) -> bool {
    matches!(text.trim().to_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// The first truthy value among `keys`.
pub fn first<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    first_named(obj, keys).map(|(_, v)| v)
}

/// The first truthy value among `keys`, with its key (to name the field a client sent).
pub fn first_named<'a, 'k>(obj: &'a Map<String, Value>, keys: &[&'k str]) -> Option<(&'k str, &'a Value)> {
    keys.iter().filter_map(|k| obj.get(*k).map(|v| (*k, v))).find(|(_, v)| truthy(v))
}

/// The length of `value` serialised as JSON, or `None` when it is longer than `max`. Nothing is allocated and
/// counting stops at `max`, so measuring megabytes of a client's JSON costs no more than `max` bytes of work.
pub fn serialised_len(value: &impl serde::Serialize, max: usize) -> Option<usize> {
    struct Budget {
        used: usize,
        max: usize,
    }
    impl std::io::Write for Budget {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.used = self.used.saturating_add(buf.len());
            if self.used > self.max { Err(std::io::Error::other("over budget")) } else { Ok(buf.len()) }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut budget = Budget { used: 0, max };
    serde_json::to_writer(&mut budget, value).ok().map(|()| budget.used)
}

/// A string field: strings and numbers are accepted (numbers as text), null is absent, other types are errors.
/// `max` bounds the characters as sent, before trimming, as the OpenAPI document's `maxLength` does.
pub fn text_of(v: Option<&Value>, field: &'static str, max: usize) -> Result<String, PayloadError> {
    let number;
    let s = match v {
        None | Some(Value::Null) => return Ok(String::new()),
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Number(n)) => {
            number = n.to_string();
            number.as_str()
        }
        Some(_) => return Err(PayloadError::NotString(field)),
    };
    if s.chars().count() > max {
        return Err(PayloadError::TooLong { field, max });
    }
    Ok(s.trim().to_string())
}

/// A float field as the seed read it (`float(x)`, numeric strings allowed, unparsable text is absent),
/// but NaN/∞ and non-scalar types are errors.
pub fn number_of(v: Option<&Value>, field: &'static str) -> Result<Option<f64>, PayloadError> {
    let n = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => return Ok(None),
        },
        Some(Value::Bool(_) | Value::Array(_) | Value::Object(_)) => return Err(PayloadError::NotNumber(field)),
    };
    match n {
        Some(x) if x.is_finite() => Ok(Some(x)),
        _ => Err(PayloadError::NotFinite(field)),
    }
}

/// The call id from `call_id` / `conversation_id` / `session_id`, validated.
pub fn call_id_of(obj: &Map<String, Value>) -> Result<String, PayloadError> {
    let raw = first(obj, &["call_id", "conversation_id", "session_id"]).ok_or(PayloadError::MissingCallId)?;
    let id = text_of(Some(raw), "call_id", usize::MAX).map_err(|_| PayloadError::NotString("call_id"))?;
    if id.is_empty() {
        return Err(PayloadError::MissingCallId);
    }
    ids::validate_call_id(&id)?;
    Ok(id)
}

/// The client's time of an event or chunk, from the first truthy key among `keys` (`timestamp`, then
/// `occurred_at`); absent is `None` (the server's time is used). A value that is no time, or lies outside
/// 1970–9999, is refused naming its key.
pub fn time_of(obj: &Map<String, Value>, keys: &[&'static str]) -> Result<Option<Timestamp>, PayloadError> {
    match keys.iter().find(|k| obj.get(**k).is_some_and(truthy)) {
        None => Ok(None),
        Some(field) => read_client_timestamp(&obj[*field]).map_err(|reason| PayloadError::BadTime { field, reason }),
    }
}

/// `metadata` (object, else `{}`) with a top-level `metrics` object copied into `metadata.metrics`.
pub fn metadata_of(obj: &Map<String, Value>) -> Map<String, Value> {
    let mut metadata = match obj.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if let Some(Value::Object(metrics)) = obj.get("metrics") {
        metadata.insert("metrics".into(), Value::Object(metrics.clone()));
    }
    metadata
}

/// `metadata_of`, refused when larger than `MAX_METADATA_BYTES`.
fn bounded_metadata(obj: &Map<String, Value>) -> Result<Map<String, Value>, PayloadError> {
    let metadata = metadata_of(obj);
    if serialised_len(&metadata, MAX_METADATA_BYTES).is_none() {
        return Err(PayloadError::TooBig { field: "metadata", max: MAX_METADATA_BYTES });
    }
    Ok(metadata)
}

/// Optional `event_id`, validated.
pub fn event_id_of(obj: &Map<String, Value>) -> Result<Option<String>, PayloadError> {
    let id = text_of(obj.get("event_id"), "event_id", ids::MAX_EVENT_ID_LEN)?;
    if id.is_empty() {
        return Ok(None);
    }
    ids::validate_event_id(&id)?;
    Ok(Some(id))
}

/// Normalises one event object. `max_text` bounds `text`.
pub fn normalize_event(obj: &Map<String, Value>, max_text: usize) -> Result<NormalizedEvent, PayloadError> {
    let call_id = call_id_of(obj)?;
    let short = |key: &str, field: &'static str| text_of(obj.get(key), field, MAX_SHORT_FIELD);
    let provider = short("provider", "provider")?;
    let event_type = short("event_type", "event_type")?.to_lowercase();
    let text_value = first(obj, &["text", "transcript"]);
    Ok(NormalizedEvent {
        call_id,
        provider: Some(provider).filter(|p| !p.is_empty()),
        event_type: if event_type.is_empty() { "transcript".into() } else { event_type },
        speaker: short("speaker", "speaker")?.to_lowercase(),
        text: text_of(text_value, "text", max_text)?,
        sentiment: number_of(obj.get("sentiment"), "sentiment")?.map(|s| s.clamp(-1.0, 1.0)),
        confidence: number_of(obj.get("confidence"), "confidence")?.map(|c| c.clamp(0.0, 1.0)),
        status: short("status", "status")?.to_lowercase(),
        agent_id: short("agent_id", "agent_id")?,
        customer_id: short("customer_id", "customer_id")?,
        occurred_at: time_of(obj, &["timestamp", "occurred_at"])?,
        metadata: bounded_metadata(obj)?,
        event_id: event_id_of(obj)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Result<NormalizedEvent, PayloadError> {
        normalize_event(v.as_object().unwrap(), 100)
    }

    #[test]
    fn empty_and_bad_bodies() {
        assert_eq!(parse_object(b""), Ok(Map::new()));
        assert_eq!(parse_object(b"{nope"), Err(PayloadError::InvalidJson));
        assert_eq!(parse_object(b"\xff\xfe"), Err(PayloadError::InvalidJson));
        assert_eq!(parse_object(b"[1]"), Err(PayloadError::NotObject));
        assert_eq!(norm(json!({})).unwrap_err().to_string(), "Missing call_id");
    }

    #[test]
    fn aliases_and_defaults() {
        let e = norm(json!({"conversation_id": " c1 ", "transcript": " hi ", "speaker": "Agent",
            "sentiment": "-0.5", "timestamp": 1, "metrics": {"dead_air_seconds": 3}, "metadata": {"a": 1}}))
        .unwrap();
        assert_eq!(e.call_id, "c1");
        assert_eq!(e.text, "hi");
        assert_eq!(e.speaker, "agent");
        assert_eq!(e.event_type, "transcript");
        assert_eq!(e.provider, None);
        assert_eq!(e.sentiment, Some(-0.5));
        assert_eq!(e.status, "");
        assert_eq!(e.occurred_at.unwrap().timestamp(), 1);
        assert_eq!(e.metadata, json!({"a": 1, "metrics": {"dead_air_seconds": 3}}).as_object().unwrap().clone());
        // call_id wins over the aliases; a falsy call_id falls through to the next alias.
        assert_eq!(norm(json!({"call_id": "a", "session_id": "b"})).unwrap().call_id, "a");
        assert_eq!(norm(json!({"call_id": "", "session_id": "b"})).unwrap().call_id, "b");
        assert_eq!(norm(json!({"call_id": 42})).unwrap().call_id, "42");
    }

    #[test]
    fn numbers_are_finite_and_clamped() {
        let e = norm(json!({"call_id": "c", "sentiment": -3, "confidence": 7})).unwrap();
        assert_eq!((e.sentiment, e.confidence), (Some(-1.0), Some(1.0)));
        assert_eq!(norm(json!({"call_id": "c", "sentiment": "n/a"})).unwrap().sentiment, None);
        for bad in ["nan", "NaN", "inf", "-infinity"] {
            let err = norm(json!({"call_id": "c", "sentiment": bad})).unwrap_err();
            assert_eq!(err.to_string(), "sentiment must be a finite number", "{bad}");
        }
        assert_eq!(
            norm(json!({"call_id": "c", "confidence": [1]})).unwrap_err().to_string(),
            "confidence must be a number"
        );
    }

    #[test]
    fn wrong_types_ids_and_lengths() {
        assert_eq!(norm(json!({"call_id": "c", "speaker": {"x": 1}})).unwrap_err(), PayloadError::NotString("speaker"));
        assert!(matches!(norm(json!({"call_id": "../x"})).unwrap_err(), PayloadError::Id(_)));
        assert!(matches!(
            norm(json!({"call_id": "c", "text": "x".repeat(101)})).unwrap_err(),
            PayloadError::TooLong { .. }
        ));
        assert_eq!(norm(json!({"call_id": "c", "event_id": "e-1"})).unwrap().event_id.as_deref(), Some("e-1"));
        let big = json!({"call_id": "c", "metadata": {"blob": "x".repeat(MAX_METADATA_BYTES)}});
        assert_eq!(norm(big).unwrap_err().to_string(), "metadata is larger than 32768 bytes");
    }

    #[test]
    fn client_times_are_checked_and_named() {
        let at = |v: Value| norm(json!({"call_id": "c", "timestamp": v})).map(|e| e.occurred_at);
        let t = chrono::DateTime::from_timestamp(1_764_590_000, 0);
        assert_eq!(at(json!(1_764_590_000_000_i64)), Ok(t), "epoch milliseconds");
        assert_eq!(at(json!(1_764_590_000)), Ok(t), "epoch seconds");
        assert_eq!(at(json!(null)), Ok(None));
        assert_eq!(at(json!(-5)).unwrap_err().to_string(), "timestamp is outside the years 1970 to 9999");
        let e = norm(json!({"call_id": "c", "occurred_at": "soon"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "occurred_at is not a time (an ISO 8601 string, or epoch seconds, milliseconds or microseconds)"
        );
    }
}
