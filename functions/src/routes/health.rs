//! Worker health: `GET /api/integrations/genesys/health` and `.../audiohook/health` (supervisor), from the
//! heartbeat port; plus `GET /healthz`, an unauthenticated liveness probe for load balancers.

use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use shared::process::health::{self, GENESYS_AUDIOHOOK, GENESYS_CONNECTOR};
use std::collections::HashMap;

async fn report(
    s: &AppState,
    component: &str,
    q: &HashMap<String, String>,
    configured: u64,
) -> (StatusCode, Json<Value>) {
    let stale = health::stale_after(q.get("stale_after").map(String::as_str), configured);
    match s.heartbeats.list(component).await {
        Ok(beats) => (StatusCode::OK, Json(health::evaluate(component, &beats, chrono::Utc::now(), stale))),
        Err(e) => {
            tracing::error!(component, error = %e, "heartbeat unreadable");
            let body = json!({"healthy": false, "state": "unknown", "reason": "heartbeat_unreadable", "stale_after_seconds": stale});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body))
        }
    }
}

async fn connector(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> (StatusCode, Json<Value>) {
    report(&s, GENESYS_CONNECTOR, &q, s.health.connector_stale_seconds).await
}

async fn audiohook(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> (StatusCode, Json<Value>) {
    report(&s, GENESYS_AUDIOHOOK, &q, s.health.audiohook_stale_seconds).await
}

async fn liveness() -> Json<Value> {
    Json(json!({"ok": true}))
}

pub fn health_router(state: &AppState) -> Router<AppState> {
    let r = Router::new()
        .route("/api/integrations/genesys/health", get(connector))
        .route("/api/integrations/genesys/audiohook/health", get(audiohook));
    super::supervisor(state, r).route("/healthz", get(liveness))
}
