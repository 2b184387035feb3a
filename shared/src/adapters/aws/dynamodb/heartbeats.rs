//! Worker heartbeats on DynamoDB: one item per component.

use super::{DynamoStore, get_s, s, sdk_err, ts};
use crate::ports::{Heartbeat, Heartbeats, StoreError};
use crate::values::timestamps::iso;
use async_trait::async_trait;

#[async_trait]
impl Heartbeats for DynamoStore {
    async fn put(&self, hb: &Heartbeat) -> Result<(), StoreError> {
        let mut item = self.item(format!("hb#{}", hb.component), "hb".into(), &hb.updated_at);
        let status = serde_json::to_string(&hb.status).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.extend([("updated_at".into(), s(iso(&hb.updated_at))), ("status".into(), s(status))]);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    async fn get(&self, component: &str) -> Result<Option<Heartbeat>, StoreError> {
        let Some(item) = self.get_item(format!("hb#{component}"), "hb").await? else { return Ok(None) };
        let status = serde_json::from_str(get_s(&item, "status")?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(Heartbeat { component: component.to_string(), updated_at: ts(get_s(&item, "updated_at")?)?, status }))
    }
}
