//! The Lambda functions' state on moto, configured from the environment the template sets, and the sample
//! events of `events/`: shared by the tests that drive the handlers.
#![allow(dead_code)] // each test binary uses a different part

use crate::moto;
use functions::lambda::{LambdaConfig, app_state};
use functions::state::AppState;
use serde_json::Value;
use shared::adapters::aws::DynamoStore;
use std::collections::HashMap;

/// The sample event `events/<name>.json`.
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A moto server with a fresh table and bucket named `name`, the functions' state on it (configured from
/// the environment the template sets) and the fake management API's record of pushes.
pub async fn functions_on_moto(name: &str) -> (moto::Moto, AppState, DynamoStore, moto::Posts) {
    functions_on_moto_with(name, &[]).await
}

/// As [`functions_on_moto`], with `extra` variables in the functions' environment.
pub async fn functions_on_moto_with(
    name: &str,
    extra: &[(&str, &str)],
) -> (moto::Moto, AppState, DynamoStore, moto::Posts) {
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, name).await;
    let (callback, posts) = moto::fake_management_api().await;
    let (queue, _) = moto::job_queues(&sdk, name, 5).await;
    moto::notify_uploads(&sdk, name, &queue).await;
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
    let state = app_state(&LambdaConfig::from_env(&env).unwrap(), &sdk).unwrap();
    (moto, state, DynamoStore::new(&sdk, &settings), posts)
}
