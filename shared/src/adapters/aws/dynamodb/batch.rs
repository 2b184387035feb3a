//! Batch calls on DynamoDB: one versioned item per call in the `batch` partition, sorted by id (upload
//! time), so the dashboard's newest-first list is one paged query. Batch uploads arrive at human rates, far
//! below a partition's 1,000 writes a second, so this partition is never hot. A record expires with its
//! upload: `REALTIME_RETENTION_DAYS` after the call was uploaded, as the bucket's rule expires `uploads/`
//! (and `outputs/`) after the stack's `RetentionDays`, so no record outlives the audio it describes.

use super::listing::Range;
use super::{DynamoStore, Item, body, key, sdk_err, to_body};
use crate::batch::BatchCall;
use crate::ports::{BatchStore, StoreError, Versioned};
use async_trait::async_trait;

const PK: &str = "batch";

impl DynamoStore {
    /// The call's item, expiring with its upload.
    fn batch_item(&self, call: &BatchCall) -> Result<Item, StoreError> {
        let mut item = key(PK, &call.id);
        item.insert("body".into(), to_body(call)?);
        if let Some(expiry) = self.expiry(&call.created_at) {
            item.insert("expires_at".into(), expiry);
        }
        Ok(item)
    }
}

#[async_trait]
impl BatchStore for DynamoStore {
    async fn create_batch_call(&self, call: &BatchCall) -> Result<bool, StoreError> {
        self.put_versioned(self.batch_item(call)?, None).await
    }

    async fn get_batch_call(&self, id: &str) -> Result<Option<Versioned<BatchCall>>, StoreError> {
        self.get_item(PK.into(), id).await?.as_ref().map(Self::versioned).transpose()
    }

    async fn save_batch_call(&self, call: &BatchCall, expected_version: u64) -> Result<bool, StoreError> {
        self.put_versioned(self.batch_item(call)?, Some(expected_version)).await
    }

    async fn list_batch_calls(&self, limit: usize) -> Result<Vec<BatchCall>, StoreError> {
        let items = self.query(PK.into(), Range::All, false, None, Some(limit)).await?;
        items.iter().map(body).collect()
    }

    async fn delete_batch_call(&self, id: &str) -> Result<(), StoreError> {
        self.client.delete_item().table_name(&self.table).set_key(Some(key(PK, id))).send().await.map_err(sdk_err)?;
        Ok(())
    }
}
