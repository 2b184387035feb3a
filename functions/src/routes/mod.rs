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
use crate::state::AppState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use shared::delivery::{Body, Handout};

/// Wraps a group's routes in the supervisor check.
fn supervisor(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state.clone(), require_supervisor))
}

/// Wraps a group's routes in the ingest-token check.
fn ingest(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state.clone(), require_ingest))
}

/// A file for the client: its bytes (played inline), or a `307` to its short-lived storage link (on AWS:
/// a Lambda response is capped at 6 MB). The redirect is never cached, since the link expires.
fn handout(h: Handout) -> Response {
    match h.body {
        Body::Link(url) => {
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store".into())])
                .into_response()
        }
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
