//! AudioHook protocol messages through the session state machine (`Session::on_text`, `on_binary`), in
//! sessions scripted as Genesys runs them (open, audio, pause, resume, discard, update, ping, close), then
//! damaged: a message's structure edited, its bytes mutated, frames dropped, repeated or reordered.

use crate::harness::*;
use listener::audiohook::session::{NULL_UUID, Output, Session, Settings, State};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

const SESSION: &str = "4a5e1b1f-6c1e-4a53-9c1a-3b7e1e0b9d11";
const ORG: &str = "d7934305-0972-4844-938e-9060eef73d05";

const KEYS: &[&str] = &[
    "version",
    "id",
    "type",
    "seq",
    "serverseq",
    "clientseq",
    "position",
    "parameters",
    "organizationId",
    "conversationId",
    "participant",
    "media",
    "format",
    "rate",
    "channels",
    "discarded",
    "language",
    "reason",
    "code",
    "message",
    "supportedLanguages",
];

#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

/// Media offers, usable and not.
fn offers() -> impl Strategy<Value = Value> {
    let offer = prop_oneof![
        Just(json!({"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000})),
        Just(json!({"type": "audio", "format": "PCMU", "channels": ["external"], "rate": 8000})),
        Just(json!({"type": "audio", "format": "L16", "channels": ["internal", "external"], "rate": 8000})),
        Just(json!({"type": "audio", "format": "L16", "channels": ["external", "external"], "rate": 8000})),
        Just(json!({"type": "audio", "format": "opus", "channels": ["external"], "rate": 48000})),
        json_value(KEYS, 2),
    ];
    prop::collection::vec(offer, 0..4).prop_map(Value::Array)
}

/// One client message's type and parameters, after `open`.
fn action() -> impl Strategy<Value = Result<(&'static str, Value), usize>> {
    let duration = prop_oneof![
        (0u32..100_000).prop_map(|ms| format!("PT{}.{:03}S", ms / 1000, ms % 1000)),
        prop::sample::select(vec!["PT0S", "PT99999999999999999999S", "PT.5S", "PT1.S", "P1D", "PT-1S", ""])
            .prop_map(str::to_string),
    ];
    prop_oneof![
        4 => (1usize..400).prop_map(Err), // audio: this many 4-byte groups (whole samples for every media)
        1 => Just(Ok(("ping", json!({})))),
        1 => Just(Ok(("paused", json!({})))),
        1 => duration.clone().prop_map(|d| Ok(("resumed", json!({"start": "PT0S", "discarded": d})))),
        1 => duration.prop_map(|d| Ok(("discarded", json!({"start": "PT0S", "discarded": d})))),
        1 => ".{0,12}".prop_map(|l| Ok(("update", json!({"language": l})))),
        1 => (any::<i64>(), ".{0,20}").prop_map(|(code, message)| Ok(("error", json!({"code": code, "message": message})))),
        1 => Just(Ok(("close", json!({"reason": "end"})))),
    ]
}

/// A session as Genesys scripts it, every message numbered right.
fn script() -> impl Strategy<Value = Vec<Frame>> {
    let conversation =
        prop_oneof![Just(NULL_UUID.to_string()), Just("090eaa2f-72fa-480a-83e0-8667ff89c0ec".to_string())];
    let open = (conversation, offers(), any::<bool>()).prop_map(|(conversation, media, languages)| {
        json!({"organizationId": ORG, "conversationId": conversation, "language": "en-US",
            "participant": {"id": "3b8f7c4d-5e6f-4a1b-9c2d-0e1f2a3b4c5d", "ani": "+1555", "dnis": "+1666"},
            "media": media, "supportedLanguages": languages})
    });
    (open, prop::collection::vec((action(), any::<u8>()), 0..12)).prop_map(|(open, actions)| {
        let mut seq = 0;
        let mut text = |kind: &str, parameters: Value| {
            seq += 1;
            let m = json!({"version": "2", "id": SESSION, "type": kind, "seq": seq, "serverseq": 0,
                "position": "PT1.5S", "parameters": parameters});
            Frame::Text(m.to_string())
        };
        let mut frames = vec![text("open", open)];
        for (a, fill) in actions {
            frames.push(match a {
                Ok((kind, parameters)) => text(kind, parameters),
                Err(groups) => Frame::Binary(vec![fill; groups * 4]),
            });
        }
        frames
    })
}

/// One way to damage a script.
#[derive(Debug, Clone)]
enum Damage {
    /// Edit a text frame's JSON structure (remove or replace a node).
    Edit(usize, usize, Option<Value>),
    /// Mutate a frame's bytes.
    Bytes(usize, Mutation),
    Drop(usize),
    Repeat(usize),
    Swap(usize, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let replacement = prop_oneof![Just(None), json_value(KEYS, 2).prop_map(Some)];
    prop_oneof![
        (any::<usize>(), any::<usize>(), replacement).prop_map(|(f, n, r)| Damage::Edit(f, n, r)),
        (any::<usize>(), mutation()).prop_map(|(f, m)| Damage::Bytes(f, m)),
        any::<usize>().prop_map(Damage::Drop),
        any::<usize>().prop_map(Damage::Repeat),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Damage::Swap(a, b)),
    ]
}

fn apply(mut frames: Vec<Frame>, d: &Damage) -> Vec<Frame> {
    let n = frames.len();
    match d {
        Damage::Edit(f, node, replacement) => {
            if let Frame::Text(t) = &frames[f % n] {
                let mut v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
                json_edit(&mut v, *node, replacement.clone());
                frames[f % n] = Frame::Text(v.to_string());
            }
        }
        Damage::Bytes(f, m) => {
            frames[f % n] = match &frames[f % n] {
                Frame::Text(t) => Frame::Text(String::from_utf8_lossy(&m.apply(t.clone().into_bytes())).into_owned()),
                Frame::Binary(b) => Frame::Binary(m.apply(b.clone())),
            }
        }
        Damage::Drop(f) if n > 1 => {
            frames.remove(f % n);
        }
        Damage::Repeat(f) => frames.insert(f % n, frames[f % n].clone()),
        Damage::Swap(a, b) => frames.swap(a % n, b % n),
        Damage::Drop(_) => {}
    }
    frames
}

/// The session's promises, whatever the client sends: every message it sends is a well-formed AudioHook
/// message numbered one after the last, nothing happens after `Closed`, a session that closes has answered
/// `closed`, at most one `open` is taken, and audio moves forward on the timeline in whole frames.
fn check_session(frames: &[Frame]) -> Result<(), TestCaseError> {
    let mut session =
        Session::new(SESSION, ORG, Settings { supported_languages: vec!["en-US".into()], ..Settings::default() });
    let (mut seq, mut closed, mut opened, mut timeline) = (0u64, false, 0, 0u64);
    for frame in frames {
        let was = session.state();
        let outputs = match frame {
            Frame::Text(t) => session.on_text(t),
            Frame::Binary(b) => session.on_binary(b),
        };
        check(!closed || outputs.is_empty(), || format!("{outputs:?} after the session closed"))?;
        let mut answered_closed = false;
        for out in &outputs {
            match out {
                Output::Send(text) => {
                    let m: Value =
                        serde_json::from_str(text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
                    seq += 1;
                    let well_formed = m["version"] == "2"
                        && m["id"] == SESSION
                        && m["seq"] == seq
                        && m["parameters"].is_object()
                        && m["type"].is_string();
                    check(well_formed, || format!("sent {text} as message {seq}"))?;
                    answered_closed |= m["type"] == "closed";
                }
                Output::Closed { .. } => closed = true,
                Output::Opened(_) => opened += 1,
                Output::Audio { offset_samples, frames } => {
                    check(*offset_samples >= timeline, || format!("audio at {offset_samples}, before {timeline}"))?;
                    check(frames.samples.len() % frames.channels == 0, || "audio not in whole frames".into())?;
                    timeline = offset_samples + frames.len() as u64;
                }
                _ => {}
            }
        }
        if session.state() == State::Closed && was != State::Closed {
            check(answered_closed && closed, || format!("closed without answering `closed`: {outputs:?}"))?;
        }
        check(opened <= 1, || "a second open was taken".into())?;
    }
    Ok(())
}

#[test]
fn audiohook_session_scripts() {
    let damaged = (script(), prop::collection::vec(damage(), 0..4))
        .prop_map(|(frames, damage)| damage.iter().fold(frames, apply));
    fuzz("audiohook_session_scripts", damaged, |frames| check_session(&frames));
}

/// Arbitrary text frames (and huge ones) to a session at each point of its life.
#[test]
fn audiohook_message_text() {
    let text = prop_oneof![
        ".{0,200}",
        bytes(300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (65_000usize..66_000).prop_map(|n| format!("{{\"pad\":\"{}\"}}", "é".repeat(n / 2))),
    ];
    fuzz("audiohook_message_text", (script(), any::<usize>(), text), |(mut frames, at, text)| {
        let at = at % (frames.len() + 1);
        frames.insert(at, Frame::Text(text));
        check_session(&frames)
    });
}
