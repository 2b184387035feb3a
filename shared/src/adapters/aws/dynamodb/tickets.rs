//! One-time WebSocket tickets on DynamoDB: `ticket#<digest>`/`ticket`, expiring through TTL; redeemed by a
//! conditional delete, so two connections can never share one.

use super::{DynamoStore, key, n, sdk_err};
use crate::ports::{StoreError, Tickets};
use crate::values::timestamps::Timestamp;
use async_trait::async_trait;

#[async_trait]
impl Tickets for DynamoStore {
    async fn put_ticket(&self, digest: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        let mut item = key(format!("ticket#{digest}"), "ticket");
        item.insert("expires_at".into(), n(expires_at.timestamp()));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    async fn redeem_ticket(&self, digest: &str, now: Timestamp) -> Result<bool, StoreError> {
        // TTL deletes lazily (up to days later), so the expiry is checked in the condition too.
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ticket#{digest}"), "ticket")))
            .condition_expression("attribute_exists(pk) AND #exp > :now")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_err(e)),
        }
    }
}
