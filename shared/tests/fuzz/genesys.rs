//! Genesys notifications (the connector's socket messages and the `genesys-events` Lambda's EventBridge
//! details): `map_message`, then each event through the event normaliser, and delivered as the connector
//! and the Lambda deliver them (`ServiceIngest` into the realtime service over SQLite and a folder).

use crate::grammar::EVENT_KEYS;
use crate::harness::*;
use proptest::prelude::*;
use serde_json::Value;
use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::genesys::mapping::{MAX_EVENTS_PER_NOTIFICATION, map_message};
use shared::realtime::RealtimeService;
use shared::realtime::config::RealtimeConfig;
use shared::realtime::ingest::{DeliveryError, Ingest, Outgoing, ServiceIngest};
use shared::realtime::normalize::normalize_event;
use std::sync::Arc;

const GENESYS_KEYS: &[&str] = &[
    "topicName",
    "eventBody",
    "metadata",
    "messageTime",
    "notifications",
    "conversationId",
    "id",
    "participants",
    "purpose",
    "state",
    "endTime",
    "userId",
    "transcripts",
    "alternatives",
    "transcript",
    "channel",
    "confidence",
    "utterances",
    "text",
    "sentiment",
    "score",
    "eventTime",
    "status",
    "deadAirSeconds",
    "eventType",
];

/// The sample notifications in `tests/fixtures/genesys/` (real shapes: call start and end, participant
/// update, transcription, heartbeat).
fn samples() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/genesys");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()).collect()
}

/// A socket message: one sample, a list of them, or `{"notifications": [...]}`, then damaged in structure.
fn message() -> impl Strategy<Value = Value> {
    let samples = samples();
    let one = prop::sample::select(samples.clone());
    let many = prop::collection::vec(prop::sample::select(samples), 0..4);
    let keys: &'static [&'static str] = Box::leak([GENESYS_KEYS, EVENT_KEYS].concat().into_boxed_slice());
    let shaped = prop_oneof![
        one,
        many.clone().prop_map(Value::Array),
        many.prop_map(|n| serde_json::json!({"notifications": n})),
    ];
    json_edited(shaped, keys)
}

fn notifications(message: &Value) -> usize {
    match message {
        Value::Array(items) => items.len(),
        Value::Object(o) => o.get("notifications").and_then(Value::as_array).map_or(1, Vec::len),
        _ => 0,
    }
}

/// Events are bounded per notification, have distinct ids, are the same on a second mapping (a replay is
/// recognised), and go through the normaliser with an answer.
fn check_mapping(message: &Value) -> Result<(), proptest::test_runner::TestCaseError> {
    let now = chrono::DateTime::from_timestamp(1_796_032_800, 0).unwrap();
    let events = map_message(message, now);
    check(events.len() <= notifications(message) * MAX_EVENTS_PER_NOTIFICATION, || format!("{} events", events.len()))?;
    check(events == map_message(message, now), || "a second mapping differs".into())?;
    let mut ids: Vec<&str> = events.iter().filter_map(|e| e.get("event_id")?.as_str()).collect();
    ids.sort_unstable();
    let distinct = ids.windows(2).all(|w| w[0] != w[1]);
    // The same notification twice in one message is the one case of a repeated id (and is meant to be).
    check(distinct || notifications(message) > 1, || "two events of one notification share an id".into())?;
    for e in &events {
        let _ = normalize_event(e, 2_000);
    }
    Ok(())
}

#[test]
fn genesys_notification_from_samples() {
    fuzz("genesys_notification_from_samples", message(), |m| check_mapping(&m));
}

#[test]
fn genesys_message_bytes() {
    let text = mutated(message().prop_map(|m| serde_json::to_vec(&m).unwrap()));
    fuzz("genesys_message_bytes", prop_oneof![text, bytes(512), deep_json()], |bytes| {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(m) => check_mapping(&m),
            Err(_) => Ok(()),
        }
    });
}

/// Mapped events delivered into the realtime service: each is applied or refused as the client's mistake
/// (`Rejected`, logged and skipped), never `Unavailable`, which would make the connector retry it forever and
/// EventBridge redeliver it.
#[test]
fn genesys_notification_delivered() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("calls.db")).unwrap());
    let blobs = Arc::new(FolderBlobStore::new(dir.path().join("blobs")));
    let service = RealtimeService::new(store, blobs, Arc::new(BroadcastPush::new(64)), RealtimeConfig::default());
    let ingest = ServiceIngest(Arc::new(service));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = chrono::DateTime::from_timestamp(1_796_032_800, 0).unwrap();
    fuzz("genesys_notification_delivered", message(), |m| {
        for body in map_message(&m, now) {
            let delivered = rt.block_on(ingest.deliver(&Outgoing::event(body)));
            check(!matches!(delivered, Err(DeliveryError::Unavailable(_))), || format!("{delivered:?}"))?;
        }
        Ok(())
    });
}
