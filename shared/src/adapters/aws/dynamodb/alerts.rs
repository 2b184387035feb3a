//! Alerts on DynamoDB: each alert is a row under its call, an `alert#<id>` item for lookup by id, and an
//! entry in the day-bucketed alert list (with a copy of the alert, so the list needs no second read).

use super::listing::{Filter, Range};
use super::{DynamoStore, Item, backend, body, call_pk, day, get_n, get_s, id_key, key, s, sdk_err, ts};
use crate::ports::{AlertQuery, StoreError};
use crate::realtime::domain::Alert;
use crate::values::timestamps::{Timestamp, iso};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

pub(super) fn list_pk(created: &Timestamp) -> String {
    format!("als#{}", day(created))
}

pub(super) fn list_sk(created: &Timestamp, id: i64) -> String {
    format!("{}#{}", iso(created), id_key(id))
}

/// The lookup and list keys of the alert whose row key is `a#<rest>` (`rest` = `<created_at>#<id>`).
pub(super) fn satellite_keys(rest: &str) -> Result<[Item; 2], StoreError> {
    let (created, id) = rest.rsplit_once('#').ok_or_else(|| StoreError::Corrupt(format!("alert key {rest}")))?;
    let created = ts(created)?;
    let id: i64 = id.parse().map_err(|_| StoreError::Corrupt(format!("alert id {id}")))?;
    Ok([key(format!("alert#{id}"), "alert"), key(list_pk(&created), list_sk(&created, id))])
}

fn open_only() -> Filter {
    Filter { expr: "attribute_not_exists(#ack)", values: vec![], names: vec![("#ack", "ack")] }
}

fn alert_of(item: &Item, call_id: &str) -> Result<Alert, StoreError> {
    let acknowledged_at = item.get("ack").and_then(|v| v.as_s().ok()).map(|t| ts(t)).transpose()?;
    Ok(Alert { id: get_n(item, "id")?, call_id: call_id.to_string(), alert: body(item)?, acknowledged_at })
}

impl DynamoStore {
    pub(super) async fn alerts_listing(&self, q: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let filter = q.open_only.then(open_only);
        if let Some(call_id) = &q.call_id {
            let items = self.query_prefix(call_pk(call_id), "a#", q.limit, filter.as_ref()).await?;
            let alerts = items.iter().map(|i| StoreError::skip_corrupt(alert_of(i, call_id), "alert"));
            return alerts.filter_map(Result::transpose).collect();
        }
        let mut out = Vec::new();
        for d in self.days("als", true, None).await? {
            let items =
                self.query(format!("als#{d}"), Range::All, false, filter.as_ref(), Some(q.limit - out.len())).await?;
            for i in &items {
                let alert = get_s(i, "call_id").and_then(|call_id| alert_of(i, call_id));
                out.extend(StoreError::skip_corrupt(alert, "alert")?);
            }
            if out.len() >= q.limit {
                break;
            }
        }
        Ok(out)
    }

    pub(super) async fn ack(&self, alert_id: i64, at: Timestamp) -> Result<Option<(Alert, bool)>, StoreError> {
        let Some(pointer) = self.get_item(format!("alert#{alert_id}"), "alert").await? else { return Ok(None) };
        let call_id = get_s(&pointer, "call_id")?.to_string();
        let row_sk = get_s(&pointer, "alert_sk")?.to_string();
        let [_, listed] = satellite_keys(row_sk.trim_start_matches("a#"))?;
        let update = |k: Item, guard: bool| {
            let mut u = Update::builder()
                .table_name(&self.table)
                .set_key(Some(k))
                .update_expression("SET #ack = :t")
                .expression_attribute_names("#ack", "ack")
                .expression_attribute_values(":t", s(iso(&at)));
            if guard {
                u = u.condition_expression("attribute_exists(pk) AND attribute_not_exists(#ack)");
            }
            u.build().map(|u| TransactWriteItem::builder().update(u).build()).map_err(backend)
        };
        let items = vec![update(key(call_pk(&call_id), &row_sk), true)?, update(listed, false)?];
        let changed = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => true,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_transaction_canceled_exception()) => false,
            Err(e) => return Err(sdk_err(e)),
        };
        let row = self.get_item(call_pk(&call_id), &row_sk).await?;
        row.map(|r| alert_of(&r, &call_id).map(|a| (a, changed))).transpose()
    }
}
