//! `POST /api/realtime/audio/chunk` bodies: `parse_chunk` (base64, encodings, WAV, bounds), then the events
//! the chunk carries (`derive_events`) through the event normaliser, as the service runs them.

use crate::grammar::{chunk, plausible_chunk};
use crate::harness::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};
use shared::realtime::audio_chunk::{SAMPLE_RATES, derive_events, parse_chunk};
use shared::realtime::live_audio::LiveHead;
use shared::realtime::normalize::{PayloadError, normalize_event, parse_object};

/// The service's defaults: 8 kHz mono when a PCM chunk names no format; chunks up to 64 KiB.
const DEFAULT_RATE: u32 = 8_000;
const MAX_BYTES: usize = 64 * 1024;
const WINDOW_SECONDS: u32 = 120;

/// The window state after appending `chunk` to an empty window: what the service passes to `derive_events`.
fn window_meta(chunk: &shared::realtime::audio_chunk::AudioChunk) -> Value {
    let head = LiveHead::new(&chunk.call_id);
    let now = chrono::Utc::now();
    match head.plan(chunk.chunk_id.as_deref(), chunk.format, chunk.pcm.len(), chunk.occurred_at.unwrap_or(now)) {
        Ok(entry) => head.commit(entry, chunk.format, &[], None, WINDOW_SECONDS, now).head.meta(WINDOW_SECONDS),
        Err(_) => head.meta(WINDOW_SECONDS),
    }
}

/// A chunk `parse_chunk` accepts is within its bounds, and the events it carries are not refused for what
/// `parse_chunk` promises to have bounded already: the copied short fields, the metadata, the derived ids.
fn check_chunk(obj: &Map<String, Value>) -> Result<(), TestCaseError> {
    let chunk = match parse_chunk(obj, None, DEFAULT_RATE, 1, MAX_BYTES) {
        Ok(chunk) => chunk,
        Err(_) => return Ok(()),
    };
    check(chunk.pcm.len() <= MAX_BYTES, || format!("{} bytes of PCM accepted", chunk.pcm.len()))?;
    check(SAMPLE_RATES.contains(&chunk.format.sample_rate), || format!("rate {}", chunk.format.sample_rate))?;
    check((1..=2).contains(&chunk.format.channels), || format!("{} channels", chunk.format.channels))?;
    let mut metrics = Map::new();
    metrics.insert("dead_air_seconds".into(), json!(1.5));
    metrics.insert("dead_air_source".into(), json!("live_audio"));
    for event in derive_events(obj, chunk.chunk_id.as_deref(), &window_meta(&chunk), &metrics) {
        // A segment's own `event_id` is the client's to get right (a bad one is a warning, like a bad
        // sentiment); the `chunk:<id>:<n>` ids are derived, and must be valid whenever the chunk is.
        let derived_id = event.get("event_id").and_then(Value::as_str).is_some_and(|id| id.starts_with("chunk:"));
        match normalize_event(&event, 2_000) {
            Err(e @ PayloadError::Id(_)) if derived_id => {
                return Err(TestCaseError::fail(format!("a derived event of an accepted chunk was refused: {e}")));
            }
            Err(e @ PayloadError::TooBig { .. }) => {
                return Err(TestCaseError::fail(format!("a derived event of an accepted chunk was refused: {e}")));
            }
            // A segment's own fields are the client's to get right too; what came from the chunk is promised.
            Err(PayloadError::TooLong { field, .. }) if field != "text" && event.get(field) == obj.get(field) => {
                return Err(TestCaseError::fail(format!("a derived event's {field} was refused as too long")));
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn audio_chunk_from_the_grammar() {
    let chunks = prop_oneof![chunk(), plausible_chunk().prop_map(|v| v.as_object().cloned().unwrap_or_default())];
    fuzz("audio_chunk_from_the_grammar", chunks, |obj| check_chunk(&obj));
}

#[test]
fn audio_chunk_mutated_json() {
    let body = mutated(chunk().prop_map(|obj| serde_json::to_vec(&obj).unwrap()));
    fuzz("audio_chunk_mutated_json", body, |body| match parse_object(&body) {
        Ok(obj) => check_chunk(&obj),
        Err(_) => Ok(()),
    });
}

/// Base64 as Python's lenient `b64decode` reads it: any text is decoded or refused, and a valid encoding
/// wrapped in whitespace and line breaks, with or without padding, gives back exactly the bytes encoded.
#[test]
fn base64_audio() {
    let input = (prop_oneof![bytes(256).prop_map(|b| STANDARD.encode(b)), ".{0,200}"], mutation(), any::<bool>());
    fuzz("base64_audio", input, |(text, damage, damaged)| {
        let text = if damaged { String::from_utf8_lossy(&damage.apply(text.into_bytes())).into_owned() } else { text };
        let obj = json!({"call_id": "c", "audio_b64": text, "audio_encoding": "pcm16"});
        let parsed = parse_chunk(obj.as_object().unwrap(), None, DEFAULT_RATE, 1, MAX_BYTES);
        let kept: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')).collect();
        match STANDARD.decode(&kept) {
            Ok(expected) if expected.len() >= 2 => {
                let pcm = parsed.map(|c| c.pcm).map_err(|e| TestCaseError::fail(format!("{e} for valid base64")))?;
                check(pcm == expected, || "decoded bytes differ from the encoded ones".into())?;
            }
            _ => {}
        }
        Ok(())
    });
}
