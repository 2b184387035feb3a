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

/// Parses the stored wire format (and any RFC 3339 string). Also reads the extended years (`+57000-…`) that
/// `iso` writes for a time past 9999, which older releases stored from epoch-millisecond input: a stored row
/// must never make its call unreadable.
pub fn parse_iso(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).or_else(|_| text.parse()).ok()
}

/// The times a client may send, as microseconds since the Unix epoch: from the epoch to the end of year
/// 9999 (`9999-12-31T23:59:59.999999Z`, what four-digit ISO years and every store's text ordering hold).
/// Compared as integers, so checking an event's time parses nothing.
const CLIENT_MICROS: std::ops::RangeInclusive<i64> = 0..=253_402_300_799_999_999;

/// Why a client timestamp was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientTimeError {
    #[error("is not a time (an ISO 8601 string, or epoch seconds, milliseconds or microseconds)")]
    Unreadable,
    #[error("is outside the years 1970 to 9999")]
    OutOfRange,
}

/// Reads a client timestamp. A number is epoch time whose unit is told by its magnitude: below 10^11
/// seconds (until the year 5138), below 10^14 milliseconds (JavaScript's `Date.now()`), below 10^17
/// microseconds, else nanoseconds. A string is ISO 8601 (with `Z`, an offset, or naive = UTC), or such a
/// number as text. `null` and `""` are absent (`Ok(None)`: the caller uses now, as the seed did). A time
/// outside 1970–9999 is refused: the seed stored `Date.now()` as the year 57,000, which then broke the call.
pub fn read_client_timestamp(value: &Value) -> Result<Option<Timestamp>, ClientTimeError> {
    let at = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64().map(from_epoch_number).ok_or(ClientTimeError::Unreadable)?,
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(x) => from_epoch_number(x),
            Err(_) => parse_text(s.trim()).ok_or(ClientTimeError::Unreadable)?,
        },
        _ => return Err(ClientTimeError::Unreadable),
    };
    in_client_range(at).map(Some)
}

/// `read_client_timestamp` for sources that cannot be answered with an error (Genesys notifications):
/// anything unreadable or out of range is `None`, and the caller uses now.
pub fn parse_client_timestamp(value: &Value) -> Option<Timestamp> {
    read_client_timestamp(value).ok().flatten()
}

fn in_client_range(at: Timestamp) -> Result<Timestamp, ClientTimeError> {
    CLIENT_MICROS.contains(&at.timestamp_micros()).then_some(at).ok_or(ClientTimeError::OutOfRange)
}

/// Epoch time in the unit its magnitude implies, as microseconds; non-finite or huge values land far
/// outside the accepted range rather than wrapping.
fn from_epoch_number(x: f64) -> Timestamp {
    let micros_per_unit = match x.abs() {
        a if a < 1e11 => 1e6,
        a if a < 1e14 => 1e3,
        a if a < 1e17 => 1.0,
        _ => 1e-3,
    };
    let micros = (x * micros_per_unit).round();
    let bounded = if micros.is_finite() { micros.clamp(-8.0e18, 8.0e18) } else { 8.0e18 };
    Utc.timestamp_micros(bounded as i64).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
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

    #[test]
    fn epoch_numbers_are_read_by_magnitude() {
        let t = Utc.with_ymd_and_hms(2025, 12, 1, 11, 53, 20).unwrap();
        for n in [json!(1_764_590_000), json!(1_764_590_000_000_i64), json!(1_764_590_000_000_000_i64)] {
            assert_eq!(read_client_timestamp(&n), Ok(Some(t)), "{n}");
        }
        assert_eq!(read_client_timestamp(&json!(1_764_590_000_000_000_000_i64)), Ok(Some(t)), "nanoseconds");
        assert_eq!(read_client_timestamp(&json!("1764590000000")), Ok(Some(t)), "a number as text");
        let with_millis = Utc.timestamp_millis_opt(1_764_590_000_123).unwrap();
        assert_eq!(read_client_timestamp(&json!(1_764_590_000.123)), Ok(Some(with_millis)));
        assert_eq!(read_client_timestamp(&json!(1_764_590_000_123_i64)), Ok(Some(with_millis)));
    }

    #[test]
    fn times_outside_1970_to_9999_are_refused() {
        for bad in [
            json!(-1),
            json!(-1_764_590_000_000_i64),
            json!(1e300),
            json!(-1e300),
            json!("1969-12-31T23:59:59Z"),
            json!(1e25),
        ] {
            assert_eq!(read_client_timestamp(&bad), Err(ClientTimeError::OutOfRange), "{bad}");
        }
        assert_eq!(read_client_timestamp(&json!(0)), Ok(Some(DateTime::UNIX_EPOCH)));
        assert!(read_client_timestamp(&json!("9999-12-31T23:59:59Z")).unwrap().is_some());
        let last = parse_iso("9999-12-31T23:59:59.999999Z").unwrap();
        assert_eq!(*CLIENT_MICROS.end(), last.timestamp_micros(), "the bound is the end of year 9999");
        assert_eq!(read_client_timestamp(&json!(iso(&last))), Ok(Some(last)));
        let after = last + chrono::Duration::microseconds(1);
        assert_eq!(in_client_range(after), Err(ClientTimeError::OutOfRange));
        assert_eq!(
            in_client_range(DateTime::UNIX_EPOCH - chrono::Duration::microseconds(1)),
            Err(ClientTimeError::OutOfRange)
        );
        for bad in [json!("yesterday"), json!("10000-01-01T00:00:00Z"), json!({"a": 1}), json!([1]), json!(true)] {
            assert_eq!(read_client_timestamp(&bad), Err(ClientTimeError::Unreadable), "{bad}");
        }
        for absent in [json!(null), json!(""), json!("  ")] {
            assert_eq!(read_client_timestamp(&absent), Ok(None));
        }
    }

    #[test]
    fn every_time_iso_writes_reads_back() {
        // Older releases stored client times past 9999; their rows must stay readable.
        for t in [
            DateTime::<Utc>::MIN_UTC,
            DateTime::UNIX_EPOCH,
            DateTime::<Utc>::MAX_UTC,
            Utc.timestamp_millis_opt(1_764_590_000_000_000).unwrap(),
        ] {
            let t = Utc.timestamp_micros(t.timestamp_micros()).unwrap();
            assert_eq!(parse_iso(&iso(&t)), Some(t), "{}", iso(&t));
        }
    }

    proptest::proptest! {
        #[test]
        fn any_number_is_a_time_in_range_or_a_refusal(x in proptest::num::f64::ANY) {
            if let Ok(Some(t)) = read_client_timestamp(&json!(x)) {
                proptest::prop_assert!(iso(&t).len() == 27, "{}", iso(&t));
            }
        }

        #[test]
        fn any_stored_time_reads_back(micros in -8_000_000_000_000_000_000_i64..8_000_000_000_000_000_000_i64) {
            let t = Utc.timestamp_micros(micros).unwrap();
            proptest::prop_assert_eq!(parse_iso(&iso(&t)), Some(t));
        }
    }
}
