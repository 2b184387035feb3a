//! Embedded adapters: one SQLite file, a local folder and an in-process broadcast, all under `DATA_DIR`.

mod broadcast;
mod folder;
mod sqlite;

pub use broadcast::BroadcastPush;
pub use folder::FolderBlobStore;
pub use sqlite::{MAX_RECEIVES, SqliteStore};
