//! The Genesys API client against a fake Genesys service on loopback (`FakeGenesys`, an axum server in
//! this test): client-credentials token cached and renewed once on 401, 429 waited out per `Retry-After`,
//! 5xx retried up to the attempt limit.

#[path = "support/mod.rs"]
mod support;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use listener::genesys::api::{Api, ApiError, ApiSettings};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fake Genesys: counts token grants and calls per probe.
#[derive(Default)]
struct FakeGenesys {
    tokens_issued: Mutex<u32>,
    calls: Mutex<HashMap<String, u32>>,
}

async fn token(State(f): State<Arc<FakeGenesys>>, headers: HeaderMap, body: String) -> (StatusCode, Json<Value>) {
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    // base64("client:secret")
    if basic != "Basic Y2xpZW50OnNlY3JldA==" || body != "grant_type=client_credentials" {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"})));
    }
    let mut n = f.tokens_issued.lock().unwrap();
    *n += 1;
    (StatusCode::OK, Json(json!({"access_token": format!("tok-{n}"), "token_type": "bearer", "expires_in": 86399})))
}

async fn probe(
    State(f): State<Arc<FakeGenesys>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, HeaderMap, Json<Value>) {
    let calls = {
        let mut c = f.calls.lock().unwrap();
        let n = c.entry(name.clone()).or_default();
        *n += 1;
        *n
    };
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut out = HeaderMap::new();
    let status = match name.as_str() {
        "stale-token" if bearer == "Bearer tok-1" => StatusCode::UNAUTHORIZED,
        "always-401" => StatusCode::UNAUTHORIZED,
        "limited" if calls == 1 => {
            out.insert("retry-after", "1".parse().unwrap());
            StatusCode::TOO_MANY_REQUESTS
        }
        "broken" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    (status, out, Json(json!({"probe": name, "bearer": bearer})))
}

async fn fake() -> (Arc<FakeGenesys>, Api) {
    let f = Arc::new(FakeGenesys::default());
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v2/probe/{name}", get(probe))
        .with_state(f.clone());
    let base = support::serve(app).await;
    let settings = ApiSettings::from_env(&[
        ("GENESYS_CLIENT_ID", "client"),
        ("GENESYS_CLIENT_SECRET", "secret"),
        ("GENESYS_LOGIN_BASE_URL", base.as_str()),
        ("GENESYS_API_BASE_URL", base.as_str()),
        ("GENESYS_RETRY_MAX_ATTEMPTS", "3"),
        ("GENESYS_RETRY_BACKOFF_SECONDS", "0.2"),
    ])
    .unwrap();
    (f, Api::new(settings).unwrap())
}

fn calls(f: &FakeGenesys, name: &str) -> u32 {
    f.calls.lock().unwrap().get(name).copied().unwrap_or(0)
}

#[tokio::test]
async fn the_token_is_cached_and_renewed_once_on_401() {
    let (f, api) = fake().await;
    let a = api.call(Method::GET, "/api/v2/probe/plain", None).await.unwrap();
    api.call(Method::GET, "/api/v2/probe/plain", None).await.unwrap();
    assert_eq!((a.status, a.body["bearer"].as_str()), (200, Some("Bearer tok-1")));
    assert_eq!(*f.tokens_issued.lock().unwrap(), 1, "one grant for two calls");

    let b = api.call(Method::GET, "/api/v2/probe/stale-token", None).await.unwrap();
    assert_eq!(b.body["bearer"], "Bearer tok-2", "401 → a new token and the call again");
    assert_eq!((calls(&f, "stale-token"), *f.tokens_issued.lock().unwrap()), (2, 2));

    let err = api.call(Method::GET, "/api/v2/probe/always-401", None).await.unwrap_err();
    assert!(matches!(err, ApiError::Status { status: 401, .. }), "{err}");
    assert_eq!(calls(&f, "always-401"), 2, "renewed once, not forever");
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let (f, api) = fake().await;
    let started = Instant::now();
    let a = api.call(Method::GET, "/api/v2/probe/limited", None).await.unwrap();
    assert_eq!(a.status, 200);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited as Retry-After asked");
    assert_eq!(calls(&f, "limited"), 2);
}

#[tokio::test]
async fn server_errors_are_retried_up_to_the_limit() {
    let (f, api) = fake().await;
    let err = api.call(Method::GET, "/api/v2/probe/broken", None).await.unwrap_err();
    assert!(matches!(err, ApiError::Status { status: 503, .. }), "{err}");
    assert_eq!(calls(&f, "broken"), 3);
}

#[tokio::test]
async fn wrong_client_credentials_are_reported() {
    let (_, api) = fake().await;
    let wrong = ApiSettings { client_secret: "nope".into(), ..api.settings().clone() };
    let err = Api::new(wrong).unwrap().call(Method::GET, "/api/v2/probe/plain", None).await.unwrap_err();
    assert!(err.to_string().contains("oauth/token: HTTP 401"), "{err}");
}
