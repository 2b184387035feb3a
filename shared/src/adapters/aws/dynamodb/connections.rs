//! WebSocket connections and their subscriptions on DynamoDB, for push through API Gateway:
//! `ws#<connection>`/`conn` (with the set of topics it follows) and `sub#<call or *>`/`<connection>`.
//! Items expire three hours after they were written (API Gateway closes connections after two).

use super::{DynamoStore, Item, get_s, key, n, s, sdk_err};
use crate::ports::StoreError;
use crate::timestamps::{Timestamp, iso};
use aws_sdk_dynamodb::types::AttributeValue;

/// Connection items outlive API Gateway's two-hour connection limit by an hour, then expire.
const CONNECTION_TTL_SECONDS: i64 = 3 * 3600;
/// The subscription topic for "every call".
const ALL_CALLS: &str = "*";

fn topic(call_id: Option<&str>) -> String {
    format!("sub#{}", call_id.unwrap_or(ALL_CALLS))
}

impl DynamoStore {
    fn connection_item(&self, pk: String, sk: String, at: &Timestamp) -> Item {
        let mut it = key(pk, sk);
        it.insert("expires_at".into(), n(at.timestamp() + CONNECTION_TTL_SECONDS));
        it.insert("connected_at".into(), s(iso(at)));
        it
    }

    /// Records a new connection (`$connect`, after its credential was checked).
    pub async fn connect(&self, connection_id: &str, at: Timestamp) -> Result<(), StoreError> {
        let item = self.connection_item(format!("ws#{connection_id}"), "conn".into(), &at);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Follows `call_id` (`None`: every call). `false` when the connection is unknown (gone or expired).
    pub async fn subscribe(
        &self,
        connection_id: &str,
        call_id: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let t = topic(call_id);
        let added = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ws#{connection_id}"), "conn")))
            .update_expression("ADD #subs :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#subs", "subs")
            .expression_attribute_values(":t", AttributeValue::Ss(vec![t.clone()]))
            .send()
            .await;
        match added {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                return Ok(false);
            }
            Err(e) => return Err(sdk_err(e)),
        }
        let item = self.connection_item(t, connection_id.to_string(), &at);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(true)
    }

    /// Stops following `call_id` (`None`: every call).
    pub async fn unsubscribe(&self, connection_id: &str, call_id: Option<&str>) -> Result<(), StoreError> {
        let t = topic(call_id);
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ws#{connection_id}"), "conn")))
            .update_expression("DELETE #subs :t")
            .expression_attribute_names("#subs", "subs")
            .expression_attribute_values(":t", AttributeValue::Ss(vec![t.clone()]))
            .send()
            .await
            .map_err(sdk_err)?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(t, connection_id)))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Connections following `call_id` directly or through "every call".
    pub async fn subscribers(&self, call_id: &str) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for t in [topic(Some(call_id)), topic(None)] {
            for item in self.query(t, super::listing::Range::All, true, None, None).await? {
                let id = get_s(&item, "sk")?.to_string();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// Forgets a connection and its subscriptions (`$disconnect`, or a `410 Gone` on push).
    pub async fn disconnect(&self, connection_id: &str) -> Result<(), StoreError> {
        let conn = key(format!("ws#{connection_id}"), "conn");
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(conn.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        let topics =
            out.item.as_ref().and_then(|i| i.get("subs")).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default();
        let mut doomed: Vec<Item> = topics.into_iter().map(|t| key(t, connection_id)).collect();
        doomed.push(conn);
        self.delete_all(doomed).await
    }
}
