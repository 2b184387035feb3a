//! One axum router per endpoint group. A Lambda binary mounts only its group; the local server merges
//! them all. Each group carries its own authentication, so it is protected however it is hosted.

pub mod alerts;
pub mod batch;
pub mod calls;
pub mod health;
pub mod ingest;
pub mod live_audio;
pub mod openapi;
pub mod tickets;
#[cfg(feature = "local")]
pub mod web;

use crate::auth::{require_ingest, require_supervisor};
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware};
use serde_json::json;
use shared::ports::delivery::{Body, Handout, LINK_LIFETIME};
use shared::realtime::normalize::flag;
use std::collections::HashMap;

/// Wraps a group's routes in the supervisor check.
fn supervisor(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state.clone(), require_supervisor))
}

/// Wraps a group's routes in the ingest-token check.
fn ingest(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state.clone(), require_ingest))
}

/// A file for the client: its bytes (played inline), or, where storage gives a short-lived link to it (on
/// AWS: a Lambda response is capped at 6 MB), a `307` to that link. With `?link=1` the link comes as JSON
/// `{"url", "expires_in"}` instead: a browser app on another origin (the UI behind CloudFront calling the
/// HTTP API) cannot follow the redirect, since the browser sends a cross-origin redirect's request with
/// `Origin: null`, which storage's CORS, open to the UI's origin only, refuses. Neither is ever cached:
/// the link expires.
fn handout(h: Handout, q: &HashMap<String, String>) -> Response {
    let no_store = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match h.body {
        Body::Link(url) if q.get("link").is_some_and(|v| flag(v)) => {
            ([no_store], Json(json!({"url": url, "expires_in": LINK_LIFETIME.as_secs()}))).into_response()
        }
        Body::Link(url) => match HeaderValue::try_from(url) {
            Ok(to) => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to), no_store]).into_response(),
            Err(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Storage gave an unusable link").into_response(),
        },
        Body::Bytes(bytes) => (
            [
                (header::CONTENT_TYPE, h.file.content_type.clone()),
                (header::CONTENT_DISPOSITION, h.file.inline_disposition()),
            ],
            bytes,
        )
            .into_response(),
    }
}
