//! A fake OpenAI-compatible speech-to-text server (`FakeStt`): `POST /v1/audio/transcriptions` answered in
//! `verbose_json`, with a scripted line per side of the call told apart by the tone it hears (the tests
//! give the customer a 500 Hz tone and the agent a 200 Hz one), or 503 while told to fail.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const CUSTOMER_LINE: &str = "I need to speak to a supervisor right now";
pub const AGENT_LINE: &str = "Let me see what I can do for you";

#[derive(Default)]
pub struct FakeStt {
    /// Answer 503 to every request.
    pub down: AtomicBool,
    /// Answer 503 to the agent's side only.
    pub agent_down: AtomicBool,
    pub requests: AtomicU64,
    /// The `Authorization` headers seen.
    pub authorizations: Mutex<Vec<String>>,
}

/// Sign changes per loud sample: about 1/8 for a 500 Hz square wave at 8 kHz, 1/20 for 200 Hz.
fn crossings_per_sample(samples: &[i16]) -> f64 {
    let loud: Vec<i16> = samples.iter().copied().filter(|s| s.unsigned_abs() > 1000).collect();
    let changes = loud.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    changes as f64 / loud.len().max(1) as f64
}

async fn transcribe(
    State(f): State<Arc<FakeStt>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    f.requests.fetch_add(1, Ordering::SeqCst);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    f.authorizations.lock().unwrap().push(auth.to_string());
    // The multipart body holds one file; the WAV runs from its RIFF header (trailing bytes are ignored).
    let Some(at) = body.windows(4).position(|w| w == b"RIFF") else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "no WAV"})));
    };
    let Ok((format, pcm)) = shared::audio::wav::decode(&body[at..]) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "unreadable WAV"})));
    };
    if (format.sample_rate, format.channels) != (8000, 1) {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "expected one mono channel at 8 kHz"})));
    }
    let samples: Vec<i16> = pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let customer = crossings_per_sample(&samples) > 0.08;
    if f.down.load(Ordering::SeqCst) || (!customer && f.agent_down.load(Ordering::SeqCst)) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": "overloaded"})));
    }
    let line = if customer { CUSTOMER_LINE } else { AGENT_LINE };
    let duration = samples.len() as f64 / 8000.0;
    let segment = json!({"id": 0, "start": 0.2, "end": (duration - 0.6).max(0.2), "text": format!(" {line}"),
        "avg_logprob": -0.1});
    (StatusCode::OK, Json(json!({"task": "transcribe", "duration": duration, "text": line, "segments": [segment]})))
}

/// Starts it on loopback; returns it and its base URL (for `STT_BASE_URL`).
pub async fn start() -> (Arc<FakeStt>, String) {
    let fake = Arc::new(FakeStt::default());
    let app = axum::Router::new().route("/v1/audio/transcriptions", post(transcribe)).with_state(fake.clone());
    (fake, super::serve(app).await)
}
