//! Inputs built from each parser's grammar, shared by `shared`'s targets and the `functions` targets that send
//! the same payloads through the HTTP handlers.

use crate::harness::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use shared::audio::wav;
use shared::realtime::audio_chunk::{MAX_CHUNK_METADATA_BYTES, SAMPLE_RATES};
use shared::realtime::live_audio::AudioFormat;
use shared::realtime::normalize::MAX_METADATA_BYTES;

/// Every key the event normaliser reads.
pub const EVENT_KEYS: &[&str] = &[
    "call_id",
    "conversation_id",
    "session_id",
    "provider",
    "event_type",
    "speaker",
    "text",
    "transcript",
    "sentiment",
    "confidence",
    "status",
    "agent_id",
    "customer_id",
    "timestamp",
    "occurred_at",
    "metadata",
    "metrics",
    "event_id",
];

/// A call id from the charset, near its bounds, or one that breaks them.
pub fn call_id() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => "[A-Za-z0-9][A-Za-z0-9._:@+-]{0,40}".prop_map(Value::String),
        1 => (120usize..140).prop_map(|n| json!("c".repeat(n))),
        1 => prop::sample::select(vec!["../x", ".hidden", "a/b", "a b", "é", " c1 ", ""]).prop_map(|s| json!(s)),
        1 => any::<i64>().prop_map(|n| json!(n)),
    ]
    .boxed()
}

/// A client time: epoch seconds, milliseconds or microseconds, ISO text, or something that is none of them.
pub fn client_time() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (0i64..4_000_000_000).prop_map(|s| json!(s)),
        3 => (0i64..4_000_000_000_000).prop_map(|ms| json!(ms)),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<f64>().prop_map(|x| json!(x)),
        2 => prop::sample::select(vec![
            "2025-11-30T12:00:00Z", "2025-11-30T12:00:00.123456+05:30", "9999-12-31T23:59:59.999999Z",
            "+275760-09-13T00:00:00Z", "1969-12-31T23:59:59Z", "2025-02-30T00:00:00Z", "soon", "1e30",
        ])
        .prop_map(|s| json!(s)),
        1 => json_scalar(),
    ]
    .boxed()
}

fn short_text() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => ".{0,20}".prop_map(Value::String),
        1 => (120usize..140).prop_map(|n| json!("ü".repeat(n))),
        1 => json_scalar(),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![4 => (-2.0f64..2.0).prop_map(|x| json!(x)), 1 => json_scalar()].boxed()
}

/// An event as a provider sends it, with fields dropped and some replaced by the wrong type.
pub fn event() -> impl Strategy<Value = Value> {
    let text = prop_oneof![4 => ".{0,80}".prop_map(Value::String), 1 => (1_990usize..2_010).prop_map(|n| json!("x".repeat(n)))];
    let metadata = prop_oneof![
        4 => json_value(EVENT_KEYS, 3),
        1 => (MAX_METADATA_BYTES - 40..MAX_METADATA_BYTES + 40).prop_map(|n| json!({"blob": "m".repeat(n)})),
    ];
    object_from(
        vec![
            ("call_id", call_id()),
            ("conversation_id", call_id()),
            ("provider", short_text()),
            (
                "event_type",
                prop::sample::select(vec!["transcript", "status", "Call_Ended", ""]).prop_map(|s| json!(s)).boxed(),
            ),
            ("speaker", short_text()),
            ("text", text.boxed()),
            ("sentiment", number()),
            ("confidence", number()),
            ("status", short_text()),
            ("timestamp", client_time()),
            ("metadata", metadata.boxed()),
            ("metrics", json_value(&["dead_air_seconds"], 2).boxed()),
            (
                "event_id",
                prop_oneof![4 => ".{1,30}", 1 => (195usize..205).prop_map(|n| "e".repeat(n))]
                    .prop_map(Value::String)
                    .boxed(),
            ),
        ],
        EVENT_KEYS,
    )
    .prop_map(Value::Object)
}

const CHUNK_KEYS: &[&str] = &[
    "audio_b64",
    "chunk_b64",
    "audio_chunk_b64",
    "audio_chunk",
    "audio_encoding",
    "encoding",
    "sample_rate",
    "channels",
    "chunk_id",
    "sequence_id",
    "transcript_segments",
    "segments",
];

/// Audio as a client encodes it: PCM or a WAV of it, in base64 that may be wrapped, unpadded or damaged.
fn audio_b64() -> BoxedStrategy<Value> {
    let pcm = bytes(2_048);
    let rate = prop::sample::select(SAMPLE_RATES.to_vec());
    let wav = (pcm.clone(), rate, 1u16..=2).prop_map(|(pcm, sample_rate, channels)| {
        wav::encode(&AudioFormat { sample_rate, channels, sample_width: 2 }, &pcm)
    });
    let raw = prop_oneof![pcm, mutated(wav)];
    let text = (raw, 0usize..4, any::<bool>()).prop_map(|(raw, wrap, unpadded)| {
        let mut text = STANDARD.encode(raw);
        if unpadded {
            text = text.trim_end_matches('=').to_string();
        }
        if wrap > 0 {
            // MIME-style line breaks, as some clients send.
            let width = 19 * wrap;
            let lines: Vec<String> =
                text.as_bytes().chunks(width).map(|l| String::from_utf8_lossy(l).into_owned()).collect();
            text = lines.join("\r\n");
        }
        json!(text)
    });
    prop_oneof![6 => text, 1 => ".{0,64}".prop_map(Value::String), 1 => json_scalar()].boxed()
}

