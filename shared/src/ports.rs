//! Ports: the traits handlers use for I/O. Each has an `embedded` adapter (SQLite file, local folder,
//! in-process broadcast) and, with the AWS issue, an `aws` one. Adapters move bytes; all decisions are made
//! by the pure engines and the services above them.

use crate::realtime::domain::{Alert, CallState, EventRecord, NewAlert, NewEvent};
use crate::realtime::live_audio::{ChunkRef, LiveAppend, LiveHead};
use crate::values::timestamps::Timestamp;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage backend failed: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Passes a converted row on; a row that does not convert (`Corrupt`) is logged and skipped, so no stored
    /// row can make a call's events, alerts or the call list unreadable. Backend failures still fail the read.
    pub fn skip_corrupt<T>(row: Result<T, StoreError>, what: &'static str) -> Result<Option<T>, StoreError> {
        match row {
            Ok(value) => Ok(Some(value)),
            Err(StoreError::Corrupt(why)) => {
                tracing::error!(what, %why, "an unreadable stored row was skipped");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// A value read together with the version a conditional write must match.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// What `load_call` returns: the state (if any) and whether the idempotency key was already used.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedCall {
    pub state: Option<Versioned<CallState>>,
    pub duplicate: bool,
}

/// One atomic write: the new call state (conditional on `expected_version`; `None` = must not exist),
/// its event, its alerts and the idempotency key, all or nothing. Applied, the state's version becomes
/// [`EventCommit::next_version`], so an ingest can tell its own writes from anyone else's by the versions it
/// loads.
#[derive(Debug, Clone, PartialEq)]
pub struct EventCommit {
    pub state: CallState,
    pub expected_version: Option<u64>,
    /// The stored state's `updated_at` (with `expected_version`), so stores that index calls by activity can
    /// move the entry without reading it first.
    pub previous_updated_at: Option<Timestamp>,
    /// `None` for events not worth a row (bare audio chunks): the state still moves.
    pub event: Option<NewEvent>,
    pub alerts: Vec<NewAlert>,
    pub idempotency_key: Option<String>,
}

impl EventCommit {
    /// The state's version once this commit is applied: 1 for a new call, else one past the expected.
    pub fn next_version(&self) -> u64 {
        self.expected_version.map_or(1, |v| v + 1)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    /// Written; the stored event (if any) and alerts with their ids.
    Applied { event: Option<EventRecord>, alerts: Vec<Alert> },
    /// The state changed since it was read: read again and recompute.
    Conflict,
    /// The idempotency key was used by a concurrent writer.
    Duplicate,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    pub call_id: Option<String>,
    pub open_only: bool,
    pub limit: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallQuery {
    pub status: Option<String>,
    pub limit: usize,
    /// Opaque position returned by the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallPage {
    pub calls: Vec<CallState>,
    pub next_cursor: Option<String>,
}

/// What `purge_calls` removed: the caller deletes the call's blobs (live audio under `live/<call_id>/`).
#[derive(Debug, Clone, PartialEq)]
pub struct PurgedCall {
    pub call_id: String,
}

/// What `load_live_audio` returns: the window's head (if any) and whether the chunk id is in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedLiveAudio {
    pub head: Option<Versioned<LiveHead>>,
    pub duplicate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    Applied,
    /// The head changed since it was read: read again and recompute.
    Conflict,
    /// The entry's chunk id is in the window already (a concurrent writer stored it).
    Duplicate,
}

/// Calls, events, alerts, idempotency keys and the live-audio window (a head and one entry per chunk).
#[async_trait]
pub trait CallStore: Send + Sync {
    /// Reads a call's state and checks `idempotency_key` in the same round trip.
    async fn load_call(&self, call_id: &str, idempotency_key: Option<&str>) -> Result<LoadedCall, StoreError>;
    async fn commit_event(&self, commit: EventCommit) -> Result<CommitOutcome, StoreError>;
    /// The newest `limit` events by `occurred_at`, returned oldest first.
    async fn recent_events(&self, call_id: &str, limit: usize) -> Result<Vec<EventRecord>, StoreError>;
    /// The newest `limit` alerts of a call, newest first.
    async fn recent_alerts(&self, call_id: &str, limit: usize) -> Result<Vec<Alert>, StoreError>;
    async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError>;
    /// Marks an alert acknowledged if it is not yet; returns it and whether this call changed it.
    async fn acknowledge_alert(&self, alert_id: i64, at: Timestamp) -> Result<Option<(Alert, bool)>, StoreError>;
    /// Calls by last activity, newest first.
    async fn list_calls(&self, query: &CallQuery) -> Result<CallPage, StoreError>;
    /// The live-audio window's head, and whether `chunk_id` is in the window, in one round trip.
    async fn load_live_audio(&self, call_id: &str, chunk_id: Option<&str>) -> Result<LoadedLiveAudio, StoreError>;
    /// The window's oldest `limit` entries in playing order (timestamp, then arrival).
    async fn live_audio_chunks(&self, call_id: &str, limit: usize) -> Result<Vec<ChunkRef>, StoreError>;
    /// One append, all or nothing: the head (conditional on `expected_version`; `None` = must not exist), the
    /// new entry (its chunk id unique in the window) and the deletion of the dropped entries. The bytes
    /// written do not depend on the window's length.
    async fn append_live_audio(&self, append: &LiveAppend) -> Result<AppendOutcome, StoreError>;
    /// Up to `limit` calls not in a terminal status whose last activity is before `before`, oldest first.
    async fn idle_calls(&self, before: Timestamp, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Deletes up to `limit` calls last active before `before`, with their events, alerts, idempotency keys
    /// and live-audio window. Stores with native expiry (DynamoDB TTL) may return nothing and let it work.
    async fn purge_calls(&self, before: Timestamp, limit: usize) -> Result<Vec<PurgedCall>, StoreError>;
    /// Deletes one call now, with everything `purge_calls` would remove; `None` when it has no rows.
    async fn delete_call(&self, call_id: &str) -> Result<Option<PurgedCall>, StoreError>;
}

/// Which write of a blob was read (an S3 ETag; size, time and file identity for the folder), opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobVersion(pub String);

/// Bytes arriving piece by piece (an upload as the client sends it), so a large file never has to be held
/// whole. An `Err` ends the stream: the sender went away, or the caller cut it off at a limit.
pub type ByteStream<'a> = futures_util::stream::BoxStream<'a, Result<bytes::Bytes, std::io::Error>>;

/// Why `put_stream` stored nothing.
#[derive(Debug, Error)]
pub enum StreamPutError {
    /// The stream ended with an error (its own, passed on so the caller can tell its reasons apart).
    #[error("the stream broke off: {0}")]
    Stream(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opaque bytes by key (`live/…`, `recordings/…`, `uploads/…`, `outputs/…`, `staging/…`).
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// Stores what `body` yields under `key` without holding it in memory, and returns its length. All or
    /// nothing: until the stream has ended well nothing is under `key`, and a stream that breaks off (or a
    /// caller that stops waiting) leaves nothing behind. This default, for test doubles, collects it.
    async fn put_stream(&self, key: &str, mut body: ByteStream<'_>) -> Result<u64, StreamPutError> {
        use futures_util::StreamExt;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(StreamPutError::Stream)?);
        }
        let len = bytes.len() as u64;
        self.put(key, bytes).await?;
        Ok(len)
    }
    /// Moves the blob at `from` to `to`, replacing what `to` held: an upload streamed before its call had
    /// an id is moved under the call. This default, for test doubles, copies and deletes.
    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let bytes = self.get(from).await?.ok_or_else(|| StoreError::Backend(format!("no blob at {from:?}")))?;
        self.put(to, bytes).await?;
        self.delete(from).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether [`BlobStore::append`] grows a blob in place. A local file does, so a live call's audio costs
    /// one write to a file it already has per chunk; an object store cannot (S3 has no append), so there
    /// each live chunk stays its own object.
    fn appends(&self) -> bool {
        false
    }
    /// Appends `bytes` to the blob `key` (created if missing) and returns the offset they start at. Only
    /// where [`BlobStore::appends`]; this default refuses.
    async fn append(&self, key: &str, _bytes: &[u8]) -> Result<u64, StoreError> {
        Err(StoreError::Backend(format!("this blob store cannot append to {key:?}")))
    }
    /// `len` bytes of `key` from `offset`; `None` when the blob is missing or shorter. Adapters read only the
    /// range; this default, for test doubles, reads it whole.
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let range = usize::try_from(offset).ok().and_then(|o| Some(o..o.checked_add(usize::try_from(len).ok()?)?));
        Ok(self.get(key).await?.and_then(|b| range.and_then(|r| b.get(r).map(<[u8]>::to_vec))))
    }
    /// Whether `key` holds a blob. Adapters answer without reading it (the audio meta asks on every poll
    /// whether a call has a recording); this default, for test doubles, reads it.
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key).await?.is_some())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// The keys under `prefix` (a folder, ending in `/`), in no set order. Recovery needs it: the listener
    /// finds the recording parts a crash left. This default, for test doubles that never hold such blobs,
    /// lists nothing.
    async fn list(&self, _prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    /// A blob with its version, for a read-modify-write that must not overwrite another writer's work (a
    /// call's recording, joined by whichever listener task ended a session). See [`BlobStore::put_if`].
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, StoreError>;
    /// Writes `bytes` only if `key` is still as read: at `expected`, or absent when `expected` is `None`.
    /// `Ok(false)` when another writer got there first (read again and retry).
    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&BlobVersion>) -> Result<bool, StoreError>;
    /// Whether [`BlobStore::upload_url`] and [`BlobStore::download_url`] give URLs (S3) or `None` (the local
    /// folder): asked before anything is recorded for a direct upload, so a store that cannot presign never
    /// shows a call that is about to be refused.
    fn presigns(&self) -> bool {
        false
    }
    /// A URL a client can `PUT` the object to directly for `expires` (S3 presigned); `None` where uploads
    /// go through the API instead (the local folder).
    async fn upload_url(&self, _key: &str, _expires: std::time::Duration) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
    /// A URL to `GET` the object from for `expires` (S3 presigned), answered as `file`; `None` where the host
    /// streams blobs (the local folder). The object is not looked at. The URL carries credentials: never log it.
    async fn download_url(
        &self,
        _key: &str,
        _expires: std::time::Duration,
        _file: &delivery::FileMeta,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// A message for supervisors watching `call_id` (the seed's SSE message types).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushMessage {
    pub call_id: String,
    pub body: Value,
}

/// Who a call's messages go to, looked up apart from sending them: an ingest asks for it beside its other
/// reads (round 1), before the messages exist, so that after its commit only the posts are left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Whoever is subscribed when the messages are sent (the in-process broadcast: nothing to look up).
    AtDelivery,
    /// These connections, looked up beforehand.
    Connections(Vec<String>),
}

