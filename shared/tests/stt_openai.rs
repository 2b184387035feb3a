//! The OpenAI-compatible transcription provider against a fake transcription server on loopback
//! (`FakeWhisperServer`, an axum route in this test): segments, plain text, failures and a timeout.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;
use shared::speech::{OpenAiApi, OpenAiCompatible, Segment, SttError, Transcriber};
use std::time::Duration;

/// Answers by the `model` form field; checks the key and the form on the way.
async fn fake_whisper_server(headers: HeaderMap, raw: axum::body::Bytes) -> (StatusCode, String) {
    let body = String::from_utf8_lossy(&raw).into_owned();
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer k") {
        return (StatusCode::UNAUTHORIZED, json!({"error": {"message": "bad key"}}).to_string());
    }
    let field = |name: &str| {
        let marker = format!("name=\"{name}\"\r\n\r\n");
        body.find(&marker).map(|i| body[i + marker.len()..].split("\r\n").next().unwrap_or_default().to_string())
    };
    assert_eq!(field("response_format").as_deref(), Some("verbose_json"));
    assert!(body.contains("filename=\"audio.wav\"") && body.contains("RIFF"), "the WAV is uploaded as a file");
    match field("model").as_deref() {
        Some("segments") => {
            assert_eq!(field("language").as_deref(), Some("en"), "en-US is sent as en");
            let answer = json!({"text": "hello there. bye", "segments": [
                {"start": 0.0, "end": 1.5, "text": " hello there.", "avg_logprob": -0.1},
                {"start": 1.5, "end": 1.4, "text": " bye"},
                {"start": 2.0, "end": 2.5, "text": "  "}]});
            (StatusCode::OK, answer.to_string())
        }
        Some("text-only") => (StatusCode::OK, json!({"text": " just text "}).to_string()),
        Some("busy") => (StatusCode::SERVICE_UNAVAILABLE, "overloaded".into()),
        Some("slow") => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, "{}".into())
        }
        _ => (StatusCode::BAD_REQUEST, json!({"error": {"message": "unknown model"}}).to_string()),
    }
}

async fn server() -> String {
    let app = axum::Router::new().route("/v1/audio/transcriptions", post(fake_whisper_server));
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    base
}

fn wav() -> Vec<u8> {
    let format = shared::realtime::live_audio::AudioFormat { sample_rate: 16_000, channels: 1, sample_width: 2 };
    shared::audio::wav::encode(&format, &[0u8; 3200])
}

async fn run(base: &str, key: &str, model: &str) -> Result<Vec<Segment>, SttError> {
    let api = OpenAiApi {
        base_url: base.into(),
        api_key: Some(key.into()),
        model: model.into(),
        timeout: Duration::from_secs(1),
    };
    let p = OpenAiCompatible::new(api).unwrap();
    p.transcribe(wav(), Some("en-US")).await
}

#[tokio::test]
async fn segments_text_failures_and_timeouts() {
    let base = server().await;
    let segs = run(&base, "k", "segments").await.unwrap();
    assert_eq!(segs.len(), 2, "empty segments are dropped");
    assert_eq!((segs[0].text.as_str(), segs[0].start_seconds, segs[0].end_seconds), ("hello there.", 0.0, 1.5));
    assert!((segs[0].confidence.unwrap() - (-0.1f64).exp()).abs() < 1e-9);
    assert_eq!(
        (segs[1].start_seconds, segs[1].end_seconds, segs[1].confidence),
        (1.5, 1.5, None),
        "end never before start"
    );
    assert_eq!(run(&base, "k", "text-only").await.unwrap()[0].text, "just text");
    assert!(matches!(run(&base, "k", "busy").await, Err(SttError::Unavailable(m)) if m.contains("503")));
    assert!(matches!(run(&base, "k", "nope").await, Err(SttError::Refused(m)) if m.contains("unknown model")));
    assert!(matches!(run(&base, "wrong", "segments").await, Err(SttError::Refused(m)) if m.contains("401")));
    assert!(matches!(run(&base, "k", "slow").await, Err(SttError::Unavailable(_))), "a timeout may heal");
    assert!(matches!(run("http://127.0.0.1:9", "k", "segments").await, Err(SttError::Unavailable(_))));
}
