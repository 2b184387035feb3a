//! Provider ingest: `POST /api/realtime/events` and `POST /api/realtime/audio/chunk` (ingest token).

use crate::error::{ApiError, json_object};
use crate::state::AppState;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::{Json, Router, body::Bytes, routing::post};
use serde_json::Value;
use shared::process::metrics::ingest::{Endpoint, Outcome, observe};
use shared::realtime::ServiceError;
use shared::realtime::answer::Doc;
use std::time::Instant;

/// Largest event body accepted (text is separately capped by `REALTIME_MAX_TEXT_CHARS`).
pub const EVENT_BODY_LIMIT: usize = 1024 * 1024;
/// Largest audio-chunk body: base64 of the 2,000,000-byte default chunk limit plus JSON, with headroom.
pub const AUDIO_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Runs an ingest to completion on its own task: a provider that disconnects mid-request (a timeout) must
/// not leave a chunk half-applied or an event committed but never pushed.
async fn detached<T, F>(work: F) -> Result<Json<T>, ApiError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ServiceError>> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => Ok(Json(result?)),
        Err(e) => {
            tracing::error!(error = %e, "ingest task failed");
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))
        }
    }
}

/// An answer that may say it was a repeat (`"duplicate": true`).
trait Answered {
    fn duplicate(&self) -> Option<&Value>;
}

impl Answered for Value {
    fn duplicate(&self) -> Option<&Value> {
        self.get("duplicate")
    }
}

impl Answered for Doc {
    fn duplicate(&self) -> Option<&Value> {
        self.field("duplicate")
    }
}

/// Counts the request and its time by how it was answered.
fn counted<T: Answered>(
    endpoint: Endpoint,
    started: Instant,
    answer: Result<Json<T>, ApiError>,
) -> Result<Json<T>, ApiError> {
    let outcome = match &answer {
        Ok(Json(v)) if v.duplicate() == Some(&Value::Bool(true)) => Outcome::Duplicate,
        Ok(_) => Outcome::Accepted,
        Err(e) if e.status().is_client_error() => Outcome::Rejected,
        Err(_) => Outcome::Failed,
    };
    observe(endpoint, outcome, started.elapsed());
    answer
}

async fn ingest_event(State(s): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Json<Doc>, ApiError> {
    let started = Instant::now();
    let answer = match json_object(body) {
        Ok(obj) => detached(async move { s.realtime.ingest_event(&obj).await }).await,
        Err(e) => Err(e),
    };
    counted(Endpoint::Events, started, answer)
}

async fn ingest_audio(State(s): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let answer = match json_object(body) {
        Ok(obj) => detached(async move { s.realtime.ingest_audio(&obj).await }).await,
        Err(e) => Err(e),
    };
    counted(Endpoint::AudioChunk, started, answer)
}

pub fn events_router(state: &AppState) -> Router<AppState> {
    let r =
        Router::new().route("/api/realtime/events", post(ingest_event)).layer(DefaultBodyLimit::max(EVENT_BODY_LIMIT));
    super::ingest(state, r)
}

pub fn audio_router(state: &AppState) -> Router<AppState> {
    let r = Router::new()
        .route("/api/realtime/audio/chunk", post(ingest_audio))
        .layer(DefaultBodyLimit::max(AUDIO_BODY_LIMIT));
    super::ingest(state, r)
}
