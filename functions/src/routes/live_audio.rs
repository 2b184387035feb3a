//! Rolling live audio: `GET /api/realtime/calls/{call_id}/audio` (WAV) and `.../audio/meta`.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde_json::Value;
use std::collections::HashMap;

/// `max_seconds`: a positive integer limits the WAV to the last N seconds; anything else means all.
fn max_seconds(q: &HashMap<String, String>) -> Option<u32> {
    q.get("max_seconds").and_then(|v| v.trim().parse::<i64>().ok()).filter(|n| *n > 0).map(|n| n.min(86_400) as u32)
}

async fn wav(
    State(s): State<AppState>,
    Path(call_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let bytes = s.realtime.live_wav(&call_id, max_seconds(&q)).await?;
    let disposition = format!("inline; filename=\"{call_id}_live.wav\"");
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_string()),
            (header::CACHE_CONTROL, "no-store, no-cache, must-revalidate, max-age=0".into()),
            (header::PRAGMA, "no-cache".into()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-live-audio"), "1".into()),
        ],
        bytes,
    )
        .into_response())
}

async fn meta(State(s): State<AppState>, Path(call_id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.realtime.audio_meta(&call_id).await?))
}

pub fn live_audio_router(state: &AppState) -> Router<AppState> {
    let r = Router::new()
        .route("/api/realtime/calls/{call_id}/audio", get(wav))
        .route("/api/realtime/calls/{call_id}/audio/meta", get(meta));
    super::supervisor(state, r)
}
