//! Transcript imports (a `transcript.json` uploaded with a call): `parse_transcript`, and its round trip
//! through `transcript::to_json`.

use crate::harness::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use shared::batch::parse_transcript;
use shared::speech::transcript::{self, MAX_ENTRY_CHARS};

const KEYS: &[&str] = &[
    "entries",
    "diarized_transcript",
    "speaker_id",
    "speaker",
    "start_time_seconds",
    "start_time",
    "start",
    "end_time_seconds",
    "end_time",
    "end",
    "transcript",
    "text",
    "confidence",
];

fn time() -> BoxedStrategy<Value> {
    prop_oneof![(0.0f64..4_000.0).prop_map(|x| json!(x)), json_scalar()].boxed()
}

/// An entry in one of the seed's spellings.
fn entry() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        ".{0,60}".prop_map(Value::String),
        (MAX_ENTRY_CHARS - 2..MAX_ENTRY_CHARS + 2).prop_map(|n| json!(" ".repeat(n)))
    ];
    let speaker = prop_oneof![
        ".{0,10}".prop_map(Value::String),
        (0i64..3).prop_map(|n| json!(n)),
        ".{60,80}".prop_map(Value::String)
    ];
    object_from(
        vec![
            ("speaker_id", speaker.boxed()),
            ("start_time_seconds", time()),
            ("end", time()),
            ("transcript", text.boxed()),
            ("confidence", prop_oneof![(0.0f64..=1.0).prop_map(|c| json!(c)), json_scalar()].boxed()),
        ],
        KEYS,
    )
    .prop_map(Value::Object)
}

/// A whole transcript in each shape the import reads.
fn document() -> impl Strategy<Value = Value> {
    let entries = prop::collection::vec(entry(), 0..8).prop_map(Value::Array).boxed();
    let shaped = prop_oneof![
        entries.clone().prop_map(|e| json!({"entries": e})),
        entries.clone().prop_map(|e| json!({"diarized_transcript": {"entries": e}})),
        entries,
    ];
    json_edited(shaped, KEYS)
}

/// Imported entries are sane (finite, ordered times; bounded text) and survive `transcript.json` unchanged.
fn check_import(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(entries) = parse_transcript(bytes) else { return Ok(()) };
    for e in &entries {
        let times = e.start_time_seconds.is_finite()
            && e.start_time_seconds >= 0.0
            && e.end_time_seconds >= e.start_time_seconds;
        check(times, || format!("times {} to {}", e.start_time_seconds, e.end_time_seconds))?;
        check(e.transcript.chars().count() <= MAX_ENTRY_CHARS, || "text over its bound".into())?;
    }
    let written = transcript::to_json(&entries, chrono::Utc::now());
    let again =
        transcript::import(&written).map_err(|e| TestCaseError::fail(format!("own transcript.json refused: {e}")))?;
    check(again == entries, || "transcript.json read back differently".into())?;
    let _ = transcript::to_text(&entries);
    Ok(())
}

#[test]
fn transcript_import_from_the_grammar() {
    let bytes = mutated(document().prop_map(|d| serde_json::to_vec(&d).unwrap()));
    fuzz("transcript_import_from_the_grammar", bytes, |b| check_import(&b));
}

#[test]
fn transcript_import_arbitrary_bytes() {
    fuzz("transcript_import_arbitrary_bytes", prop_oneof![bytes(512), deep_json()], |b| check_import(&b));
}
