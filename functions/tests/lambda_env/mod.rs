//! The Lambda functions' state on moto, configured from the environment the template sets, the sample
//! events of `events/`, and handlers driven in-process as the Lambda runtime would (an API Gateway event
//! parsed by `lambda_http` through the endpoint group's router; the SQS event the batch worker gets):
//! shared by the tests that drive the handlers.
#![allow(dead_code)] // each test binary uses a different part

use crate::moto;
use axum::Router;
use functions::lambda::{LambdaConfig, app_state};
use functions::state::AppState;
use serde_json::{Value, json};
use shared::adapters::aws::DynamoStore;
use std::collections::HashMap;
use tower::ServiceExt;

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
    let (moto, env, store, posts) = moto_for(name, extra).await;
    let sdk = moto::sdk(&moto.endpoint).await;
    (moto, app_state(&LambdaConfig::from_env(&env).unwrap(), &sdk).unwrap(), store, posts)
}

/// A moto server with a fresh table, bucket and job queue named `name`; the functions' environment for it as
/// the template sets it (with `extra` on top), for a state reached through any endpoint (a metering proxy);
/// the table reached directly; and the fake management API's record of pushes.
pub async fn moto_for(
    name: &str,
    extra: &[(&str, &str)],
) -> (moto::Moto, HashMap<String, String>, DynamoStore, moto::Posts) {
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
    (moto, env, DynamoStore::new(&sdk, &settings), posts)
}

/// Invokes `group`'s router with an API Gateway event, as `lambda_http::run` would: its response.
pub async fn respond(
    state: &AppState,
    group: fn(&AppState) -> Router<AppState>,
    event: &Value,
) -> axum::response::Response {
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let req = req.map(|b| axum::body::Body::from(b.to_vec()));
    group(state).with_state(state.clone()).oneshot(req).await.unwrap()
}

/// [`respond`]'s status and JSON body (`Null` when not JSON).
pub async fn invoke(state: &AppState, group: fn(&AppState) -> Router<AppState>, event: &Value) -> (u16, Value) {
    let resp = respond(state, group, event).await;
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The SQS event the worker function gets for what is waiting in the job queue (as Lambda builds it).
pub async fn sqs_event(state: &AppState) -> Value {
    let jobs = state.batch.ports.queue.receive(10, std::time::Duration::from_secs(60)).await.unwrap();
    let records: Vec<Value> = jobs
        .iter()
        .map(|j| {
            json!({"messageId": j.receipt, "receiptHandle": j.receipt, "body": j.body, "eventSource": "aws:sqs",
                   "attributes": {"ApproximateReceiveCount": j.attempts.to_string()}})
        })
        .collect();
    json!({ "Records": records })
}