/// Fan-out to connected supervisors. Delivery is best effort: a failure never fails an ingest.
#[async_trait]
pub trait Push: Send + Sync {
    /// Who follows `call_id` now (a failed lookup is logged and reaches no one).
    async fn audience(&self, call_id: &str) -> Audience;
    /// Delivers `messages`, all about the call `audience` was looked up for, in order.
    async fn publish_to(&self, audience: &Audience, messages: Vec<PushMessage>);
    /// Delivers `messages` (one ingest's event and alerts) in order, looking followers up once per call,
    /// not once per message.
    async fn publish(&self, messages: Vec<PushMessage>) {
        let mut by_call: Vec<(String, Vec<PushMessage>)> = Vec::new();
        for m in messages {
            match by_call.iter_mut().find(|(call, _)| *call == m.call_id) {
                Some((_, same)) => same.push(m),
                None => by_call.push((m.call_id.clone(), vec![m])),
            }
        }
        for (call_id, messages) in by_call {
            let audience = self.audience(&call_id).await;
            self.publish_to(&audience, messages).await;
        }
    }
}

/// A worker's last reported status.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub component: String,
    /// Which process wrote it (see `process::instance`): with several listener tasks, each keeps its own
    /// heartbeat, so a dead task cannot hide behind a live one.
    pub instance: String,
    pub updated_at: Timestamp,
    /// The worker's status document (state, counters, last error; never secrets).
    pub status: Value,
}

