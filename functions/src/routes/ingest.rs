//! Provider ingest: `POST /api/realtime/events` and `POST /api/realtime/audio/chunk` (ingest token).

use crate::error::{ApiError, json_object};
use crate::state::AppState;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::{Json, Router, body::Bytes, routing::post};
use serde_json::Value;

/// Largest event body accepted (text is separately capped by `REALTIME_MAX_TEXT_CHARS`).
pub const EVENT_BODY_LIMIT: usize = 1024 * 1024;
/// Largest audio-chunk body: base64 of the 2,000,000-byte default chunk limit plus JSON, with headroom.
pub const AUDIO_BODY_LIMIT: usize = 4 * 1024 * 1024;

async fn ingest_event(State(s): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let obj = json_object(body)?;
    Ok(Json(s.realtime.ingest_event(&obj).await?))
}

async fn ingest_audio(State(s): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let obj = json_object(body)?;
    Ok(Json(s.realtime.ingest_audio(&obj).await?))
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
