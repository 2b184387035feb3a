//! One notifications channel kept alive: created and subscribed once, then reused across reconnects
//! (`HEAD` first; a channel Genesys dropped is recreated and subscribed to the same topics), one socket at
//! a time, the watchdog's ping and reconnect, `v2.system.socket_closing` answered by reconnecting at once,
//! and the subscription renewed before Genesys' 24 h channel lifetime ends. Messages go out unparsed to
//! the caller, which maps and forwards them.

use super::api::{Api, ApiError};
use super::watchdog::{Verdict, Watchdog};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSettings {
    /// Silence before we ping (heartbeats come about every 30 s).
    pub ping_after: Duration,
    /// How long a ping may go unanswered.
    pub pong_within: Duration,
    /// Re-subscribe this often to keep the channel past its 24 h lifetime.
    pub resubscribe_every: Duration,
    /// `GENESYS_RECONNECT_DELAY_SECONDS` (5, at least 2): first wait after a failure, doubled while failing.
    pub reconnect_delay: Duration,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        Self {
            ping_after: Duration::from_secs(45),
            pong_within: Duration::from_secs(15),
            resubscribe_every: Duration::from_secs(23 * 3600),
            reconnect_delay: Duration::from_secs(5),
        }
    }
}

/// Counters for the connector's heartbeat.
#[derive(Debug, Default)]
pub struct ChannelStats {
    pub channels_created: AtomicU64,
    pub reconnects: AtomicU64,
    pub pings: AtomicU64,
    pub messages: AtomicU64,
    pub last_error: std::sync::Mutex<Option<String>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Channel {
    id: String,
    connect_uri: String,
}

/// Why a socket session ended.
enum Ended {
    Reconnect(&'static str),
    Stop,
}

pub struct ChannelRunner {
    pub api: Arc<Api>,
    pub topics: Vec<String>,
    pub settings: ChannelSettings,
    pub stats: Arc<ChannelStats>,
    /// Every notification message, as received.
    pub out: mpsc::UnboundedSender<Value>,
}

impl ChannelRunner {
    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut channel: Option<Channel> = None;
        let mut failures = 0u32;
        while !*stop.borrow() {
            let result = async {
                let ch = self.ensure(channel.take()).await?;
                channel = Some(ch.clone());
                let (ws, _) = tokio_tungstenite::connect_async(ch.connect_uri.as_str())
                    .await
                    .map_err(|e| format!("notifications socket: {e}"))?;
                Ok::<_, String>(self.session(ws, &ch, &mut stop).await)
            }
            .await;
            match result {
                Ok(Ended::Stop) => return,
                Ok(Ended::Reconnect(why)) => {
                    failures = 0;
                    self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(reason = why, "genesys: reconnecting the notifications socket");
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "genesys: channel failed; retrying");
                    *self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    let wait = crate::backoff::delay(self.settings.reconnect_delay, failures, Duration::from_secs(120));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stopped(&mut stop) => return,
                    }
                }
            }
        }
    }

    /// The channel to use: the previous one if Genesys still has it, else a new one subscribed to our topics.
    async fn ensure(&self, previous: Option<Channel>) -> Result<Channel, String> {
        if let Some(ch) = previous {
            match self.api.call(Method::HEAD, &format!("/api/v2/notifications/channels/{}", ch.id), None).await {
                Ok(_) => return Ok(ch),
                Err(ApiError::Status { status: 404, .. }) => {
                    tracing::info!("genesys: channel gone; creating a new one")
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        let created = self.api.call(Method::POST, "/api/v2/notifications/channels", Some(&json!({}))).await;
        let body = created.map_err(|e| e.to_string())?.body;
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(id), Some(connect_uri)) = (field("id"), field("connectUri").or_else(|| field("websocketUri"))) else {
            return Err("Genesys channel response missing id/connect URI".into());
        };
        self.stats.channels_created.fetch_add(1, Ordering::Relaxed);
        let ch = Channel { id, connect_uri };
        self.subscribe(&ch).await?;
        Ok(ch)
    }

    /// Replaces the channel's subscriptions with our topics (also renews the channel's lifetime).
    async fn subscribe(&self, ch: &Channel) -> Result<(), String> {
        let topics: Vec<Value> = self.topics.iter().map(|t| json!({"id": t})).collect();
        let path = format!("/api/v2/notifications/channels/{}/subscriptions", ch.id);
        self.api.call(Method::PUT, &path, Some(&Value::Array(topics))).await.map(|_| ()).map_err(|e| e.to_string())
    }

    async fn session(
        &self,
        mut ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        ch: &Channel,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let opened = Instant::now();
        let mut dog = Watchdog::new(self.settings.ping_after, self.settings.pong_within, Duration::ZERO);
        let mut resubscribe_at = opened + self.settings.resubscribe_every;
        loop {
            let wake = opened + dog.next_check();
            tokio::select! {
                _ = stopped(stop) => {
                    let _ = ws.close(None).await;
                    return Ended::Stop;
                }
                _ = tokio::time::sleep_until(resubscribe_at) => {
                    resubscribe_at = Instant::now() + self.settings.resubscribe_every;
                    if let Err(e) = self.subscribe(ch).await {
                        tracing::warn!(error = %e, "genesys: re-subscribing failed");
                    }
                }
                _ = tokio::time::sleep_until(wake) => match dog.check(opened.elapsed()) {
                    Verdict::Ping => {
                        self.stats.pings.fetch_add(1, Ordering::Relaxed);
                        if ws.send(Message::text(json!({"message": "ping"}).to_string())).await.is_err() {
                            return Ended::Reconnect("ping failed");
                        }
                    }
                    Verdict::Dead => return Ended::Reconnect("no heartbeat or pong"),
                    Verdict::Alive => {}
                },
                frame = ws.next() => {
                    let text = match frame {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Close(_))) | None => return Ended::Reconnect("socket closed"),
                        Some(Ok(_)) => continue,
                        Some(Err(_)) => return Ended::Reconnect("socket error"),
                    };
                    dog.heard(opened.elapsed());
                    let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                    let topic = message.get("topicName").and_then(Value::as_str).unwrap_or_default();
                    if topic == "v2.system.socket_closing" {
                        let _ = ws.close(None).await;
                        return Ended::Reconnect("socket_closing");
                    }
                    if topic != "channel.metadata" {
                        self.stats.messages.fetch_add(1, Ordering::Relaxed);
                        let _ = self.out.send(message);
                    }
                }
            }
        }
    }
}

/// Resolves once `stop` is true (without holding the watch's read guard across awaits).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
