//! Embedded adapters: one SQLite file, a local folder and an in-process broadcast, all under `DATA_DIR`.

mod broadcast;
mod folder;
mod sqlite;

pub use broadcast::BroadcastPush;
pub use folder::FolderBlobStore;
pub use sqlite::{MAX_RECEIVES, SqliteStore};

/// The SQLite file under `DATA_DIR`, shared by every process of one installation.
pub const DATABASE_FILE: &str = "call_analytics.db";
/// The blob folder under `DATA_DIR`.
pub const BLOB_FOLDER: &str = "blobs";
