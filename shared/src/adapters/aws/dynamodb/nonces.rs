//! AudioHook signature nonces on DynamoDB: `nonce#<sha256 of the nonce>`/`nonce`, put only if absent (or
//! expired: TTL deletes lazily, up to days later), expiring with the signature's window. One conditional
//! `PutItem` per upgrade, shared by every listener task.

use super::{DynamoStore, key, n, sdk_err};
use crate::ports::{Nonces, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Nonces for DynamoStore {
    async fn claim_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        // Hashed as tickets are: the nonce is the client's text, of any length, and a key holds at most 2 KB.
        let mut item = key(format!("nonce#{}", crate::realtime::tickets::digest(nonce)), "nonce");
        item.insert("expires_at".into(), n(expires_at));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #exp < :now")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_err(e)),
        }
    }
}
