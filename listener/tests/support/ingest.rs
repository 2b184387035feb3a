//! A fake realtime ingest (`FakeIngest`): answers 503 while `down`, else records what it accepted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct FakeIngest {
    pub down: AtomicBool,
    pub accepted: Mutex<Vec<Value>>,
    /// When each of `accepted` arrived, in the same order (latency figures).
    pub arrived: Mutex<Vec<Instant>>,
    pub refused: AtomicU64,
}

async fn accept(State(f): State<Arc<FakeIngest>>, Json(body): Json<Value>) -> StatusCode {
    if f.down.load(Ordering::SeqCst) {
        f.refused.fetch_add(1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut accepted = f.accepted.lock().unwrap();
    accepted.push(body);
    f.arrived.lock().unwrap().push(Instant::now());
    StatusCode::OK
}

/// Starts it on loopback; returns it and its base URL (both ingest routes).
pub async fn start() -> (Arc<FakeIngest>, String) {
    let fake = Arc::new(FakeIngest::default());
    let app = axum::Router::new()
        .route("/api/realtime/audio/chunk", post(accept))
        .route("/api/realtime/events", post(accept))
        .with_state(fake.clone());
    (fake, super::serve(app).await)
}
