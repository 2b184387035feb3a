//! `GET /metrics` (supervisor): this process's metrics as Prometheus text, for a scraper holding the
//! supervisor token. Only the local process serves it; on AWS the same series reach CloudWatch as EMF.

use crate::error::ApiError;
use crate::state::AppState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use shared::process::metrics::{self, PROMETHEUS_CONTENT_TYPE};

async fn render() -> Response {
    match metrics::installed().and_then(|m| m.render()) {
        Some(text) => ([(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], text).into_response(),
        // A host that installed no Prometheus exporter has nothing to show here.
        None => ApiError::new(StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

pub fn metrics_router(state: &AppState) -> Router<AppState> {
    super::supervisor(state, Router::new().route("/metrics", get(render)))
}