/// Most instances of one component `Heartbeats::list` returns (the newest); far above any deployment's tasks.
pub const MAX_HEARTBEAT_INSTANCES: usize = 100;

/// Worker health records (the seed's status files), one per component and instance.
#[async_trait]
pub trait Heartbeats: Send + Sync {
    /// Replaces this instance's heartbeat. Stores forget an instance a day after its last beat (DynamoDB's
    /// expiry; the SQLite adapter deletes them as others beat), so restarts do not pile up.
    async fn put(&self, heartbeat: &Heartbeat) -> Result<(), StoreError>;
    /// The component's heartbeats, newest first, at most [`MAX_HEARTBEAT_INSTANCES`].
    async fn list(&self, component: &str) -> Result<Vec<Heartbeat>, StoreError>;
}

/// Nonces of signed requests (the AudioHook upgrade's signature), each accepted once while its signature is
/// valid. Kept by the store every listener task shares on AWS: a replay sent to another task is refused too.
#[async_trait]
pub trait Nonces: Send + Sync {
    /// Records `nonce` until `expires_at` (unix seconds): `true` the first time, `false` while a record of it
    /// is unexpired at `now`.
    async fn claim_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool, StoreError>;
}

/// One-time WebSocket tickets (see `tickets`), keyed by digest.
#[async_trait]
pub trait Tickets: Send + Sync {
    async fn put_ticket(&self, digest: &str, expires_at: Timestamp) -> Result<(), StoreError>;
    /// Consumes the ticket: `true` exactly once, and only before it expires.
    async fn redeem_ticket(&self, digest: &str, now: Timestamp) -> Result<bool, StoreError>;
}

