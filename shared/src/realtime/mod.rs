//! The realtime use cases (ingest an event, ingest an audio chunk, read snapshots, alerts, calls and live
//! audio) written once over the ports. HTTP handlers, Lambda entrypoints and the listener all call these.

pub mod activity;
mod ahead;
pub mod alerts;
pub mod answer;
mod audio;
pub mod audio_chunk;
pub mod config;
pub mod domain;
mod events;
pub mod ingest;
pub mod keyed_lock;
pub mod keywords;
pub mod live_audio;
pub mod normalize;
mod queries;
mod retention;
pub mod risk;
pub mod tickets;

pub use events::Answer;
pub use retention::{SweepReport, delete_live_blobs};

use crate::ports::{BlobStore, CallStore, Push, StoreError};
use crate::realtime::config::RealtimeConfig;
use crate::realtime::keyed_lock::KeyedLocks;
use crate::values::timestamps::Timestamp;
use serde_json::Value;
use std::sync::Arc;
use thiserror::Error;

/// How many times a conditional write is retried after losing a race before giving up with 503.
const MAX_COMMIT_ATTEMPTS: u32 = 40;

#[derive(Debug, Error)]
pub enum ServiceError {
    /// Bad input: 400 with this text as `detail`.
    #[error("{0}")]
    BadRequest(String),
    /// The audio was stored but none of its events could be: 400 with the audio state and warnings.
    #[error("No realtime events were ingested from audio payload")]
    AudioEventsRejected { audio: Value, warnings: Vec<String> },
    #[error("{0}")]
    NotFound(&'static str),
    /// An upload past its limit: 413.
    #[error("Upload too large")]
    TooLarge,
    /// Lost too many races for the same call: 503, safe to retry (idempotency keys make it exact).
    #[error("Too many concurrent updates to this call; retry")]
    Contention,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Everything the realtime handlers need, built once per process (or per Lambda container).
pub struct RealtimeService {
    pub store: Arc<dyn CallStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub push: Arc<dyn Push>,
    pub config: RealtimeConfig,
    locks: KeyedLocks,
    clock: Clock,
}

impl RealtimeService {
    pub fn new(
        store: Arc<dyn CallStore>,
        blobs: Arc<dyn BlobStore>,
        push: Arc<dyn Push>,
        config: RealtimeConfig,
    ) -> Self {
        Self::with_clock(store, blobs, push, config, Arc::new(chrono::Utc::now))
    }

    pub fn with_clock(
        store: Arc<dyn CallStore>,
        blobs: Arc<dyn BlobStore>,
        push: Arc<dyn Push>,
        config: RealtimeConfig,
        clock: Clock,
    ) -> Self {
        Self { store, blobs, push, config, locks: KeyedLocks::default(), clock }
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }
}

/// A short randomised pause after losing a conditional write, growing with the attempt number.
async fn backoff(attempt: u32) {
    let mut b = [0u8; 2];
    let jitter = getrandom::fill(&mut b).map(|_| u64::from(u16::from_le_bytes(b)) % 1000).unwrap_or(500);
    let micros = (200 * u64::from(attempt.min(20))) + jitter;
    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
}
