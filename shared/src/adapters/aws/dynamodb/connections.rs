//! WebSocket connections and their subscriptions on DynamoDB, for push through API Gateway:
//! `ws#<connection>`/`conn` (with the set of topics it follows) and `sub#<call or *>`/`<connection>`.
//! Items expire three hours after they were written (API Gateway closes connections after two).

use super::{DynamoStore, Item, get_s, key, n, s, sdk_err};
use crate::ports::StoreError;
use crate::values::timestamps::{Timestamp, iso};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

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

    /// Follows `call_id` (`None`: every call), up to `limit` topics. `None` when the connection is unknown
    /// (gone or expired) or already follows `limit` topics.
    pub async fn subscribe(
        &self,
        connection_id: &str,
        call_id: Option<&str>,
        limit: usize,
        at: Timestamp,
    ) -> Result<Option<Following>, StoreError> {
        let t = topic(call_id);
        let added = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ws#{connection_id}"), "conn")))
            .update_expression("ADD #subs :t")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(#subs) OR size(#subs) < :max)")
            .expression_attribute_names("#subs", "subs")
            .expression_attribute_values(":t", AttributeValue::Ss(vec![t.clone()]))
            .expression_attribute_values(":max", n(limit))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let following = match added {
            Ok(out) => Following::of(out.attributes.as_ref()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                return Ok(None);
            }
            Err(e) => return Err(sdk_err(e)),
        };
        let item = self.connection_item(t, connection_id.to_string(), &at);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(Some(following))
    }

    /// Stops following `call_id`, or everything (`None`).
    pub async fn unsubscribe(&self, connection_id: &str, call_id: Option<&str>) -> Result<Following, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ws#{connection_id}"), "conn")))
            .condition_expression("attribute_exists(pk)") // never recreate a forgotten connection
            .expression_attribute_names("#subs", "subs");
        let (update, doomed) = match call_id {
            Some(id) => {
                let t = topic(Some(id));
                let update = update
                    .update_expression("DELETE #subs :t")
                    .expression_attribute_values(":t", AttributeValue::Ss(vec![t.clone()]))
                    .return_values(ReturnValue::UpdatedNew);
                (update, vec![t])
            }
            None => {
                let old = self.topics(connection_id).await?;
                (update.update_expression("REMOVE #subs").return_values(ReturnValue::UpdatedNew), old)
            }
        };
        let following = match update.send().await {
            Ok(out) => Following::of(out.attributes.as_ref()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Following::of(None)
            }
            Err(e) => return Err(sdk_err(e)),
        };
        self.delete_all(doomed.into_iter().map(|t| key(t, connection_id)).collect()).await?;
        Ok(following)
    }

    /// The topics a connection follows.
    async fn topics(&self, connection_id: &str) -> Result<Vec<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ws#{connection_id}"), "conn")))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(|i| i.get("subs")).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default())
    }

    /// Connections following `call_id` directly or through "every call" (two queries, concurrently).
    pub async fn subscribers(&self, call_id: &str) -> Result<Vec<String>, StoreError> {
        let (call, all) = tokio::join!(
            self.query(topic(Some(call_id)), super::listing::Range::All, true, None, None),
            self.query(topic(None), super::listing::Range::All, true, None, None),
        );
        let mut ids = Vec::new();
        for item in call?.iter().chain(all?.iter()) {
            let id = get_s(item, "sk")?.to_string();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Forgets a connection and its subscriptions (`$disconnect`, or a `410 Gone` on push).
    pub async fn disconnect(&self, connection_id: &str) -> Result<(), StoreError> {
        let mut doomed: Vec<Item> =
            self.topics(connection_id).await?.into_iter().map(|t| key(t, connection_id)).collect();
        doomed.push(key(format!("ws#{connection_id}"), "conn"));
        self.delete_all(doomed).await
    }
}

/// What a connection follows after a (un)subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Following {
    pub all: bool,
    pub calls: usize,
}

impl Following {
    fn of(attributes: Option<&Item>) -> Self {
        let topics = attributes.and_then(|a| a.get("subs")).and_then(|v| v.as_ss().ok());
        let all_topic = topic(None);
        let all = topics.is_some_and(|t| t.contains(&all_topic));
        Self { all, calls: topics.map_or(0, |t| t.len()) - usize::from(all) }
    }
}
