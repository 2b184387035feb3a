//! Worker heartbeats on DynamoDB: one item per component and instance, expiring a day after its last beat.

use super::listing::Range;
use super::{DynamoStore, Item, get_s, n, s, sdk_err, ts};
use crate::ports::{Heartbeat, Heartbeats, MAX_HEARTBEAT_INSTANCES, StoreError};
use crate::values::timestamps::iso;
use async_trait::async_trait;

/// How long an instance's last heartbeat is kept (DynamoDB's expiry, whatever the data retention).
const KEEP_SECONDS: i64 = 86_400;

fn heartbeat(component: &str, item: &Item) -> Result<Heartbeat, StoreError> {
    let instance = get_s(item, "sk")?.strip_prefix("hb#").unwrap_or_default().to_string();
    let status = serde_json::from_str(get_s(item, "status")?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Heartbeat { component: component.to_string(), instance, updated_at: ts(get_s(item, "updated_at")?)?, status })
}

#[async_trait]
impl Heartbeats for DynamoStore {
    async fn put(&self, hb: &Heartbeat) -> Result<(), StoreError> {
        let status = serde_json::to_string(&hb.status).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let item = Item::from([
            ("pk".into(), s(format!("hb#{}", hb.component))),
            ("sk".into(), s(format!("hb#{}", hb.instance))),
            ("updated_at".into(), s(iso(&hb.updated_at))),
            ("status".into(), s(status)),
            ("expires_at".into(), n(hb.updated_at.timestamp() + KEEP_SECONDS)),
        ]);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    async fn list(&self, component: &str) -> Result<Vec<Heartbeat>, StoreError> {
        let items = self.query(format!("hb#{component}"), Range::Prefix("hb#".into()), true, None, None).await?;
        let mut beats = items
            .iter()
            .filter_map(|item| StoreError::skip_corrupt(heartbeat(component, item), "heartbeat").transpose())
            .collect::<Result<Vec<_>, _>>()?;
        beats.sort_by_key(|b| std::cmp::Reverse(b.updated_at));
        beats.truncate(MAX_HEARTBEAT_INSTANCES);
        Ok(beats)
    }
}
