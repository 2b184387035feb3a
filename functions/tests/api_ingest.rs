//! Ingest endpoints over a real socket: happy paths and every error with its exact `detail`.

mod common;
#[path = "../../shared/tests/telephony/mod.rs"]
mod telephony;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{INGEST, SUPERVISOR, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

async fn raw_post(s: &TestServer, path: &str, body: Vec<u8>, token: Option<(&str, &str)>) -> (StatusCode, Value) {
    let mut req = s.http.post(s.url(path)).body(body);
    if let Some((k, v)) = token {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

fn detail(v: &Value) -> &str {
    v["detail"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn event_ingest_auth() {
    let s = TestServer::start().await;
    let body = || br#"{"call_id":"a1"}"#.to_vec();
    let bearer = format!("bearer {INGEST}");
    let sup = format!("Bearer {SUPERVISOR}");
    for token in [
        None,
        Some(("X-Cloud-Token", "wrong")),
        Some(("Authorization", "Bearer wrong")),
        Some(("Authorization", sup.as_str())),
    ] {
        let (status, v) = raw_post(&s, "/api/realtime/events", body(), token).await;
        assert_eq!((status, detail(&v)), (StatusCode::UNAUTHORIZED, "Unauthorized ingest token"), "{token:?}");
    }
    let (status, v) = raw_post(&s, "/api/realtime/events", body(), Some(("Authorization", bearer.as_str()))).await;
    assert_eq!(status, 200, "{v}");
    s.stop().await;
}

#[tokio::test]
async fn event_ingest_errors() {
    let s = TestServer::start().await;
    let tok = Some(("X-Cloud-Token", INGEST));
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"{nope".to_vec(), StatusCode::BAD_REQUEST, "Invalid JSON body"),
        (vec![0xff, 0xfe, 0x7b], StatusCode::BAD_REQUEST, "Invalid JSON body"),
        (b"[1]".to_vec(), StatusCode::BAD_REQUEST, "JSON payload must be an object"),
        (Vec::new(), StatusCode::BAD_REQUEST, "Missing call_id"),
        (
            br#"{"call_id":"c","sentiment":"nan"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "sentiment must be a finite number",
        ),
        (br#"{"call_id":"c","sentiment":{}}"#.to_vec(), StatusCode::BAD_REQUEST, "sentiment must be a number"),
        (br#"{"call_id":"c","speaker":[1]}"#.to_vec(), StatusCode::BAD_REQUEST, "speaker must be a string"),
        (
            json!({"call_id": "c", "text": "x".repeat(20_001)}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "text is longer than 20000 characters",
        ),
        (vec![b' '; 1024 * 1024 + 1], StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
        (
            json!({"call_id": "c", "metadata": {"blob": "x".repeat(40_000)}}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "metadata is larger than 32768 bytes",
        ),
    ];
    for (body, status, text) in cases {
        let (got, v) = raw_post(&s, "/api/realtime/events", body, tok).await;
        assert_eq!((got, detail(&v)), (status, text));
    }
    let long = "a".repeat(129);
    for bad in ["../x", "a/b", "a b", long.as_str()] {
        let (status, v) = s.post_event(&json!({"call_id": bad})).await;
        assert_eq!(status, 400);
        assert!(detail(&v).starts_with("Invalid call_id"), "{bad}: {v}");
    }
    s.stop().await;
}

#[tokio::test]
async fn event_ingest_shape_clamping_and_idempotency() {
    let s = TestServer::start().await;
    let ev = json!({"call_id": "i1", "text": "hello", "sentiment": -3, "event_id": "once"});
    let (status, v) = s.post_event(&ev).await;
    assert_eq!(status, 200);
    for key in ["ok", "call_id", "risk_score", "sentiment_score", "alerts", "snapshot"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["sentiment_score"], -1.0, "sentiment clamped to -1");
    assert_eq!(v.get("duplicate"), None);
    for key in ["events", "alerts", "live_audio", "updated_at"] {
        assert!(v["snapshot"].get(key).is_some(), "snapshot missing {key}");
    }
    let (status, again) = s.post_event(&ev).await;
    assert_eq!((status, &again["duplicate"]), (StatusCode::OK, &json!(true)));
    assert_eq!(again["alerts"], json!([]));
    let (_, calls) = s.get("/api/realtime/calls").await;
    assert_eq!(calls["calls"][0]["event_count"], 1);
    let (_, snap) = s.get("/api/realtime/calls/i1/snapshot").await;
    assert_eq!(snap["events"].as_array().unwrap().len(), 1);
    s.stop().await;
}

fn pcm(frames: usize) -> Vec<u8> {
    (0..frames).flat_map(|i| (((i % 20) as i16 - 10) * 300).to_le_bytes()).collect()
}

/// A 44-byte RIFF header for 8-bit PCM mono, then `n` samples.
fn wav_8bit(n: usize) -> Vec<u8> {
    let mut w = Vec::new();
    w.extend(b"RIFF");
    w.extend(((36 + n) as u32).to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend(16u32.to_le_bytes());
    w.extend(1u16.to_le_bytes());
    w.extend(1u16.to_le_bytes());
    w.extend(8000u32.to_le_bytes());
    w.extend(8000u32.to_le_bytes());
    w.extend(1u16.to_le_bytes());
    w.extend(8u16.to_le_bytes());
    w.extend(b"data");
    w.extend((n as u32).to_le_bytes());
    w.extend(vec![128u8; n]);
    w
}

#[tokio::test]
async fn audio_ingest_errors() {
    let s = TestServer::start().await;
    let four = b64(&[0u8; 4]);
    let cases = vec![
        (json!({}), "Missing call_id"),
        (json!({"call_id": "c"}), "Missing audio chunk base64 (audio_b64)"),
        (json!({"call_id": "c", "audio_b64": "A"}), "Invalid base64 audio payload"),
        (json!({"call_id": "c", "audio_b64": "@@@@"}), "Empty decoded audio payload"),
        (json!({"call_id": "c", "audio_b64": four, "audio_encoding": "mp3"}), "Unsupported audio_encoding: mp3"),
        (json!({"call_id": "c", "audio_b64": four, "encoding": "wav"}), "Unable to parse WAV audio chunk"),
        (
            json!({"call_id": "c", "audio_b64": b64(&wav_8bit(16)), "encoding": "wav"}),
            "WAV chunk must use 16-bit PCM (sample_width=2)",
        ),
        (json!({"call_id": "c", "audio_b64": four, "sample_rate": -1}), "Invalid sample_rate"),
        (json!({"call_id": "c", "audio_b64": four, "channels": -2}), "Invalid channels"),
        (
            json!({"call_id": "c", "audio_b64": four, "sample_rate": 384_000}),
            "Unsupported sample_rate: 384000 Hz (accepted: 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000)",
        ),
        (json!({"call_id": "c", "audio_b64": four, "channels": 32}), "Unsupported channels: 32 (accepted: 1 to 2)"),
        (json!({"call_id": "c", "audio_b64": b64(&[1])}), "Audio payload has no PCM frames"),
        (
            json!({"call_id": "c", "audio_b64": four, "metadata": {"blob": "x".repeat(40_000)}}),
            "metadata is larger than 31744 bytes",
        ),
    ];
    for (body, text) in cases {
        let (status, v) = s.post_audio(&body).await;
        assert_eq!((status, detail(&v)), (StatusCode::BAD_REQUEST, text), "{body}");
    }
    let (status, v) = s.post_audio(&json!({"call_id": "c", "audio_b64": four, "chunk_id": "../x"})).await;
    assert_eq!(status, 400);
    assert!(detail(&v).starts_with("Invalid chunk_id"), "{v}");
    let (status, v) = raw_post(&s, "/api/realtime/audio/chunk", br#"{"call_id":"c"}"#.to_vec(), None).await;
    assert_eq!((status, detail(&v)), (StatusCode::UNAUTHORIZED, "Unauthorized ingest token"));

    s.post_audio(&json!({"call_id": "fmt", "audio_b64": b64(&pcm(800)), "sample_rate": 8000})).await;
    let (status, v) = s.post_audio(&json!({"call_id": "fmt", "audio_b64": b64(&pcm(800)), "sample_rate": 16000})).await;
    assert_eq!(status, 400);
    assert!(detail(&v).starts_with("Audio format changed mid-call"), "{v}");
    s.stop().await;

    let small = TestServer::start_with(&[("REALTIME_AUDIO_MAX_CHUNK_BYTES", "8192")]).await;
    let (status, v) = small.post_audio(&json!({"call_id": "c", "audio_b64": b64(&[0u8; 10_000])})).await;
    assert_eq!((status, detail(&v)), (StatusCode::BAD_REQUEST, "Audio chunk exceeds max size"));
    small.stop().await;
}

#[tokio::test]
async fn audio_ingest_shape_segments_and_duplicates() {
    let s = TestServer::start().await;
    let body = json!({"call_id": "au", "audio_b64": b64(&pcm(8000)), "sample_rate": 8000, "chunk_id": "k1"});
    let (status, v) = s.post_audio(&body).await;
    assert_eq!(status, 200, "{v}");
    let a = &v["audio"];
    assert_eq!(
        (a["available"].as_bool(), a["sample_rate"].as_u64(), a["channels"].as_u64()),
        (Some(true), Some(8000), Some(1))
    );
    assert_eq!(
        (a["sample_width"].as_u64(), a["chunk_count"].as_u64(), a["window_seconds"].as_u64()),
        (Some(2), Some(1), Some(300))
    );
    assert_eq!((a["duration_seconds"].as_f64(), a["last_chunk_id"].as_str()), (Some(1.0), Some("k1")));
    assert_eq!((v["ingested_events"].as_u64(), &v["warnings"]), (Some(1), &json!([])));
    assert!(v["snapshot"].is_object() && v["alerts"].is_array());

    let (status, dup) = s.post_audio(&body).await;
    assert_eq!((status, &dup["duplicate"], &dup["audio"]["chunk_count"]), (StatusCode::OK, &json!(true), &json!(1)));

    let segs = json!({"call_id": "au", "audio_b64": b64(&pcm(800)), "sample_rate": 8000, "chunk_id": "k2",
        "segments": [{"text": "hello there", "speaker": "agent"}, {"text": "bad", "speaker": "customer", "sentiment": "nan"},
                     {"text": "I want a lawyer", "speaker": "Customer"}]});
    let (status, v) = s.post_audio(&segs).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ingested_events"], 2);
    assert_eq!(v["warnings"], json!(["sentiment must be a finite number"]));
    let speakers: Vec<&str> =
        v["snapshot"]["events"].as_array().unwrap().iter().map(|e| e["speaker"].as_str().unwrap()).collect();
    // The first (bare) chunk started the call; then the two segments that were accepted.
    assert_eq!(speakers, ["", "agent", "customer"]);
    assert_eq!(v["alerts"][0]["type"], "escalation_keyword");

    let all_bad = json!({"call_id": "au", "audio_b64": b64(&pcm(800)), "sample_rate": 8000, "chunk_id": "k3",
        "segments": [{"text": "x", "sentiment": "inf"}]});
    let (status, v) = s.post_audio(&all_bad).await;
    assert_eq!((status, detail(&v)), (StatusCode::BAD_REQUEST, "No realtime events were ingested from audio payload"));
    assert_eq!(v["audio"]["chunk_count"], 3, "the audio itself was kept");
    assert_eq!(v["warnings"], json!(["sentiment must be a finite number"]));
    s.stop().await;
}

/// A live chunk laid out as Genesys and many PBXs record (stereo μ-law at 8 kHz, a 16-byte `fmt ` without
/// `cbSize`): accepted with its own format, and played back as the 16-bit samples its codes stand for.
#[tokio::test]
async fn a_mulaw_wav_chunk_as_telephony_writes_it_is_accepted() {
    let s = TestServer::start().await;
    let body = json!({"call_id": "pbx", "audio_b64": b64(&telephony::genesys_mulaw(0.5)), "audio_encoding": "wav"});
    let (status, v) = s.post_audio(&body).await;
    assert_eq!(status, 200, "{v}");
    let a = &v["audio"];
    assert_eq!((a["sample_rate"].as_u64(), a["channels"].as_u64()), (Some(8000), Some(2)), "{a}");
    assert_eq!((a["sample_width"].as_u64(), a["duration_seconds"].as_f64()), (Some(2), Some(0.5)), "{a}");
    let played = s.get_raw("/api/realtime/calls/pbx/audio").await.bytes().await.unwrap();
    let heard = telephony::through(&telephony::tones(0.5), telephony::mulaw, shared::audio::g711::ulaw_to_linear);
    assert!(played[44..] == telephony::interleave_16bit(&heard)[..], "the decoded samples, interleaved");
    s.stop().await;
}
