//! `POST /api/realtime/events` and `POST /api/realtime/audio/chunk` with bodies from the grammar, damaged,
//! and arbitrary, into one data folder, so calls build up state across cases as live calls do.

use crate::app::{App, post};
use crate::grammar::{EVENT_KEYS, chunk, event, plausible_chunk, plausible_event};
use crate::harness::*;
use proptest::prelude::*;
use serde_json::Value;

fn content_type() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["application/json", "application/json; charset=utf-8", "text/plain", ""])
}

#[test]
fn http_realtime_event() {
    let app = App::start("http_realtime_event");
    let body = prop_oneof![
        3 => plausible_event().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        3 => json_edited(event(), EVENT_KEYS).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => mutated(event().prop_map(|v| serde_json::to_vec(&v).unwrap())),
        1 => bytes(512),
        1 => deep_json(),
    ];
    fuzz("http_realtime_event", (body, content_type()), |(body, ct)| {
        app.answers(post("/api/realtime/events", false, ct, body)).map(drop)
    });
}

#[test]
fn http_audio_chunk() {
    let app = App::start("http_audio_chunk");
    let body = prop_oneof![
        3 => plausible_chunk().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        3 => json_edited(chunk().prop_map(Value::Object), EVENT_KEYS).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => mutated(chunk().prop_map(|v| serde_json::to_vec(&v).unwrap())),
        1 => bytes(512),
    ];
    fuzz("http_audio_chunk", (body, content_type()), |(body, ct)| {
        app.answers(post("/api/realtime/audio/chunk", false, ct, body)).map(drop)
    });
}
