//! Supervisor alerts: `GET /api/realtime/alerts` and `POST /api/realtime/alerts/{alert_id}/ack`.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Json, Router, routing::get, routing::post};
use serde_json::Value;
use std::collections::HashMap;

/// `open_only` defaults to true; only `false` (any case, trimmed) turns it off, as in the seed.
fn open_only(q: &HashMap<String, String>) -> bool {
    q.get("open_only").is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

async fn list(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let call_id = q.get("call_id").map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let limit = q.get("limit").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(50).clamp(1, 200) as usize;
    Ok(Json(s.realtime.list_alerts(call_id, open_only(&q), limit).await?))
}

async fn ack(State(s): State<AppState>, Path(alert_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id: i64 = alert_id.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "Alert not found"))?;
    Ok(Json(s.realtime.acknowledge(id).await?))
}

pub fn alerts_router(state: &AppState) -> Router<AppState> {
    super::supervisor(state, Router::new().route("/api/realtime/alerts", get(list)))
}

pub fn ack_router(state: &AppState) -> Router<AppState> {
    super::supervisor(state, Router::new().route("/api/realtime/alerts/{alert_id}/ack", post(ack)))
}
