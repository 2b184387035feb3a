//! The port contract on the embedded adapters: a real SQLite file and a real folder.

#[macro_use]
mod port_contract;

use shared::adapters::embedded::{FolderBlobStore, SqliteStore};
use shared::ports::{BlobStore, CallStore, Heartbeat, Heartbeats};
use shared::values::timestamps::parse_iso;
use std::sync::Arc;
use tempfile::TempDir;

fn sqlite() -> (TempDir, Arc<SqliteStore>) {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db").join("test.db")).unwrap());
    (dir, store)
}

macro_rules! call_store_contract {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let (_dir, store) = sqlite();
            port_contract::$name(store).await;
        }
    )*};
}

call_store_cases!(call_store_contract);
// With the cases every adapter runs; not in `call_store_cases!` since moto loses concurrent transactions.
call_store_contract!(concurrent_commits);

#[tokio::test]
async fn heartbeats() {
    let (_dir, store) = sqlite();
    port_contract::heartbeat_round_trip(store).await;
}

/// Each restart is a new instance: the file forgets one a day after its last beat (DynamoDB expires the item).
#[tokio::test]
async fn heartbeats_of_instances_gone_for_a_day_are_deleted() {
    let (_dir, store) = sqlite();
    let beat = |instance: &str, at: &str| Heartbeat {
        component: "worker".into(),
        instance: instance.into(),
        updated_at: parse_iso(at).unwrap(),
        status: serde_json::json!({"state": "running"}),
    };
    store.put(&beat("before-restart", "2026-02-10T10:00:00Z")).await.unwrap();
    store.put(&beat("after-restart", "2026-02-11T09:59:59Z")).await.unwrap();
    assert_eq!(store.list("worker").await.unwrap().len(), 2, "not yet a day");
    store.put(&beat("after-restart", "2026-02-11T10:00:01Z")).await.unwrap();
    let left: Vec<String> = store.list("worker").await.unwrap().into_iter().map(|h| h.instance).collect();
    assert_eq!(left, ["after-restart"]);
}

#[tokio::test]
async fn tickets() {
    let (_dir, store) = sqlite();
    port_contract::ticket_redeemed_once(store).await;
}

#[tokio::test]
async fn job_queue() {
    let (_dir, store) = sqlite();
    port_contract::job_delivery(store.clone()).await;
    port_contract::job_dead_letter(store, shared::adapters::embedded::MAX_RECEIVES).await;
}

#[tokio::test]
async fn folder_blobs() {
    let dir = TempDir::new().unwrap();
    port_contract::blob_round_trip(Arc::new(FolderBlobStore::new(dir.path()))).await;
    port_contract::blob_conditional_writes(Arc::new(FolderBlobStore::new(dir.path()))).await;
    port_contract::blob_streams(Arc::new(FolderBlobStore::new(dir.path()))).await;
    port_contract::blob_ranges(Arc::new(FolderBlobStore::new(dir.path()))).await;
}

#[tokio::test]
async fn folder_blobs_reject_keys_that_leave_the_root() {
    let dir = TempDir::new().unwrap();
    let blobs = FolderBlobStore::new(dir.path().join("root"));
    for key in ["../escape", "/etc/passwd", "a//b", "a/../b", "a\\b", "", ".hidden", "a/.."] {
        assert!(blobs.put(key, b"x".to_vec()).await.is_err(), "{key:?}");
        assert!(blobs.get(key).await.is_err(), "{key:?}");
    }
    assert!(!dir.path().join("escape").exists());
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("calls.db");
    {
        let store: Arc<dyn CallStore> = Arc::new(SqliteStore::open(&path).unwrap());
        port_contract::events_and_alerts(store).await;
    }
    let reopened = SqliteStore::open(&path).unwrap();
    let state = reopened.load_call("ea-1", None).await.unwrap().state.unwrap();
    assert_eq!(state.value, port_contract::state("ea-1", 9));
    assert_eq!(reopened.recent_events("ea-1", 10).await.unwrap().len(), 4);
    assert_eq!(reopened.recent_alerts("ea-1", 10).await.unwrap().len(), 6);
}

