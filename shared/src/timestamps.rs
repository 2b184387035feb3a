//! Timestamps: one UTC type, one wire format, and the seed's lenient parsing of client timestamps.
//!
//! Everything is serialised as RFC 3339 UTC with microseconds and a `Z` (`2026-02-10T10:15:20.123456Z`):
//! fixed width, so it sorts as text in SQLite and DynamoDB, and unambiguous for browsers (the seed's
//! naive ISO strings were read as local time by JavaScript).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

pub type Timestamp = DateTime<Utc>;

/// Formats a timestamp in the one wire/storage format.
pub fn iso(ts: &Timestamp) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses the stored wire format (and any RFC 3339 string).
pub fn parse_iso(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// Reads a client timestamp as the seed did: a number is epoch seconds, a string is ISO-8601 (with `Z`,
/// an offset, or naive = UTC). Anything else, or anything unparsable, is `None` (the caller uses now).
pub fn parse_client_timestamp(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => n.as_f64().and_then(from_epoch_seconds),
        Value::String(s) => parse_text(s.trim()),
        _ => None,
    }
}

fn from_epoch_seconds(secs: f64) -> Option<Timestamp> {
    if !secs.is_finite() {
        return None;
    }
    let micros = (secs * 1e6).round();
    if micros.abs() > 8.0e18 {
        return None;
    }
    Utc.timestamp_micros(micros as i64).single()
}

fn parse_text(s: &str) -> Option<Timestamp> {
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(naive.and_utc());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_format_is_fixed_width_utc() {
        let t = Utc.with_ymd_and_hms(2026, 2, 10, 10, 15, 20).unwrap();
        assert_eq!(iso(&t), "2026-02-10T10:15:20.000000Z");
        assert_eq!(parse_iso(&iso(&t)), Some(t));
    }

    #[test]
    fn client_timestamps_follow_the_seed() {
        let t = Utc.with_ymd_and_hms(2026, 2, 10, 10, 15, 20).unwrap();
        assert_eq!(parse_client_timestamp(&json!(t.timestamp())), Some(t));
        assert_eq!(parse_client_timestamp(&json!("2026-02-10T10:15:20Z")), Some(t));
        assert_eq!(parse_client_timestamp(&json!("2026-02-10T10:15:20")), Some(t));
        assert_eq!(parse_client_timestamp(&json!("2026-02-10T12:15:20+02:00")), Some(t));
        assert_eq!(parse_client_timestamp(&json!("2026-02-10 10:15:20")), Some(t));
        assert_eq!(parse_client_timestamp(&json!("yesterday")), None);
        assert_eq!(parse_client_timestamp(&json!({"a": 1})), None);
        assert_eq!(parse_client_timestamp(&json!(1e300)), None);
    }
}
