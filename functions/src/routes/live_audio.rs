//! Rolling live audio: `GET /api/realtime/calls/{call_id}/audio` (WAV) and `.../audio/meta`. With
//! `?fallback=1` a call with no live window plays its upload or AudioHook recording instead, as the seed's
//! player asks (it loads `audio?fallback=1` and polls the meta for when the live window appears).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::{Json, Router, routing::get};
use serde_json::Value;
use shared::realtime::ServiceError;
use shared::realtime::normalize::flag;
use std::collections::HashMap;

const X_LIVE_AUDIO: HeaderName = HeaderName::from_static("x-live-audio");

/// `max_seconds`: a positive integer limits the WAV to the last N seconds; anything else means all.
fn max_seconds(q: &HashMap<String, String>) -> Option<u32> {
    q.get("max_seconds").and_then(|v| v.trim().parse::<i64>().ok()).filter(|n| *n > 0).map(|n| n.min(86_400) as u32)
}

async fn wav(
    State(s): State<AppState>,
    Path(call_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let window = match s.realtime.live_window(&call_id, max_seconds(&q)).await {
        Ok(window) => window,
        Err(ServiceError::NotFound(_)) if q.get("fallback").is_some_and(|v| flag(v)) => {
            return fallback(&s, &call_id, &q).await;
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = super::handout(window, &q);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(X_LIVE_AUDIO, HeaderValue::from_static("1"));
    Ok(response)
}

/// The call's upload or recording, as `GET /api/calls/{id}/audio` serves it, marked `X-Live-Audio: 0`.
async fn fallback(s: &AppState, call_id: &str, q: &HashMap<String, String>) -> Result<Response, ApiError> {
    let audio = s.batch.audio(call_id).await.map_err(|e| match e {
        ServiceError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "Live audio not found"),
        e => e.into(),
    })?;
    let mut response = super::handout(audio, q);
    response.headers_mut().insert(X_LIVE_AUDIO, HeaderValue::from_static("0"));
    Ok(response)
}

async fn meta(State(s): State<AppState>, Path(call_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let fallback = s.batch.has_audio(&call_id).await?;
    Ok(Json(s.realtime.audio_meta(&call_id, fallback).await?))
}

pub fn live_audio_router(state: &AppState) -> Router<AppState> {
    let r = Router::new()
        .route("/api/realtime/calls/{call_id}/audio", get(wav))
        .route("/api/realtime/calls/{call_id}/audio/meta", get(meta));
    super::supervisor(state, r)
}