/// A file written by a release before 2026-12 (the window as one `live_audio` row listing every chunk) opens,
/// its old window rows are dropped (live audio is a rolling window: a call live at the upgrade starts a fresh
/// one), and the call's window works from there.
#[tokio::test]
async fn a_file_with_the_old_live_audio_table_opens_and_starts_fresh_windows() {
    use shared::ports::AppendOutcome;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("calls.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE live_audio (call_id TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL);
             INSERT INTO live_audio VALUES ('upgraded', 7, '{\"call_id\":\"upgraded\",\"chunks\":[{\"id\":\"c1\"}]}');",
        )
        .unwrap();
    }
    let store: Arc<dyn CallStore> = Arc::new(SqliteStore::open(&path).unwrap());
    let loaded = store.load_live_audio("upgraded", Some("c1")).await.unwrap();
    assert!(loaded.head.is_none() && !loaded.duplicate, "the old window is gone");
    let (append, outcome) = port_contract::append_second(store.as_ref(), "upgraded", Some("c1"), 5, 300).await;
    assert_eq!(outcome, AppendOutcome::Applied);
    assert_eq!(append.head.chunk_count, 1);
    let c = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 =
        c.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'live_audio'", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 0);
}

/// What the store answers for a call's recent events and alerts (kept in memory as it writes them) is what
/// the file holds, as a second store on the same file reads it: through events arriving out of order, more
/// events and alerts than are kept, acknowledgements and deletion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_rows_answered_from_memory_are_what_the_file_holds() {
    use shared::ports::{CommitOutcome, EventCommit};
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("recent.db");
    let store = SqliteStore::open(&path).unwrap();
    let same = |label: String| {
        let (store, path) = (&store, &path);
        async move {
            let file = SqliteStore::open(path).unwrap();
            for call in ["rr-1", "rr-2"] {
                for limit in [1, 30, 40, 64, 100] {
                    assert_eq!(
                        store.recent_events(call, limit).await.unwrap(),
                        file.recent_events(call, limit).await.unwrap(),
                        "{label}: {call} events, {limit}"
                    );
                    assert_eq!(
                        store.recent_alerts(call, limit).await.unwrap(),
                        file.recent_alerts(call, limit).await.unwrap(),
                        "{label}: {call} alerts, {limit}"
                    );
                }
            }
        }
    };
    let mut versions = std::collections::HashMap::new();
    let mut alert_ids = Vec::new();
    for n in 0..90u32 {
        let call = if n % 3 == 0 { "rr-2" } else { "rr-1" };
        let mut state = port_contract::state(call, n);
        state.event_count = u64::from(n);
        let expected: Option<u64> = versions.get(call).copied();
        // Times jump back and forth, some repeat, so order is by time then id, not arrival.
        let occurred = (n * 7919) % 50;
        let mut event = serde_json::from_value::<shared::realtime::domain::NewEvent>(serde_json::json!({
            "occurred_at": format!("2026-02-10T10:00:{occurred:02}Z"), "event_type": "transcript",
            "speaker": "agent", "text": format!("n{n}"), "sentiment": null, "confidence": null, "metadata": {}
        }))
        .unwrap();
        event.metadata.insert("n".into(), n.into());
        let alerts = (n % 2 == 0)
            .then(|| {
                serde_json::from_value(serde_json::json!({
                    "alert_type": "dead_air", "severity": "high", "message": format!("a{n}"),
                    "created_at": format!("2026-02-10T10:01:{:02}Z", (n * 31) % 60), "metadata": {}
                }))
                .unwrap()
            })
            .into_iter()
            .collect();
        let commit = EventCommit {
            state,
            expected_version: expected,
            previous_updated_at: None,
            event: (n % 5 != 4).then_some(event),
            alerts,
            idempotency_key: Some(format!("k{n}")),
        };
        let CommitOutcome::Applied { alerts, .. } = store.commit_event(commit).await.unwrap() else {
            panic!("{n} not applied")
        };
        alert_ids.extend(alerts.iter().map(|a| a.id));
        versions.insert(call, expected.map_or(1, |v| v + 1));
        if n % 29 == 0 {
            same(format!("after {n}")).await;
        }
    }
    same("after all".into()).await;
    for id in alert_ids.iter().step_by(3) {
        store.acknowledge_alert(*id, port_contract::state("x", 99).updated_at).await.unwrap();
    }
    same("after acknowledgements".into()).await;
    store.delete_call("rr-2").await.unwrap();
    same("after a deletion".into()).await;
    assert!(store.recent_events("rr-2", 40).await.unwrap().is_empty());
}
