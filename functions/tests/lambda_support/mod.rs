//! Driving Lambda handlers in-process as the Lambda runtime would: the sample events from `events/` parsed
//! by `lambda_http`, routed through the endpoint group's router, and the SQS event the batch worker gets.
#![allow(dead_code)] // each test binary uses a different part

use axum::Router;
use functions::state::AppState;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The sample event `events/<name>.json`.
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
