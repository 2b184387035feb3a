//! `POST /api/realtime/ws-ticket`: trades the supervisor credential for a one-time WebSocket ticket
//! (see `shared::realtime::tickets`), so no long-lived credential appears in a WebSocket URL.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use shared::realtime::ServiceError;
use shared::realtime::tickets::{self, TICKET_TTL_SECONDS};
use shared::values::timestamps::iso;

async fn issue(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ticket = tickets::issue(s.tickets.as_ref(), chrono::Utc::now()).await.map_err(ServiceError::Store)?;
    Ok(Json(json!({
        "ticket": ticket.secret,
        "expires_at": iso(&ticket.expires_at),
        "expires_in": TICKET_TTL_SECONDS,
    })))
}

pub fn ws_ticket_router(state: &AppState) -> Router<AppState> {
    super::supervisor(state, Router::new().route("/api/realtime/ws-ticket", post(issue)))
}
