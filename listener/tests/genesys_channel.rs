//! A notifications channel against a fake Genesys service on loopback (`FakeGenesys`: OAuth, channels,
//! subscriptions and the notifications WebSocket, scripted per connection): socket_closing → reconnect on
//! the same channel with the same topics, silence → ping → reconnect, channel gone (404) → a new channel
//! subscribed to the same topics.

#[path = "support/mod.rs"]
mod support;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use listener::genesys::api::{Api, ApiSettings};
use listener::genesys::channel::{ChannelRunner, ChannelSettings, ChannelStats};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake does on each new socket, in order.
#[derive(Clone, Copy, Debug)]
enum Script {
    /// Heartbeat, a notification, then the maintenance warning.
    NotifyThenClosing(&'static str),
    /// Says nothing and never answers pings.
    Silent,
    /// Forgets the channel and hangs up.
    ChannelGone,
    /// A notification, then stays open.
    NotifyAndHold(&'static str),
}

#[derive(Default)]
struct FakeGenesys {
    base: Mutex<String>,
    next_channel: Mutex<u32>,
    alive: Mutex<HashSet<String>>,
    subscriptions: Mutex<Vec<(String, Vec<String>)>>,
    script: Mutex<VecDeque<Script>>,
    connections: Mutex<Vec<String>>,
    pings: Mutex<u32>,
}

async fn token() -> Json<Value> {
    Json(json!({"access_token": "t", "expires_in": 86399}))
}

async fn create(State(f): State<Arc<FakeGenesys>>) -> Json<Value> {
    let mut n = f.next_channel.lock().unwrap();
    *n += 1;
    let id = format!("ch-{n}");
    f.alive.lock().unwrap().insert(id.clone());
    let uri = format!("{}/channels/{id}", f.base.lock().unwrap().replacen("http", "ws", 1));
    Json(json!({"id": id, "connectUri": uri, "expires": "2026-12-01T12:00:00Z"}))
}

async fn head(State(f): State<Arc<FakeGenesys>>, Path(id): Path<String>) -> StatusCode {
    if f.alive.lock().unwrap().contains(&id) { StatusCode::OK } else { StatusCode::NOT_FOUND }
}

async fn subscribe(State(f): State<Arc<FakeGenesys>>, Path(id): Path<String>, Json(body): Json<Value>) -> Json<Value> {
    let topics = body.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    f.subscriptions.lock().unwrap().push((id, topics));
    Json(json!({"entities": []}))
}

fn notification(conversation: &str) -> String {
    json!({"topicName": "v2.routing.queues.q1.conversations.calls",
           "eventBody": {"id": conversation, "participants": []}})
    .to_string()
}

async fn socket(State(f): State<Arc<FakeGenesys>>, Path(id): Path<String>, ws: WebSocketUpgrade) -> Response {
    f.connections.lock().unwrap().push(id.clone());
    let script = f.script.lock().unwrap().pop_front().unwrap_or(Script::Silent);
    ws.on_upgrade(move |mut s: WebSocket| async move {
        let heartbeat = json!({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}});
        match script {
            Script::NotifyThenClosing(conv) => {
                let _ = s.send(Message::text(heartbeat.to_string())).await;
                let _ = s.send(Message::text(notification(conv))).await;
                let closing = json!({"topicName": "v2.system.socket_closing", "eventBody": {"message": "closing"}});
                let _ = s.send(Message::text(closing.to_string())).await;
            }
            Script::ChannelGone => {
                f.alive.lock().unwrap().remove(&id);
                let _ = s.send(Message::Close(None)).await;
                return;
            }
            Script::NotifyAndHold(conv) => {
                let _ = s.send(Message::text(notification(conv))).await;
            }
            Script::Silent => {}
        }
        while let Some(Ok(m)) = s.recv().await {
            if let Message::Text(t) = m
                && t.as_str().contains("ping")
            {
                *f.pings.lock().unwrap() += 1;
            }
        }
    })
}

#[tokio::test]
async fn the_channel_survives_closing_silence_and_loss() {
    let f = Arc::new(FakeGenesys::default());
    f.script.lock().unwrap().extend([
        Script::NotifyThenClosing("conv-a"),
        Script::Silent,
        Script::ChannelGone,
        Script::NotifyAndHold("conv-b"),
    ]);
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v2/notifications/channels", post(create))
        .route("/api/v2/notifications/channels/{id}", axum::routing::head(head))
        .route("/api/v2/notifications/channels/{id}/subscriptions", put(subscribe))
        .route("/channels/{id}", get(socket))
        .with_state(f.clone());
    let base = support::serve(app).await;
    *f.base.lock().unwrap() = base.clone();

    let env: HashMap<String, String> = [
        ("GENESYS_CLIENT_ID", "c"),
        ("GENESYS_CLIENT_SECRET", "s"),
        ("GENESYS_LOGIN_BASE_URL", base.as_str()),
        ("GENESYS_API_BASE_URL", base.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let api = Arc::new(Api::new(ApiSettings::from_env(&env).unwrap()).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stats = Arc::new(ChannelStats::default());
    let topics = vec!["v2.routing.queues.q1.conversations.calls".to_string(), "v2.users.u1.conversations.calls".into()];
    let runner = ChannelRunner {
        api,
        topics: topics.clone(),
        settings: ChannelSettings {
            ping_after: Duration::from_millis(300),
            pong_within: Duration::from_millis(300),
            reconnect_delay: Duration::from_millis(100),
            ..ChannelSettings::default()
        },
        stats: stats.clone(),
        out: tx,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(runner.run(stopped));

    let mut seen = Vec::new();
    while seen.len() < 2 {
        let m = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("notifications").unwrap();
        seen.push(m["eventBody"]["id"].as_str().unwrap().to_string());
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();

    assert_eq!(seen, ["conv-a", "conv-b"], "heartbeats and system messages are not passed on");
    assert_eq!(
        *f.connections.lock().unwrap(),
        ["ch-1", "ch-1", "ch-1", "ch-2"],
        "the channel is reused until it is gone"
    );
    assert_eq!(
        *f.subscriptions.lock().unwrap(),
        [("ch-1".to_string(), topics.clone()), ("ch-2".to_string(), topics)],
        "subscribed once per channel, the new one to the same topics"
    );
    assert!(*f.pings.lock().unwrap() >= 1, "the silent socket was pinged before giving up");
    assert_eq!(stats.channels_created.load(std::sync::atomic::Ordering::Relaxed), 2);
}
