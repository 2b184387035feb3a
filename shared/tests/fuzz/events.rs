//! `POST /api/realtime/events` bodies: `parse_object` then `normalize_event`.

use crate::grammar::{event, plausible_event};
use crate::harness::*;
use proptest::prelude::*;
use shared::realtime::normalize::{MAX_METADATA_BYTES, MAX_SHORT_FIELD, normalize_event, parse_object, serialised_len};
use shared::values::ids;

/// The text bound the service's default configuration uses.
const MAX_TEXT: usize = 2_000;

/// What every accepted event must satisfy, whatever the client sent.
pub fn check_normalized(body: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
    let Ok(obj) = parse_object(body) else { return Ok(()) };
    let Ok(e) = normalize_event(&obj, MAX_TEXT) else { return Ok(()) };
    check(ids::validate_call_id(&e.call_id).is_ok(), || format!("accepted call id {:?}", e.call_id))?;
    check(e.text.chars().count() <= MAX_TEXT, || "text over its bound".into())?;
    for (name, v) in [("speaker", &e.speaker), ("status", &e.status), ("agent_id", &e.agent_id)] {
        check(v.chars().count() <= MAX_SHORT_FIELD, || format!("{name} over its bound"))?;
    }
    check(e.sentiment.is_none_or(|s| (-1.0..=1.0).contains(&s)), || format!("sentiment {:?}", e.sentiment))?;
    check(e.confidence.is_none_or(|c| (0.0..=1.0).contains(&c)), || format!("confidence {:?}", e.confidence))?;
    check(serialised_len(&e.metadata, MAX_METADATA_BYTES).is_some(), || "metadata over its bound".into())?;
    check(e.event_id.as_ref().is_none_or(|id| ids::validate_event_id(id).is_ok()), || "bad event id kept".into())
}

#[test]
fn event_body_arbitrary_bytes() {
    fuzz("event_body_arbitrary_bytes", prop_oneof![bytes(512), deep_json()], |body| check_normalized(&body));
}

#[test]
fn event_body_from_the_grammar() {
    let body = mutated(prop_oneof![event(), plausible_event()].prop_map(|v| serde_json::to_vec(&v).unwrap()));
    fuzz("event_body_from_the_grammar", body, |body| check_normalized(&body));
}
