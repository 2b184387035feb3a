//! Forwarding what the listener produces (audio chunks, events) to the realtime ingest, in order and
//! without loss: an `Ingest` target (HTTP, or `shared`'s in-process `ServiceIngest` in the one local
//! process and on AWS), an `Outbox` per stream that overflows to a bounded on-disk spool, and a `pump` that
//! delivers with retries.

mod http;
mod outbox;
mod pump;

pub use http::{HttpIngest, IngestUrls};
pub use outbox::{Outbox, SpoolBudget, SpoolError};
pub use pump::{Courier, recover};
/// The ingest target's vocabulary lives in `shared` (the `genesys-events` Lambda delivers through it too);
/// every part of the listener names it through `forward`, where delivery happens.
pub use shared::realtime::ingest::{DeliveryError, Ingest, Kind, Outgoing, ServiceIngest, object};

use async_trait::async_trait;
use serde_json::Value;
use shared::settings::env::{self, EnvSource};

/// The settings that name an HTTP ingest. Any of them set, the listener forwards over HTTP, even with
/// `TABLE_NAME` (a listener outside AWS that keeps its heartbeats and recordings there); none set, on AWS it
/// feeds the realtime service in-process (`storage`), and elsewhere it posts to the local process's
/// default address.
pub const HTTP_TARGET_SETTINGS: [&str; 4] = [
    "REALTIME_INGEST_URL",
    "GENESYS_AUDIOHOOK_TARGET_AUDIO_INGEST_URL",
    "GENESYS_AUDIOHOOK_TARGET_EVENT_INGEST_URL",
    "GENESYS_TARGET_INGEST_URL",
];

/// Whether an HTTP ingest is named (see [`HTTP_TARGET_SETTINGS`]).
pub fn http_configured(e: &dyn EnvSource) -> bool {
    HTTP_TARGET_SETTINGS.iter().any(|name| env::string(e, name).is_some())
}

/// Whether a listener service forwards what it produces, or is a dry run (`--dry-run`): its ingest is
/// [`DryRun`], and it keeps no recordings and sends no audio to a speech-to-text provider either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Forward,
    DryRun,
}

impl Delivery {
    /// From the command line's `--dry-run` flag.
    pub fn from_dry_run(dry_run: bool) -> Self {
        if dry_run { Self::DryRun } else { Self::Forward }
    }
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