/// A transcript segment; its metadata may be large, as the bound on what a chunk copies is under test.
fn segment() -> impl Strategy<Value = Value> {
    let metadata = prop_oneof![
        4 => json_value(EVENT_KEYS, 2),
        1 => (0usize..MAX_METADATA_BYTES + 64).prop_map(|n| json!({"blob": "s".repeat(n)})),
    ];
    object_from(
        vec![
            ("text", ".{0,40}".prop_map(Value::String).boxed()),
            ("speaker", prop::sample::select(vec!["agent", "customer"]).prop_map(|s| json!(s)).boxed()),
            ("sentiment", prop_oneof![4 => (-1.0f64..1.0).prop_map(|x| json!(x)), 1 => json_scalar()].boxed()),
            ("timestamp", client_time()),
            ("event_id", ".{0,40}".prop_map(Value::String).boxed()),
            ("metadata", metadata.boxed()),
        ],
        EVENT_KEYS,
    )
    .prop_map(Value::Object)
}

/// A chunk as a provider sends it, with fields dropped and some replaced by the wrong type.
pub fn chunk() -> impl Strategy<Value = Map<String, Value>> {
    let encoding = prop_oneof![
        4 => prop::sample::select(vec!["", "pcm16", "pcm_s16le", "L16", "wav", "audio/x-wav", "mp3"]).prop_map(|s| json!(s)),
        1 => json_scalar(),
    ];
    let rate = prop_oneof![4 => prop::sample::select(SAMPLE_RATES.to_vec()).prop_map(|r| json!(r)), 1 => json_scalar()];
    let chunk_id = prop_oneof![
        4 => "[A-Za-z0-9][A-Za-z0-9._:@+-]{0,20}".prop_map(Value::String),
        // Near the bound, with the whitespace a client may pad it with.
        1 => (120usize..130, 0usize..80).prop_map(|(n, pad)| json!(format!("{}{}{}", " ".repeat(pad), "k".repeat(n), " ".repeat(pad)))),
        1 => json_scalar(),
    ];
    let metadata = prop_oneof![
        4 => json_value(EVENT_KEYS, 2),
        // Around the chunk's own bound, and up to the event's, which it once stopped short of.
        1 => (MAX_CHUNK_METADATA_BYTES - 300..MAX_METADATA_BYTES + 8).prop_map(|n| json!({"blob": "c".repeat(n)})),
    ];
    object_from(
        vec![
            ("call_id", call_id()),
            ("audio_b64", audio_b64()),
            ("audio_encoding", encoding.boxed()),
            ("sample_rate", rate.boxed()),
            ("channels", prop_oneof![4 => (0u16..4).prop_map(|c| json!(c)), 1 => json_scalar()].boxed()),
            ("chunk_id", chunk_id.boxed()),
            ("timestamp", client_time()),
            ("speaker", ".{0,20}".prop_map(Value::String).boxed()),
            ("metadata", metadata.boxed()),
            ("metrics", json_value(&["dead_air_seconds"], 1).boxed()),
            ("transcript_segments", prop::collection::vec(segment(), 0..4).prop_map(Value::Array).boxed()),
        ],
        CHUNK_KEYS,
    )
}

/// The upload form's text fields.
pub const FORM_FIELDS: &[&str] =
    &["language_code", "stt_model", "with_diarization", "num_speakers", "prompt", "prompt_pack", "glossary_terms"];

/// A value for a form field: a plausible one, arbitrary text, or text at and past the length bounds.
pub fn form_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["en-IN", "whisper-1", "true", "on", "0", "2", "20", "21", "-1", "4294967296", "sales", " SALES "])
            .prop_map(str::to_string),
        1 => ".{0,40}",
        1 => (0usize..9_000, prop::sample::select(vec!["a", "é", "\u{0}", " "])).prop_map(|(n, c)| c.repeat(n)),
    ]
}

/// An event every check lets through: a few calls (so their state builds up across cases), what callers say
/// (escalation words included), scores in range, a recent time.
pub fn plausible_event() -> impl Strategy<Value = Value> {
    let said = prop::sample::select(vec![
        "hello, how can I help",
        "I want to cancel my account",
        "let me speak to your supervisor",
        "this is",
        "I'm going to sue you",
        "thank you, that solved it",
        "",
    ]);
    (0u8..4, said, -1.0f64..=1.0, 0.0f64..=1.0, 0u32..100_000, prop::option::of("[a-z0-9-]{1,20}"), any::<bool>())
        .prop_map(|(call, text, sentiment, confidence, ms, event_id, ended)| {
            json!({"call_id": format!("fuzz-call-{call}"), "provider": "fuzz", "speaker": "customer", "text": text,
                "sentiment": sentiment, "confidence": confidence, "status": if ended { "ended" } else { "active" },
                "timestamp": 1_796_032_800_000u64 + u64::from(ms), "event_id": event_id,
                "metadata": {"metrics": {"dead_air_seconds": ms % 30}}})
        })
}

/// A chunk every check lets through: 16-bit PCM or a WAV of it, for a few calls.
pub fn plausible_chunk() -> impl Strategy<Value = Value> {
    let pcm = prop::collection::vec(any::<u8>(), 2..2_000).prop_map(|mut b| {
        b.truncate(b.len() / 2 * 2);
        b
    });
    (0u8..4, pcm, any::<bool>(), prop::option::of("[a-z0-9]{1,12}"), prop::option::of(".{1,30}")).prop_map(
        |(call, pcm, as_wav, chunk_id, text)| {
            let format = AudioFormat { sample_rate: 8_000, channels: 1, sample_width: 2 };
            let (audio, encoding) = if as_wav { (wav::encode(&format, &pcm), "wav") } else { (pcm, "pcm16") };
            json!({"call_id": format!("fuzz-call-{call}"), "audio_b64": STANDARD.encode(audio), "audio_encoding": encoding,
                "sample_rate": 8_000, "chunk_id": chunk_id, "text": text, "speaker": "agent"})
        },
    )
}
