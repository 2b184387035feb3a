//! The whole HTTP surface of the local process: every endpoint group merged, plus JSON 404/405 and
//! request tracing.

use crate::error::ApiError;
use crate::routes::{alerts, batch, calls, health, ingest, live_audio, metrics, openapi, tickets, web};
use crate::state::AppState;
use crate::ws::{WsState, ws_router};
use axum::Router;
use axum::http::{Request, StatusCode};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// Every API group with its state applied (what a Lambda mounts is one of these groups).
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .merge(ingest::events_router(&state))
        .merge(ingest::audio_router(&state))
        .merge(calls::calls_router(&state))
        .merge(calls::snapshot_router(&state))
        .merge(live_audio::live_audio_router(&state))
        .merge(alerts::alerts_router(&state))
        .merge(alerts::ack_router(&state))
        .merge(health::health_router(&state))
        .merge(tickets::ws_ticket_router(&state))
        .merge(batch::upload_router(&state))
        .merge(batch::read_router(&state))
        .merge(batch::manage_router(&state))
        .merge(metrics::metrics_router(&state))
        .merge(openapi::openapi_router())
        .with_state(state)
}

/// The local server's router: the API, the WebSocket push, the web UI from `web_dir`, JSON fallbacks and
/// tracing.
pub fn local_router(ws: WsState, web_dir: &std::path::Path) -> Router {
    api_router(ws.app.clone())
        .merge(ws_router(ws))
        .merge(web::web_router(web_dir))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed") })
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// A request's span names its path, never its query: query strings carry secrets (the push socket's
/// `/ws?token=…` and `?ticket=…`), and logs outlive them in the journal and `LOG_DIR`. tower-http's default
/// span records the whole URI.
fn request_span<B>(request: &Request<B>) -> Span {
    tracing::debug_span!("request", method = %request.method(), path = request.uri().path(), version = ?request.version())
}
