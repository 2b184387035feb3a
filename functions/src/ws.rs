//! Local WebSocket push at `/ws` (the seed's SSE, replaced): supervisors authenticate on connect, speak
//! the `ws_protocol` and receive `realtime_event`, `supervisor_alert`, `supervisor_alert_ack` and
//! `call_update` messages. On AWS the same protocol runs on API Gateway WebSocket (`ws_lambda`).

use crate::auth::{self, supervisor_ok};
use crate::error::ApiError;
use crate::state::AppState;
use crate::ws_protocol::{self as protocol, ClientMessage, MAX_CLIENT_MESSAGE, MAX_SUBSCRIPTIONS};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use serde_json::{Value, json};
use shared::adapters::embedded::BroadcastPush;
use shared::ports::PushMessage;
use shared::realtime::ServiceError;
use shared::realtime::tickets;
use shared::settings::secret::constant_time_eq;
use shared::values::timestamps::iso;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Keepalive when nothing was sent for this long (the seed's SSE ping interval).
const PING_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct WsState {
    pub app: AppState,
    pub push: BroadcastPush,
    /// Flips to true on shutdown so open sessions close and the server can drain.
    pub shutdown: watch::Receiver<bool>,
}

/// What a connection follows.
#[derive(Default)]
struct Subscription {
    all: bool,
    calls: HashSet<String>,
}

impl Subscription {
    fn wants(&self, m: &PushMessage) -> bool {
        self.all || self.calls.contains(&m.call_id)
    }

    /// Applies a client message; returns the reply.
    fn handle(&mut self, text: &str) -> Value {
        let message = match protocol::parse(text) {
            Ok(m) => m,
            Err(reply) => return reply,
        };
        match &message {
            ClientMessage::Subscribe(None) => self.all = true,
            ClientMessage::Subscribe(Some(id)) if self.calls.len() < MAX_SUBSCRIPTIONS => {
                self.calls.insert(id.clone());
            }
            ClientMessage::Subscribe(Some(_)) => return protocol::error("Too many subscriptions"),
            ClientMessage::Unsubscribe(None) => *self = Self::default(),
            ClientMessage::Unsubscribe(Some(id)) => {
                self.calls.remove(id);
            }
            ClientMessage::Ping => return protocol::pong(),
        }
        protocol::subscription(&message, self.all, self.calls.len())
    }
}

async fn upgrade(
    State(s): State<WsState>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // Browsers cannot set headers on a WebSocket: a one-time `?ticket=` (from POST /api/realtime/ws-ticket,
    // as on AWS) or, for scripts and wall screens, `?token=` are accepted too.
    let token_ok = s.app.credentials.supervisor_token().is_some_and(|token| {
        supervisor_ok(&headers, token) || q.get("token").is_some_and(|t| constant_time_eq(t, token))
    });
    let ok = token_ok
        || match q.get("ticket") {
            Some(t) => match tickets::redeem(s.app.tickets.as_ref(), t, chrono::Utc::now()).await {
                Ok(redeemed) => redeemed,
                Err(e) => return ApiError::from(ServiceError::Store(e)).into_response(),
            },
            None => false,
        };
    if !ok {
        return auth::unauthorized();
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => return ApiError::new(r.status(), "Expected a WebSocket upgrade request").into_response(),
    };
    let mut sub = Subscription::default();
    if let Some(id) = q.get("call_id") {
        sub.handle(&json!({"action": "subscribe", "call_id": id}).to_string());
    }
    let rx = s.push.subscribe();
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| session(socket, sub, rx, s.shutdown))
        .into_response()
}

async fn send(socket: &mut WebSocket, v: &Value) -> bool {
    socket.send(Message::Text(Utf8Bytes::from(v.to_string()))).await.is_ok()
}

async fn session(
    mut socket: WebSocket,
    mut sub: Subscription,
    mut rx: broadcast::Receiver<PushMessage>,
    mut shutdown: watch::Receiver<bool>,
) {
    let hello = json!({"type": "connected", "call_id": null, "timestamp": iso(&chrono::Utc::now())});
    if !send(&mut socket, &hello).await {
        return;
    }
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    loop {
        let keep_going = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => { let reply = sub.handle(t.as_str()); send(&mut socket, &reply).await }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
                Some(Ok(_)) => true,
            },
            pushed = rx.recv() => match pushed {
                Ok(m) if sub.wants(&m) => { ping.reset(); send(&mut socket, &m.body).await }
                Ok(_) => true,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    metrics::counter!(shared::process::metrics::names::PUSH_LAGGED).increment(n);
                    send(&mut socket, &json!({"type": "lagged", "missed": n})).await
                }
                Err(broadcast::error::RecvError::Closed) => false,
            },
            _ = ping.tick() => send(&mut socket, &json!({"type": "ping", "timestamp": iso(&chrono::Utc::now())})).await,
            _ = shutdown.changed() => {
                let frame = CloseFrame { code: axum::extract::ws::close_code::AWAY, reason: Utf8Bytes::from_static("server shutting down") };
                let _ = socket.send(Message::Close(Some(frame))).await;
                false
            }
        };
        if !keep_going {
            break;
        }
    }
}

pub fn ws_router<S>(state: WsState) -> Router<S> {
    Router::new().route("/ws", get(upgrade)).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(call: &str) -> PushMessage {
        PushMessage { call_id: call.into(), body: json!({}) }
    }

    #[test]
    fn subscription_protocol() {
        let mut s = Subscription::default();
        assert!(!s.wants(&msg("a")));
        assert_eq!(s.handle(r#"{"action":"subscribe","call_id":"a"}"#)["type"], "subscribed");
        assert!(s.wants(&msg("a")) && !s.wants(&msg("b")));
        assert_eq!(s.handle(r#"{"action":"subscribe"}"#)["all"], true);
        assert!(s.wants(&msg("b")));
        s.handle(r#"{"action":"unsubscribe"}"#);
        assert!(!s.wants(&msg("a")));
        assert_eq!(s.handle("nope")["type"], "error");
        assert_eq!(s.handle(r#"{"action":"subscribe","call_id":"../x"}"#)["type"], "error");
        assert_eq!(s.handle(r#"{"action":"dance"}"#)["type"], "error");
        assert_eq!(s.handle(r#"{"action":"ping"}"#)["type"], "pong");
    }
}
