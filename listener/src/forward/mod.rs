//! Forwarding what the listener produces (audio chunks, events) to the realtime ingest, in order and
//! without loss: an `Ingest` target (HTTP, or the service itself in the one local process), an `Outbox`
//! per stream that overflows to a bounded on-disk spool, and a `pump` that delivers with retries.

mod http;
mod outbox;
mod pump;
mod service;

pub use http::{HttpIngest, IngestUrls};
pub use outbox::{Outbox, SpoolBudget, SpoolError};
pub use pump::{Courier, recover};
pub use service::ServiceIngest;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// A payload built with `json!({...})` as the map the ingest takes (anything but an object is empty).
pub fn object(v: serde_json::Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Which ingest endpoint a payload goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `POST /api/realtime/audio/chunk`.
    Audio,
    /// `POST /api/realtime/events`.
    Event,
}

/// One payload, exactly as the ingest endpoint takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    pub kind: Kind,
    pub body: Map<String, Value>,
}

#[derive(Debug, Error, PartialEq)]
pub enum DeliveryError {
    /// Try again later (network, 5xx, 429, auth or routing trouble an operator can fix): keep the payload.
    #[error("ingest unavailable: {0}")]
    Unavailable(String),
    /// The ingest refused this payload as invalid; sending it again cannot help.
    #[error("ingest rejected the payload: {0}")]
    Rejected(String),
}

/// Where payloads go.
#[async_trait]
pub trait Ingest: Send + Sync {
    async fn deliver(&self, item: &Outgoing) -> Result<(), DeliveryError>;
}

/// `--dry-run`: log what would be sent, send nothing.
pub struct DryRun;

#[async_trait]
impl Ingest for DryRun {
    async fn deliver(&self, item: &Outgoing) -> Result<(), DeliveryError> {
        let call = item.body.get("call_id").and_then(Value::as_str).unwrap_or_default();
        tracing::info!(kind = ?item.kind, call, "dry run: not forwarding");
        Ok(())
    }
}

/// Forwarding counters for the heartbeat.
#[derive(Debug, Default)]
pub struct ForwardStats {
    pub forwarded_chunks: std::sync::atomic::AtomicU64,
    pub forwarded_events: std::sync::atomic::AtomicU64,
    /// Delivery attempts that failed and will be retried.
    pub forward_failures: std::sync::atomic::AtomicU64,
    /// Payloads the ingest refused as invalid.
    pub rejected: std::sync::atomic::AtomicU64,
    /// Payloads lost because the spool was full or unwritable (or a spool line was unreadable).
    pub dropped: std::sync::atomic::AtomicU64,
    /// The last problem, without secrets (URLs are stripped from transport errors).
    pub last_error: std::sync::Mutex<Option<String>>,
}

impl ForwardStats {
    pub fn note_error(&self, error: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
    }
}