/// A job as a receiver got it. `receipt` names this delivery (complete or retry with it).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedJob {
    pub receipt: String,
    /// The job's JSON text, as enqueued (or as S3 wrote it, for upload notifications on AWS).
    pub body: String,
    /// Deliveries so far, this one included.
    pub attempts: u32,
}

/// Batch jobs, at least once: a received job is hidden for its visibility timeout and delivered again
/// unless completed; after the queue's receive limit it goes to the dead letters instead.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, body: &str) -> Result<(), StoreError>;
    /// Up to `max` visible jobs, each hidden from other receivers for `visibility`.
    async fn receive(&self, max: usize, visibility: std::time::Duration) -> Result<Vec<ReceivedJob>, StoreError>;
    /// Done: the job is never delivered again.
    async fn complete(&self, receipt: &str) -> Result<(), StoreError>;
    /// Delivered again after `delay` (backoff), counting as an attempt.
    async fn retry_later(&self, receipt: &str, delay: std::time::Duration) -> Result<(), StoreError>;
}

/// Batch calls (uploads on their way through transcription and analysis), versioned like call states.
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// Stores a new call; `false` when the id is taken.
    async fn create_batch_call(&self, call: &crate::batch::BatchCall) -> Result<bool, StoreError>;
    async fn get_batch_call(&self, id: &str) -> Result<Option<Versioned<crate::batch::BatchCall>>, StoreError>;
    /// Conditional write; `false` when the version moved or the call is gone.
    async fn save_batch_call(&self, call: &crate::batch::BatchCall, expected_version: u64) -> Result<bool, StoreError>;
    /// The newest `limit` calls by id (ids sort by upload time).
    async fn list_batch_calls(&self, limit: usize) -> Result<Vec<crate::batch::BatchCall>, StoreError>;
    async fn delete_batch_call(&self, id: &str) -> Result<(), StoreError>;
}

/// Handing a file to a client: its bytes, or a short-lived link where the blob store presigns.
pub mod delivery;
