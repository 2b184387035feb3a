//! The listener's storage: DynamoDB and S3 when `TABLE_NAME` is set (the container on AWS, built with the
//! `aws` feature), else the embedded SQLite file and blob folder under `DATA_DIR`, the same ones the local
//! server uses.
//!
//! On AWS it also builds the realtime service over the adapters the ingest Lambdas use (the table, the
//! bucket, push through the WebSocket API's `WEBSOCKET_CALLBACK_URL`), so the listener feeds it in-process,
//! as the one local process does: no API Gateway request and no Lambda invocation per chunk or event. An
//! ingest URL setting ([`crate::forward::http_configured`]) keeps forwarding on HTTP instead.

use crate::audiohook::nonces::NonceCache;
use crate::audiohook::service::Ports;
use shared::adapters::embedded::{BLOB_FOLDER, DATABASE_FILE, FolderBlobStore, SqliteStore};
use shared::ports::StoreError;
use shared::realtime::RealtimeService;
use shared::settings::env::{self, EnvError, EnvSource};
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("TABLE_NAME is set but this listener was built without the `aws` feature")]
    AwsNotBuilt,
}

/// The ports, and the realtime service to forward into when this process runs one.
pub struct Storage {
    pub ports: Ports,
    /// On AWS without an ingest URL: the realtime service on the same table and bucket, fed in-process.
    pub realtime: Option<Arc<RealtimeService>>,
}

pub async fn from_env(e: &dyn EnvSource) -> Result<Storage, StorageError> {
    if env::string(e, "TABLE_NAME").is_some() {
        return aws(e).await;
    }
    let data_dir = PathBuf::from(env::string(e, "DATA_DIR").unwrap_or_else(|| "data".into()));
    std::fs::create_dir_all(&data_dir).map_err(|e| StoreError::Backend(format!("{}: {e}", data_dir.display())))?;
    let store = Arc::new(SqliteStore::open(&data_dir.join(DATABASE_FILE))?);
    let ports = Ports {
        blobs: Arc::new(FolderBlobStore::new(data_dir.join(BLOB_FOLDER))),
        heartbeats: store,
        nonces: Arc::new(NonceCache::default()),
        transcriber: None,
    };
    Ok(Storage { ports, realtime: None })
}

#[cfg(feature = "aws")]
async fn aws(e: &dyn EnvSource) -> Result<Storage, StorageError> {
    use crate::audiohook::nonces::SharedNonces;
    use shared::adapters::aws::{ApiGatewayPush, AwsSettings, DynamoStore, S3BlobStore, sdk_config};
    use shared::realtime::config::RealtimeConfig;
    let settings = AwsSettings::from_env(e)?;
    let sdk = sdk_config().await;
    let store = Arc::new(DynamoStore::new(&sdk, &settings));
    let ports = Ports {
        blobs: Arc::new(S3BlobStore::new(&sdk, &settings)),
        heartbeats: store.clone(),
        nonces: Arc::new(SharedNonces::new(store.clone())),
        transcriber: None,
    };
    let realtime = if crate::forward::http_configured(e) {
        None
    } else {
        let push = ApiGatewayPush::new(&sdk, store.clone(), &env::required(e, "WEBSOCKET_CALLBACK_URL")?);
        let config = RealtimeConfig::from_env(e)?;
        Some(Arc::new(RealtimeService::new(store, ports.blobs.clone(), Arc::new(push), config)))
    };
    Ok(Storage { ports, realtime })
}

#[cfg(not(feature = "aws"))]
async fn aws(_: &dyn EnvSource) -> Result<Storage, StorageError> {
    Err(StorageError::AwsNotBuilt)
}
