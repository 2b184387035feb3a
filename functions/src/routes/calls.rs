//! Live calls: `GET /api/realtime/calls` (newest activity first, cursor-paginated) and
//! `GET /api/realtime/calls/{call_id}/snapshot`.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::{Json, Router, routing::get};
use serde_json::Value;
use std::collections::HashMap;

/// Page size when `limit` is absent or unparsable.
const DEFAULT_LIMIT: usize = 50;

async fn list(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let limit = q.get("limit").and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_LIMIT);
    let status = q.get("status").map(|v| v.trim().to_lowercase()).filter(|v| !v.is_empty() && v != "all");
    let cursor = q.get("cursor").filter(|v| !v.is_empty()).cloned();
    Ok(Json(s.realtime.list_calls(status, limit, cursor).await?))
}

async fn snapshot(State(s): State<AppState>, Path(call_id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.realtime.snapshot(&call_id).await?))
}

pub fn calls_router(state: &AppState) -> Router<AppState> {
    super::supervisor(state, Router::new().route("/api/realtime/calls", get(list)))
}

pub fn snapshot_router(state: &AppState) -> Router<AppState> {
    super::supervisor(state, Router::new().route("/api/realtime/calls/{call_id}/snapshot", get(snapshot)))
}
