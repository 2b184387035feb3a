//! In-process push: a bounded broadcast channel that local WebSocket sessions subscribe to.
//! A slow subscriber misses messages (it is told how many) instead of slowing ingest down.

use crate::ports::{Push, PushMessage};
use async_trait::async_trait;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct BroadcastPush {
    sender: broadcast::Sender<PushMessage>,
}

impl BroadcastPush {
    /// `capacity` messages are buffered per subscriber before the oldest are dropped.
    pub fn new(capacity: usize) -> Self {
        Self { sender: broadcast::channel(capacity.max(1)).0 }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PushMessage> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl Push for BroadcastPush {
    async fn publish(&self, messages: Vec<PushMessage>) {
        for message in messages {
            // No subscribers is not an error: nobody is watching.
            let _ = self.sender.send(message);
        }
    }
}
