//! The Lambda functions' state on moto, as the template configures them, for tests that feed their handlers
//! the sample events from `events/` (included by path from those tests): DynamoDB and S3 reached through a
//! proxy that writes down every request, and a fake API Gateway Management API that records every push.
#![allow(dead_code)] // each test binary uses a different part

#[path = "../../../shared/tests/moto/mod.rs"]
pub mod moto;

use axum::Router;
use functions::lambda::{LambdaConfig, app_state};
use functions::state::AppState;
use serde_json::Value;
use shared::adapters::aws::DynamoStore;
use std::collections::HashMap;
use tower::ServiceExt;

pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Invokes `group`'s router with an API Gateway event, as `lambda_http::run` would.
pub async fn invoke(state: &AppState, group: fn(&AppState) -> Router<AppState>, event: &Value) -> (u16, Value) {
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let req = req.map(|b| axum::body::Body::from(b.to_vec()));
    let resp = group(state).with_state(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The functions on a moto server of their own.
pub struct Functions {
    pub moto: moto::Moto,
    pub state: AppState,
    /// The same table, reached directly (not counted).
    pub store: DynamoStore,
    pub posts: moto::Posts,
    /// Every DynamoDB and S3 request the functions made.
    pub requests: moto::RequestProxy,
}

/// A moto server with a fresh table and bucket named `name`, and the functions' state on it (configured from
/// the environment the template sets, with `extra` on top).
pub async fn start(name: &str, extra: &[(&str, &str)]) -> Functions {
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, name).await;
    let (callback, posts) = moto::fake_management_api().await;
    let (queue, _) = moto::job_queues(&sdk, name, 5).await;
    moto::notify_uploads(&sdk, name, &queue).await;
    let requests = moto::RequestProxy::start(&moto.endpoint).await;
    let env: HashMap<String, String> = [
        ("TABLE_NAME", name),
        ("BUCKET_NAME", name),
        ("REALTIME_INGEST_TOKEN", "replace-me"),
        ("WEBSOCKET_CALLBACK_URL", callback.as_str()),
        ("JOB_QUEUE_URL", queue.as_str()),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let counted = moto::sdk(&requests.endpoint).await;
    let state = app_state(&LambdaConfig::from_env(&env).unwrap(), &counted).unwrap();
    Functions { moto, state, store: DynamoStore::new(&sdk, &settings), posts, requests }
}
