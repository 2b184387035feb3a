//! Bare audio chunks (no transcript, nothing a supervisor sees changes) over the real realtime service on a
//! SQLite file and blob folder: the call's row is written when something visible changes or when its last
//! activity is `ACTIVITY_WRITE_SECONDS` old, not once per chunk, and idle detection still sees the call live;
//! such chunks are pushed to no one and answered without a snapshot.

use serde_json::json;
use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::ports::CallStore;
use shared::realtime::RealtimeService;
use shared::realtime::activity::ACTIVITY_WRITE_SECONDS;
use shared::realtime::config::RealtimeConfig;
use shared::values::timestamps::{Timestamp, iso};
use std::sync::{Arc, Mutex};

/// 750 ms of 8 kHz stereo at a speech-like level (no dead air), or silence.
fn pcm(silent: bool) -> Vec<u8> {
    let level = if silent { 0 } else { 800 };
    (0..12_000).flat_map(|i| (((i % 16) as i16 - 8) * level).to_le_bytes()).collect()
}

fn versions(db: &std::path::Path, call_id: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("SELECT version FROM realtime_call WHERE call_id = ?1", [call_id], |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn bare_chunks_write_the_call_when_something_shows_or_activity_is_due() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("call_analytics.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let push = Arc::new(BroadcastPush::new(4096));
    let mut pushed = push.subscribe();
    let start: Timestamp = "2026-02-10T10:00:00Z".parse().unwrap();
    let now = Arc::new(Mutex::new(start));
    let clock = now.clone();
    let service = RealtimeService::with_clock(
        store.clone(),
        Arc::new(FolderBlobStore::new(dir.path().join("blobs"))),
        push.clone(),
        RealtimeConfig::default(),
        Arc::new(move || *clock.lock().unwrap()),
    );
    // The listener's reading with every chunk: the silence so far.
    let send = |i: i64, silent: bool| {
        let dead_air = if silent { 0.75 * (i - 159) as f64 } else { 0.0 };
        let at = start + chrono::Duration::milliseconds(750 * i);
        *now.lock().unwrap() = at;
        let body = json!({"provider": "genesys", "call_id": "bare", "chunk_id": format!("s-{i}"),
            "audio_encoding": "pcm_s16le", "sample_rate": 8000, "channels": 2, "status": "active",
            "timestamp": iso(&at), "metadata": {"metrics": {"dead_air_seconds": dead_air}}});
        let service = &service;
        async move { service.ingest_audio_pcm(body.as_object().unwrap(), &pcm(silent)).await.unwrap() }
    };
    // Two minutes of speech: 160 chunks.
    for i in 0..160 {
        let out = send(i, false).await;
        assert_eq!((&out["ok"], &out["ingested_events"]), (&json!(true), &json!(1)), "{out}");
        assert_eq!(out["audio"]["chunk_count"], i + 1);
        // The first chunk starts the call (something to see); the others change nothing a supervisor sees,
        // so their answer reads nothing back.
        assert_eq!(out.get("snapshot").is_some(), i == 0, "chunk {i}: {out}");
        let idle_before = start + chrono::Duration::milliseconds(750 * i - ACTIVITY_WRITE_SECONDS * 1000 - 1);
        assert!(store.idle_calls(idle_before, 10).await.unwrap().is_empty(), "chunk {i}: the call is live");
    }
    let written = versions(&db, "bare");
    let due = 120 / ACTIVITY_WRITE_SECONDS;
    assert!((due..=due + 1).contains(&written), "{written} writes of the call for 160 bare chunks");
    let mut events = 0;
    while let Ok(m) = pushed.try_recv() {
        events += usize::from(m.body["type"] == "realtime_event");
    }
    // Only the call's start is pushed: a chunk written for its activity alone would post the same row to
    // every supervisor following all calls.
    assert_eq!(events, 1, "{written} writes of the call, {events} pushes");
    // 36 s of silence: the dead air a supervisor sees (risk, alerts) is written as it grows.
    for i in 160..208 {
        send(i, true).await;
    }
    let mut alerts_pushed = 0;
    while let Ok(m) = pushed.try_recv() {
        alerts_pushed += usize::from(m.body["type"] == "supervisor_alert");
    }
    assert_eq!(alerts_pushed, 2, "what a supervisor sees is still pushed");
    let snapshot = service.snapshot("bare").await.unwrap();
    let alerts: Vec<&str> =
        snapshot["alerts"].as_array().unwrap().iter().map(|a| a["severity"].as_str().unwrap()).collect();
    assert_eq!(alerts, ["high", "medium"], "{snapshot}");
    assert!(versions(&db, "bare") > written + 2);
}
