//! Identifier validation. Call and chunk ids end up in storage keys and file names, so only a safe
//! charset is accepted (no `/`, `\`, whitespace or leading dot: no path traversal, no key collisions).

use thiserror::Error;

/// Longest call id accepted (the seed's column width).
pub const MAX_CALL_ID_LEN: usize = 128;
/// Longest chunk id accepted.
pub const MAX_CHUNK_ID_LEN: usize = 128;
/// Longest idempotency key (`event_id`) accepted.
pub const MAX_EVENT_ID_LEN: usize = 200;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdError {
    #[error("Invalid {field}: must be 1-{max} characters of A-Z a-z 0-9 . _ - : @ + and not start with '.'")]
    Invalid { field: &'static str, max: usize },
}

fn is_safe_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@' | '+')
}

fn validate(field: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    let ok = !value.is_empty() && value.len() <= max && !value.starts_with('.') && value.chars().all(is_safe_char);
    if ok { Ok(()) } else { Err(IdError::Invalid { field, max }) }
}

/// Accepts a call id usable as a storage key.
pub fn validate_call_id(value: &str) -> Result<(), IdError> {
    validate("call_id", value, MAX_CALL_ID_LEN)
}

/// Accepts a chunk id usable inside a blob key.
pub fn validate_chunk_id(value: &str) -> Result<(), IdError> {
    validate("chunk_id", value, MAX_CHUNK_ID_LEN)
}

/// Event ids are only stored as opaque keys, so any printable text of bounded length (in characters, as the
/// OpenAPI document's `maxLength` counts) is fine.
pub fn validate_event_id(value: &str) -> Result<(), IdError> {
    if value.is_empty() || value.chars().count() > MAX_EVENT_ID_LEN || value.chars().any(char::is_control) {
        return Err(IdError::Invalid { field: "event_id", max: MAX_EVENT_ID_LEN });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_provider_ids() {
        for id in ["abc", "CA1234567890abcdef", "9f1c2d3e-aaaa-bbbb-cccc-123456789012", "tenant:call@1+x"] {
            assert_eq!(validate_call_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn rejects_path_like_and_oversized_ids() {
        let long = "a".repeat(MAX_CALL_ID_LEN + 1);
        for id in ["", ".", "..", "../etc", "a/b", "a\\b", "a b", ".hidden", long.as_str(), "é"] {
            assert!(validate_call_id(id).is_err(), "{id:?}");
            assert!(validate_chunk_id(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn event_ids_are_opaque_but_bounded() {
        assert!(validate_event_id("genesys/v2.conversations/abc#17").is_ok());
        assert!(validate_event_id("").is_err());
        assert!(validate_event_id("a\nb").is_err());
        assert!(validate_event_id(&"x".repeat(MAX_EVENT_ID_LEN + 1)).is_err());
    }
}
