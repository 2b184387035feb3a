//! The port contract on the embedded adapters: a real SQLite file and a real folder.

#[macro_use]
mod port_contract;

use shared::adapters::embedded::{FolderBlobStore, SqliteStore};
use shared::ports::{BlobStore, CallStore};
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
