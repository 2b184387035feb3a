//! Where realtime payloads go, as the producers outside the HTTP API see it: the listener's AudioHook
//! pipeline and notifications connector, and the `genesys-events` Lambda. An [`Ingest`] takes one
//! [`Outgoing`] payload and says whether to keep it for later or drop it; [`ServiceIngest`] is the ingest
//! called in-process (the one local process and the Lambda feed their own realtime service, same payloads,
//! no HTTP hop). The listener's HTTP ingest and outboxes build on the same types.

use super::{Answer, RealtimeService, ServiceError};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;
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

/// One payload for an ingest endpoint. A chunk's audio travels as bytes beside its body: in-process nothing
/// encodes it, and only what leaves the process (the HTTP ingest, a spool line) carries it in the body as
/// `audio_b64`, the endpoint's format, via [`Outgoing::wire_body`]. Serialised (the spool) it is
/// `{"kind", "body"}` with the audio in the body, as every release wrote it, so any spool line reads back
/// (then with the audio in the body, which [`ServiceIngest`] and the endpoint decode alike).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Outgoing {
    pub kind: Kind,
    pub body: Map<String, Value>,
    /// Interleaved s16le PCM of an audio chunk not yet put in the body.
    #[serde(skip)]
    pub audio: Option<Vec<u8>>,
}

impl Outgoing {
    /// An event (`POST /api/realtime/events`).
    pub fn event(body: Map<String, Value>) -> Self {
        Self { kind: Kind::Event, body, audio: None }
    }

    /// An audio chunk: its metadata in `body`, its PCM as bytes.
    pub fn audio(body: Map<String, Value>, pcm: Vec<u8>) -> Self {
        Self { kind: Kind::Audio, body, audio: Some(pcm) }
    }

    /// The body exactly as the endpoint takes it: with the audio as `audio_b64`.
    pub fn wire_body(&self) -> Cow<'_, Map<String, Value>> {
        match &self.audio {
            None => Cow::Borrowed(&self.body),
            Some(pcm) => {
                let mut body = self.body.clone();
                body.insert("audio_b64".into(), STANDARD.encode(pcm).into());
                Cow::Owned(body)
            }
        }
    }
}

impl Serialize for Outgoing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            kind: Kind,
            body: &'a Map<String, Value>,
        }
        Line { kind: self.kind, body: &self.wire_body() }.serialize(s)
    }
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

/// The realtime service in this process as the ingest. Acknowledged means stored: the answer is discarded,
/// so it is asked for lean (no snapshot read back after each payload).
pub struct ServiceIngest(pub Arc<RealtimeService>);

#[async_trait]
impl Ingest for ServiceIngest {
    async fn deliver(&self, item: &Outgoing) -> Result<(), DeliveryError> {
        let result = match item.kind {
            Kind::Audio => self.0.ingest_chunk(&item.body, item.audio.as_deref(), Answer::Lean).await.map(drop),
            Kind::Event => self.0.ingest_event_answering(&item.body, Answer::Lean).await.map(drop),
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
