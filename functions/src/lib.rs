//! HTTP entrypoints of Call Analytics: one axum router per endpoint group (mounted per Lambda on AWS, all
//! together by the local server), the local WebSocket push, and the `call-analytics serve` process.

pub mod app;
pub mod auth;
pub mod error;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod local_audiohook;
pub mod models;
pub mod routes;
pub mod server;
pub mod startup;
pub mod state;
pub mod ws;
#[cfg(feature = "aws")]
pub mod ws_lambda;
pub mod ws_protocol;
