//! Scale-in drains instead of cutting calls: the real `listener audiohook` process, given an ECS agent
//! (`ECS_AGENT_URI`, here `FakeEcsAgent`, an axum server in this test that answers as the agent does),
//! protects its task from scale-in once an AudioHook session is open, and clears the protection once it
//! has been idle for `GENESYS_AUDIOHOOK_PROTECTION_IDLE_SECONDS`. A failing agent is retried and never
//! gets in the session's way.

#[path = "support/mod.rs"]
mod support;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::audiohook::SECRET_B64;
use support::process::Audiohook;
use support::server::{API_KEY, CONVERSATION, Client};

const IDLE: Duration = Duration::from_secs(1);

/// The ECS agent's task-protection endpoint: records each request with when it came, refuses the first
/// `failing` of them as the agent does when ECS does (an error status with an `error` object), and
/// answers the others with the task's protection.
#[derive(Default)]
struct FakeEcsAgent {
    requests: Mutex<Vec<(Instant, Value)>>,
    failing: Mutex<usize>,
}

async fn state(State(agent): State<Arc<FakeEcsAgent>>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    agent.requests.lock().unwrap().push((Instant::now(), body.clone()));
    let mut failing = agent.failing.lock().unwrap();
    if *failing > 0 {
        *failing -= 1;
        let error = json!({"error": {"Arn": "arn:task", "Code": "ThrottlingException", "Message": "Rate exceeded"}});
        return (StatusCode::TOO_MANY_REQUESTS, Json(error));
    }
    let protection =
        json!({"ProtectionEnabled": body["ProtectionEnabled"], "TaskArn": "arn:aws:ecs:eu-west-1:1:task/c/t"});
    (StatusCode::OK, Json(json!({"protection": protection})))
}

impl FakeEcsAgent {
    fn enabled(&self) -> Vec<(Instant, Option<bool>)> {
        self.requests.lock().unwrap().iter().map(|(at, b)| (*at, b["ProtectionEnabled"].as_bool())).collect()
    }
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_with_a_session_is_protected_from_scale_in_until_idle() {
    let dir = tempfile::tempdir().unwrap();
    let (_ingest, ingest_url) = support::ingest::start().await;
    let agent = Arc::new(FakeEcsAgent { failing: Mutex::new(1), ..FakeEcsAgent::default() });
    let base = support::serve(
        axum::Router::new().route("/api/task-1/task-protection/v1/state", put(state)).with_state(agent.clone()),
    )
    .await;
    let agent_uri = format!("{base}/api/task-1");
    let idle = IDLE.as_secs().to_string();
    let env = [
        ("ECS_AGENT_URI", agent_uri.as_str()),
        ("GENESYS_AUDIOHOOK_PROTECTION_MINUTES", "7"),
        ("GENESYS_AUDIOHOOK_PROTECTION_IDLE_SECONDS", idle.as_str()),
    ];
    let listener =
        Audiohook::start(env!("CARGO_BIN_EXE_listener"), dir.path(), (API_KEY, SECRET_B64), &ingest_url, &env).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(agent.enabled().is_empty(), "an idle task asks for nothing: {:?}", agent.enabled());

    let addr = format!("127.0.0.1:{}", listener.port);
    let (mut call, opened) = Client::open(&addr, "7f1c5a2e-1b3d-4c5e-8f9a-0b1c2d3e4f5a", CONVERSATION).await;
    assert_eq!(opened["type"], "opened");
    // The first request fails (the agent refuses); the session goes on, and the listener asks again.
    wait_until("a refused request", Duration::from_secs(5), || agent.enabled().len() == 1).await;
    call.send("ping", json!({})).await;
    assert_eq!(call.recv().await["type"], "pong", "a failing agent does not get in the session's way");
    wait_until("protection", Duration::from_secs(15), || agent.enabled().len() == 2).await;
    let requests = agent.requests.lock().unwrap().clone();
    assert_eq!(requests[0].1, json!({"ProtectionEnabled": true, "ExpiresInMinutes": 7}));
    assert_eq!(requests[1].1, requests[0].1, "retried as it was");
    assert!(
        requests[1].0 - requests[0].0 >= Duration::from_secs(3),
        "the retry waits: {:?}",
        requests[1].0 - requests[0].0
    );

    // Protected while the call lasts; cleared once the task has been idle for the delay.
    tokio::time::sleep(IDLE * 2).await;
    assert_eq!(agent.enabled().len(), 2, "nothing more while the call is open");
    call.send("close", json!({"reason": "end"})).await;
    assert_eq!(call.recv().await["type"], "closed");
    let closed = Instant::now();
    drop(call);
    wait_until("protection cleared", Duration::from_secs(10), || agent.enabled().len() == 3).await;
    let (cleared_at, enabled) = agent.enabled()[2];
    assert_eq!(enabled, Some(false));
    assert!(cleared_at - closed >= IDLE, "cleared {:?} after the call, before the idle delay", cleared_at - closed);
    assert_eq!(agent.requests.lock().unwrap()[2].1, json!({"ProtectionEnabled": false}));
    tokio::time::sleep(IDLE * 2).await;
    assert_eq!(agent.enabled().len(), 3, "cleared once");
}
