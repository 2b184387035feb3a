//! `GET /api/openapi.json`: the published API description (public, like any API reference).

use axum::http::header;
use axum::response::IntoResponse;
use axum::{Router, routing::get};

/// The OpenAPI 3.1 document, kept beside the code and checked against the routers by the tests.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

pub fn openapi_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/api/openapi.json", get(document))
}
