//! A fake Genesys Cloud for the connector's tests (`FakeGenesys`): OAuth, queue and user pages, channels,
//! subscriptions and the notifications WebSocket, scripted per connection.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// What the fake does on each new socket, in order.
#[derive(Clone, Copy, Debug)]
pub enum Script {
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
pub struct FakeGenesys {
    pub base: Mutex<String>,
    next_channel: Mutex<u32>,
    pub alive: Mutex<HashSet<String>>,
    pub subscriptions: Mutex<Vec<(String, Vec<String>)>>,
    pub script: Mutex<VecDeque<Script>>,
    pub connections: Mutex<Vec<String>>,
    pub pings: Mutex<u32>,
    /// Entities served by `GET /api/v2/routing/queues` and `GET /api/v2/users`, paged by 100.
    pub queues: Mutex<Vec<Value>>,
    pub users: Mutex<Vec<Value>>,
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

pub fn notification(conversation: &str) -> String {
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

async fn page(list: &[Value], q: &HashMap<String, String>) -> Json<Value> {
    let number: usize = q.get("pageNumber").and_then(|n| n.parse().ok()).unwrap_or(1);
    let size: usize = q.get("pageSize").and_then(|n| n.parse().ok()).unwrap_or(25);
    let entities: Vec<Value> = list.iter().skip((number - 1) * size).take(size).cloned().collect();
    Json(json!({"entities": entities, "pageNumber": number, "pageSize": size, "pageCount": list.len().div_ceil(size)}))
}

async fn queues(State(f): State<Arc<FakeGenesys>>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let list = f.queues.lock().unwrap().clone();
    page(&list, &q).await
}

async fn users(State(f): State<Arc<FakeGenesys>>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let list = f.users.lock().unwrap().clone();
    page(&list, &q).await
}

/// Starts the fake on loopback with the given socket scripts; returns it and its base URL.
pub async fn start(scripts: &[Script]) -> (Arc<FakeGenesys>, String) {
    let f = Arc::new(FakeGenesys::default());
    f.script.lock().unwrap().extend(scripts.iter().copied());
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v2/routing/queues", get(queues))
        .route("/api/v2/users", get(users))
        .route("/api/v2/notifications/channels", post(create))
        .route("/api/v2/notifications/channels/{id}", axum::routing::head(head))
        .route("/api/v2/notifications/channels/{id}/subscriptions", put(subscribe))
        .route("/channels/{id}", get(socket))
        .with_state(f.clone());
    let base = super::serve(app).await;
    *f.base.lock().unwrap() = base.clone();
    (f, base)
}

/// Settings pointing the API client at the fake.
pub fn env(base: &str) -> HashMap<String, String> {
    [
        ("GENESYS_CLIENT_ID", "c"),
        ("GENESYS_CLIENT_SECRET", "s"),
        ("GENESYS_LOGIN_BASE_URL", base),
        ("GENESYS_API_BASE_URL", base),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
