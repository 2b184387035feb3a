//! Every Lambda function's handler, fed its sample event from `events/` through `lambda_http`'s own event
//! parsing, on the AWS adapters against moto (DynamoDB, S3) and a fake API Gateway Management API for push:
//! ingest → push → snapshot → alerts → ack, plus the other functions and the JWT requirement.
#![cfg(feature = "aws")]

#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use axum::Router;
use functions::lambda::{LambdaConfig, app_state};
use functions::routes::{alerts, calls, health, ingest, live_audio, openapi};
use functions::state::AppState;
use serde_json::Value;
use shared::adapters::aws::DynamoStore;
use std::collections::HashMap;
use tower::ServiceExt;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Invokes `group`'s router with an API Gateway event, as `lambda_http::run` would.
async fn invoke(state: &AppState, group: fn(&AppState) -> Router<AppState>, event: &Value) -> (u16, Value) {
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let req = req.map(|b| axum::body::Body::from(b.to_vec()));
    let resp = group(state).with_state(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_handles_its_sample_event() {
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, "lambdas").await;
    let (callback, posts) = moto::fake_management_api().await;
    let env: HashMap<String, String> = [
        ("TABLE_NAME", "lambdas"),
        ("BUCKET_NAME", "lambdas"),
        ("REALTIME_INGEST_TOKEN", "replace-me"),
        ("WEBSOCKET_CALLBACK_URL", callback.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let state = app_state(&LambdaConfig::from_env(&env).unwrap(), &sdk);
    let store = DynamoStore::new(&sdk, &settings);
    let now = chrono::Utc::now();
    store.connect("supervisor-1", now).await.unwrap();
    assert!(store.subscribe("supervisor-1", Some("demo-call-1"), now).await.unwrap());

    let (status, v) = invoke(&state, ingest::events_router, &fixture("ingest-event")).await;
    assert_eq!(status, 200, "{v}");
    let kinds: Vec<&str> = v["alerts"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["negative_sentiment", "escalation_keyword", "high_risk_score"]);
    let pushed: Vec<Value> = posts.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    let pushed: Vec<&str> = pushed.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(pushed, ["realtime_event", "supervisor_alert", "supervisor_alert", "supervisor_alert"]);

    let (status, v) = invoke(&state, ingest::audio_router, &fixture("ingest-audio-chunk")).await;
    assert_eq!((status, &v["audio"]["chunk_count"]), (200, &Value::from(1)), "{v}");

    let (status, snap) = invoke(&state, calls::snapshot_router, &fixture("snapshot")).await;
    assert_eq!((status, snap["call_id"].as_str()), (200, Some("demo-call-1")), "{snap}");
    assert_eq!(snap["alerts"].as_array().unwrap().len(), 3);
    let (status, list) = invoke(&state, calls::calls_router, &fixture("calls")).await;
    assert_eq!((status, list["calls"][0]["call_id"].as_str()), (200, Some("demo-call-1")));
    let (status, _) = invoke(&state, live_audio::live_audio_router, &fixture("live-audio")).await;
    assert_eq!(status, 200);

    let (status, open) = invoke(&state, alerts::alerts_router, &fixture("alerts")).await;
    assert_eq!((status, open["alerts"].as_array().unwrap().len()), (200, 3));
    let id = open["alerts"][0]["id"].as_i64().unwrap();
    let mut ack = fixture("alert-ack");
    for pointer in ["/rawPath", "/requestContext/http/path"] {
        *ack.pointer_mut(pointer).unwrap() = Value::from(format!("/api/realtime/alerts/{id}/ack"));
    }
    ack["pathParameters"]["alert_id"] = Value::from(id.to_string());
    let (status, acked) = invoke(&state, alerts::ack_router, &ack).await;
    assert_eq!((status, &acked["alert"]["acknowledged"]), (200, &Value::from(true)), "{acked}");
    let (_, open) = invoke(&state, alerts::alerts_router, &fixture("alerts")).await;
    assert_eq!(open["alerts"].as_array().unwrap().len(), 2);

    let (status, h) = invoke(&state, health::health_router, &fixture("health")).await;
    assert_eq!((status, h["state"].as_str()), (200, Some("not_running")));
    let (status, doc) = invoke(&state, |_| openapi::openapi_router(), &fixture("openapi")).await;
    assert_eq!((status, doc["openapi"].as_str()), (200, Some("3.1.0")));

    // Without the authorizer's claims (the route was not behind the JWT authorizer) supervisors are refused,
    // and the ingest token is still checked.
    let mut bare = fixture("snapshot");
    bare["requestContext"].as_object_mut().unwrap().remove("authorizer");
    assert_eq!(invoke(&state, calls::snapshot_router, &bare).await.0, 401);
    let mut forged = fixture("ingest-event");
    forged["headers"]["x-cloud-token"] = Value::from("wrong");
    assert_eq!(invoke(&state, ingest::events_router, &forged).await.0, 401);
}
