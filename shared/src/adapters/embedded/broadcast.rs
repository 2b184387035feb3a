//! In-process push: a bounded broadcast channel that local WebSocket sessions subscribe to.
//! A slow subscriber misses messages (it is told how many) instead of slowing ingest down.

use crate::ports::{Audience, Push, PushMessage};
use crate::process::metrics::gauges::{Sampled, sample};
use crate::process::metrics::names::{PUSH_CONNECTIONS, PUSH_MESSAGES};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct BroadcastPush {
    sender: broadcast::Sender<PushMessage>,
    /// Reports the subscribers (the push connections) while this channel exists.
    _connections: Arc<Sampled>,
}

impl BroadcastPush {
    /// `capacity` messages are buffered per subscriber before the oldest are dropped.
    pub fn new(capacity: usize) -> Self {
        let sender = broadcast::channel(capacity.max(1)).0;
        let watched = sender.downgrade();
        let connections = sample(move |r| {
            r.add(PUSH_CONNECTIONS, watched.upgrade().map_or(0, |s| s.receiver_count()) as f64);
        });
        Self { sender, _connections: Arc::new(connections) }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PushMessage> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl Push for BroadcastPush {
    /// Nothing to look up: every local session gets every message and filters by what it follows.
    async fn audience(&self, _call_id: &str) -> Audience {
        Audience::AtDelivery
    }

    async fn publish_to(&self, _audience: &Audience, messages: Vec<PushMessage>) {
        metrics::counter!(PUSH_MESSAGES).increment(messages.len() as u64);
        for message in messages {
            // No subscribers is not an error: nobody is watching.
            let _ = self.sender.send(message);
        }
    }
}
