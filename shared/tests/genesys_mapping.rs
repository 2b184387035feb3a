//! Genesys notification fixtures (written from the documented shapes) mapped and ingested by the real
//! realtime service over a real SQLite file: a call's life, a live transcript raising the escalation
//! alert, and every notification delivered twice applied once.

use serde_json::Value;
use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::config::RealtimeConfig;
use shared::genesys::mapping::map_message;
use shared::realtime::RealtimeService;
use shared::realtime::ingest::{Ingest, Kind, Outgoing, ServiceIngest};
use std::sync::Arc;

fn fixture(name: &str) -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/genesys").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_call_from_notifications_replayed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("call_analytics.db")).unwrap());
    let realtime = Arc::new(RealtimeService::new(
        store,
        Arc::new(FolderBlobStore::new(dir.path().join("blobs"))),
        Arc::new(BroadcastPush::new(16)),
        RealtimeConfig::default(),
    ));
    let ingest = ServiceIngest(realtime.clone());
    let now = chrono::Utc::now();
    for _round in 0..2 {
        for name in ["call_start", "heartbeat", "participant_update", "transcription", "call_end"] {
            for body in map_message(&fixture(name), now) {
                ingest.deliver(&Outgoing { kind: Kind::Event, body }).await.unwrap();
            }
        }
    }
    let snapshot = realtime.snapshot("5f0c9a34-8a1b-4e2c-9d3f-0b1a2c3d4e5f").await.unwrap();
    assert_eq!(snapshot["status"], "ended");
    assert_eq!(snapshot["event_count"], 5, "five events, each applied once: {snapshot}");
    assert_eq!(snapshot["agent_id"], "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4");
    let alerts: Vec<&str> = snapshot["alerts"].as_array().unwrap().iter().filter_map(|a| a["type"].as_str()).collect();
    assert!(alerts.contains(&"escalation_keyword"), "{alerts:?}");
}
