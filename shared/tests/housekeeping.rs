//! Housekeeping through the realtime service on the embedded adapters, with a clock the test moves.

use chrono::Duration;
use serde_json::json;
use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::realtime::config::RealtimeConfig;
use shared::realtime::{RealtimeService, SweepReport};
use shared::values::timestamps::{Timestamp, parse_iso};
use std::sync::{Arc, Mutex};

struct Fixture {
    service: RealtimeService,
    push: BroadcastPush,
    clock: Arc<Mutex<Timestamp>>,
    blobs_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let blobs_dir = dir.path().join("blobs");
    let push = BroadcastPush::new(64);
    let clock = Arc::new(Mutex::new(parse_iso("2026-02-10T10:00:00Z").unwrap()));
    let c = clock.clone();
    let service = RealtimeService::with_clock(
        store,
        Arc::new(FolderBlobStore::new(&blobs_dir)),
        Arc::new(push.clone()),
        RealtimeConfig::default(),
        Arc::new(move || *c.lock().unwrap()),
    );
    Fixture { service, push, clock, blobs_dir, _dir: dir }
}

impl Fixture {
    fn advance(&self, d: Duration) {
        *self.clock.lock().unwrap() += d;
    }
}

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn idle_calls_end_and_old_calls_are_deleted_with_their_audio() {
    let f = fixture();
    f.service.ingest_event(&obj(json!({"call_id": "idle", "text": "hello", "provider": "genesys"}))).await.unwrap();
    f.service.ingest_event(&obj(json!({"call_id": "done", "status": "ended"}))).await.unwrap();
    let pcm = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, vec![1u8; 3200]);
    f.service.ingest_audio(&obj(json!({"call_id": "idle", "audio_b64": pcm, "chunk_id": "a1"}))).await.unwrap();
    assert!(f.blobs_dir.join("live/idle").read_dir().unwrap().next().is_some());

    f.advance(Duration::minutes(119));
    assert_eq!(f.service.sweep().await.unwrap(), SweepReport::default(), "not idle yet");

    let mut rx = f.push.subscribe();
    f.advance(Duration::minutes(2));
    assert_eq!(f.service.sweep().await.unwrap(), SweepReport { ended: 1, purged: 0 });
    let snap = f.service.snapshot("idle").await.unwrap();
    assert_eq!((snap["status"].as_str(), snap["provider"].as_str()), (Some("ended"), Some("genesys")));
    let last = snap["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["type"].as_str(), last["metadata"]["end_reason"].as_str()),
        (Some("call_end"), Some("idle_timeout"))
    );
    let pushed = rx.recv().await.unwrap();
    assert_eq!((pushed.call_id.as_str(), pushed.body["status"].as_str()), ("idle", Some("ended")));
    assert_eq!(f.service.sweep().await.unwrap(), SweepReport::default(), "an ended call is not ended again");

    // The idle end was the idle call's last activity; 90 days after it, both calls are past retention.
    f.advance(Duration::days(90) + Duration::minutes(1));
    assert_eq!(f.service.sweep().await.unwrap(), SweepReport { ended: 0, purged: 2 });
    assert_eq!(f.service.snapshot("idle").await.unwrap()["status"], "idle", "unknown again");
    assert!(f.blobs_dir.join("live/idle").read_dir().unwrap().next().is_none(), "live chunks deleted");
    let calls = f.service.list_calls(None, 50, None).await.unwrap();
    assert_eq!(calls["calls"], json!([]));
}

#[tokio::test]
async fn zero_disables_housekeeping() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let cfg = RealtimeConfig { call_idle_minutes: 0, retention_days: 0, ..RealtimeConfig::default() };
    let start = parse_iso("2026-02-10T10:00:00Z").unwrap();
    let clock = Arc::new(Mutex::new(start));
    let c = clock.clone();
    let service = RealtimeService::with_clock(
        store,
        Arc::new(FolderBlobStore::new(dir.path())),
        Arc::new(BroadcastPush::new(4)),
        cfg,
        Arc::new(move || *c.lock().unwrap()),
    );
    service.ingest_event(&obj(json!({"call_id": "keep", "text": "hi"}))).await.unwrap();
    *clock.lock().unwrap() = start + Duration::days(3650);
    assert_eq!(service.sweep().await.unwrap(), SweepReport::default());
    assert_eq!(service.snapshot("keep").await.unwrap()["status"], "active");
}
