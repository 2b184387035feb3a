//! The realtime service as the one local process builds it: a SQLite file and a blob folder in a directory
//! (included by path from the test binaries that drive the service directly).

use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::realtime::RealtimeService;
use shared::realtime::config::RealtimeConfig;
use std::sync::Arc;

/// The realtime service over a SQLite file and blob folder in `dir`.
pub fn service(dir: &std::path::Path) -> Arc<RealtimeService> {
    let store = Arc::new(SqliteStore::open(&dir.join("call_analytics.db")).unwrap());
    Arc::new(RealtimeService::new(
        store,
        Arc::new(FolderBlobStore::new(dir.join("blobs"))),
        Arc::new(BroadcastPush::new(16)),
        RealtimeConfig::default(),
    ))
}
