//! Providers retry audio chunks (after timeouts, after fixing a rejected payload): a retry must complete
//! what the first attempt did not, and never apply anything twice.

mod common;

use base64::Engine;
use common::{INGEST, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pcm(frames: usize) -> Vec<u8> {
    (0..frames).flat_map(|i| (((i % 20) as i16 - 10) * 300).to_le_bytes()).collect()
}

fn fifty_segments(call_id: &str) -> Value {
    let segs: Vec<Value> = (0..50).map(|i| json!({"text": format!("segment {i}"), "speaker": "agent"})).collect();
    json!({"call_id": call_id, "audio_b64": b64(&pcm(1600)), "sample_rate": 8000, "chunk_id": "k1", "segments": segs})
}

async fn event_count(s: &TestServer, call_id: &str) -> Option<Value> {
    let (_, calls) = s.get("/api/realtime/calls?limit=200").await;
    calls["calls"].as_array().unwrap().iter().find(|c| c["call_id"] == call_id).map(|c| c["event_count"].clone())
}

#[tokio::test]
async fn retried_chunk_after_client_timeout_loses_no_segment() {
    let s = TestServer::start().await;
    for ms in [2u64, 5, 10, 20, 40] {
        let call = format!("retry-{ms}");
        let body = fifty_segments(&call);
        // The provider gives up early (the server may or may not have stored the audio by then) ...
        let req = s.http.post(s.url("/api/realtime/audio/chunk")).header("X-Cloud-Token", INGEST).json(&body);
        let _ = req.timeout(Duration::from_millis(ms)).send().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // ... and retries the very same chunk, as providers do.
        let (status, v) = s.post_audio(&body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["audio"]["chunk_count"], 1, "the audio is stored once");
        assert_eq!(
            event_count(&s, &call).await,
            Some(json!(50)),
            "timeout {ms} ms: every segment exactly once; retry said {v}"
        );
        // A third delivery changes nothing.
        let (_, again) = s.post_audio(&body).await;
        assert_eq!((&again["duplicate"], &again["ingested_events"]), (&json!(true), &json!(0)));
        assert_eq!(event_count(&s, &call).await, Some(json!(50)));
    }
    s.stop().await;
}

#[tokio::test]
async fn corrected_retry_of_a_rejected_chunk_ingests_its_events() {
    let s = TestServer::start().await;
    let body = |sentiment: Value| {
        json!({"call_id": "fix", "audio_b64": b64(&pcm(800)), "sample_rate": 8000, "chunk_id": "k1",
            "segments": [{"text": "I am unhappy", "sentiment": sentiment}]})
    };
    let (status, v) = s.post_audio(&body(json!("nan"))).await;
    assert_eq!(
        (status, v["detail"].as_str()),
        (StatusCode::BAD_REQUEST, Some("No realtime events were ingested from audio payload"))
    );
    let (status, v) = s.post_audio(&body(json!(-0.3))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["audio"]["chunk_count"], 1, "the audio is not stored twice");
    assert_eq!(v["ingested_events"], 1, "the events were never applied, so the retry applies them: {v}");
    assert_eq!(v["duplicate"], true);
    s.stop().await;
}

/// Found by fuzzing (`audio_chunk_from_the_grammar`): a numeric `sequence_id` made the chunk's id for the
/// window ("7") but gave its events no idempotency key, so a retried chunk stored no audio twice yet applied
/// its transcript again. Its events are now keyed by the id the chunk was accepted with.
#[tokio::test]
async fn a_retried_chunk_with_a_numeric_sequence_id_applies_its_events_once() {
    let s = TestServer::start().await;
    let body = json!({"call_id": "numeric-seq", "audio_b64": b64(&pcm(800)), "sample_rate": 8000,
        "sequence_id": 7, "text": "I want a refund", "speaker": "customer"});
    let (status, first) = s.post_audio(&body).await;
    assert_eq!((status, &first["ingested_events"]), (StatusCode::OK, &json!(1)), "{first}");
    let (status, again) = s.post_audio(&body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!((&again["duplicate"], &again["ingested_events"]), (&json!(true), &json!(0)), "{again}");
    assert_eq!(event_count(&s, "numeric-seq").await, Some(json!(1)));
    s.stop().await;
}
