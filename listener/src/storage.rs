//! The listener's storage: DynamoDB and S3 when `TABLE_NAME` is set (the container on AWS, built with the
//! `aws` feature), else the embedded SQLite file and blob folder under `DATA_DIR`, the same ones the local
//! server uses.

use crate::audiohook::service::Ports;
use shared::adapters::embedded::{BLOB_FOLDER, DATABASE_FILE, FolderBlobStore, SqliteStore};
use shared::ports::StoreError;
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

pub async fn from_env(e: &dyn EnvSource) -> Result<Ports, StorageError> {
    if env::string(e, "TABLE_NAME").is_some() {
        return aws(e).await;
    }
    let data_dir = PathBuf::from(env::string(e, "DATA_DIR").unwrap_or_else(|| "data".into()));
    std::fs::create_dir_all(&data_dir).map_err(|e| StoreError::Backend(format!("{}: {e}", data_dir.display())))?;
    let store = Arc::new(SqliteStore::open(&data_dir.join(DATABASE_FILE))?);
    Ok(Ports {
        blobs: Arc::new(FolderBlobStore::new(data_dir.join(BLOB_FOLDER))),
        heartbeats: store,
        transcriber: None,
    })
}

#[cfg(feature = "aws")]
async fn aws(e: &dyn EnvSource) -> Result<Ports, StorageError> {
    use shared::adapters::aws::{AwsSettings, DynamoStore, S3BlobStore, sdk_config};
    let settings = AwsSettings::from_env(e)?;
    let sdk = sdk_config().await;
    Ok(Ports {
        blobs: Arc::new(S3BlobStore::new(&sdk, &settings)),
        heartbeats: Arc::new(DynamoStore::new(&sdk, &settings)),
        transcriber: None,
    })
}

#[cfg(not(feature = "aws"))]
async fn aws(_: &dyn EnvSource) -> Result<Ports, StorageError> {
    Err(StorageError::AwsNotBuilt)
}
