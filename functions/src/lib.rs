//! HTTP entrypoints of Call Analytics: one axum router per endpoint group (mounted per Lambda on AWS, all
//! together by the local server), the services wired once (`startup`), and per host: with `local`, the
//! `call-analytics serve` process, its WebSocket push and in-process listener; with `aws`, the Lambda
//! entrypoints.

#[cfg(feature = "local")]
pub mod app;
pub mod auth;
#[cfg(feature = "local")]
pub mod data_lock;
pub mod error;
#[cfg(feature = "local")]
pub mod import_django;
#[cfg(feature = "aws")]
pub mod lambda;
#[cfg(feature = "aws")]
pub mod lambda_secrets;
#[cfg(feature = "local")]
pub mod local_audiohook;
#[cfg(feature = "local")]
pub mod local_secrets;
#[cfg(feature = "local")]
pub mod model_install;
pub mod routes;
#[cfg(feature = "local")]
pub mod server;
pub mod startup;
pub mod state;
#[cfg(feature = "local")]
pub mod ws;
#[cfg(feature = "aws")]
pub mod ws_lambda;
pub mod ws_protocol;
