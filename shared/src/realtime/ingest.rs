//! Where realtime payloads go, as the producers outside the HTTP API see it: the listener's AudioHook
//! pipeline and notifications connector, and the `genesys-events` Lambda. An [`Ingest`] takes one
//! [`Outgoing`] payload and says whether to keep it for later or drop it; [`ServiceIngest`] is the ingest
//! called in-process (the one local process and the Lambda feed their own realtime service, same payloads,
//! no HTTP hop). The listener's HTTP ingest and outboxes build on the same types.

use super::{RealtimeService, ServiceError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use thiserror::Error;

/// A payload built with `json!({...})` as the map the ingest takes (anything but an object is empty).
pub fn object(v: Value) -> Map<String, Value> {
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

pub struct ServiceIngest(pub Arc<RealtimeService>);

#[async_trait]
impl Ingest for ServiceIngest {
    async fn deliver(&self, item: &Outgoing) -> Result<(), DeliveryError> {
        let result = match item.kind {
            Kind::Audio => self.0.ingest_audio(&item.body).await,
            Kind::Event => self.0.ingest_event(&item.body).await,
        };
        match result {
            Ok(_) => Ok(()),
            Err(e @ (ServiceError::Contention | ServiceError::Store(_))) => {
                Err(DeliveryError::Unavailable(e.to_string()))
            }
            Err(e) => Err(DeliveryError::Rejected(e.to_string())),
        }
    }
}
