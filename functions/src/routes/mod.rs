//! One axum router per endpoint group. A Lambda binary mounts only its group; the local server merges
//! them all. Each group carries its own authentication, so it is protected however it is hosted.

pub mod alerts;
pub mod batch;
pub mod calls;
pub mod health;
pub mod ingest;
pub mod live_audio;
pub mod metrics;
pub mod openapi;
pub mod tickets;
#[cfg(feature = "local")]
pub mod web;

use crate::auth::{require_ingest, require_supervisor};
use crate::state::AppState;
use axum::{Router, middleware};

/// Wraps a group's routes in the supervisor check.
fn supervisor(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state.clone(), require_supervisor))
}

/// Wraps a group's routes in the ingest-token check.
fn ingest(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state.clone(), require_ingest))
}
