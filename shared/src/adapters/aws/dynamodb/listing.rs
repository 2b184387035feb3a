//! Paged queries and the day-bucketed call list: listing newest first with a cursor, finding idle calls,
//! purging expired ones.

use super::{DynamoStore, Item, backend, body, call_pk, day, get_s, key, s, sdk_err};
use crate::ports::{CallPage, CallQuery, PurgedCall, StoreError};
use crate::realtime::domain::CallState;
use crate::values::timestamps::{Timestamp, iso};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;

/// Which sort keys of a partition a query reads.
#[derive(Clone)]
pub(super) enum Range {
    All,
    Prefix(String),
    Below(String),
    AtMost(String),
}

/// A filter expression with its values and names.
pub(super) struct Filter {
    pub expr: &'static str,
    pub values: Vec<(&'static str, AttributeValue)>,
    pub names: Vec<(&'static str, &'static str)>,
}

/// Partitions each day of the call list is spread over.
pub(super) const LIST_SHARDS: u32 = 8;

/// A call's shard: FNV-1a of its id (stable across builds, unlike std's hasher).
fn shard(call_id: &str) -> u32 {
    let hash = call_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    hash % LIST_SHARDS
}

pub(super) fn list_pk(at: &Timestamp, call_id: &str) -> String {
    format!("cls#{}#{}", day(at), shard(call_id))
}

pub(super) fn list_sk(state: &CallState) -> String {
    format!("{}#{}", iso(&state.updated_at), state.call_id)
}

fn status_filter(status: &str) -> Filter {
    Filter { expr: "#st = :st", values: vec![(":st", s(status))], names: vec![("#st", "status")] }
}

fn not_terminal() -> Filter {
    let values =
        crate::realtime::domain::TERMINAL_STATUSES.iter().zip([":t0", ":t1", ":t2"]).map(|(v, k)| (k, s(*v))).collect();
    Filter { expr: "NOT (#st IN (:t0, :t1, :t2))", values, names: vec![("#st", "status")] }
}

impl DynamoStore {
    /// Reads `pk` in sort-key order (`forward`) or reverse, up to `limit` matching items (`None`: all).
    pub(super) async fn query(
        &self,
        pk: String,
        range: Range,
        forward: bool,
        filter: Option<&Filter>,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let (cond, bound) = match range {
            Range::All => ("pk = :pk", None),
            Range::Prefix(p) => ("pk = :pk AND begins_with(sk, :sk)", Some(p)),
            Range::Below(b) => ("pk = :pk AND sk < :sk", Some(b)),
            Range::AtMost(b) => ("pk = :pk AND sk <= :sk", Some(b)),
        };
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(cond)
                .expression_attribute_values(":pk", s(&pk))
                .scan_index_forward(forward)
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if let Some(b) = &bound {
                req = req.expression_attribute_values(":sk", s(b));
            }
            if let Some(f) = filter {
                req = req.filter_expression(f.expr);
                for (k, v) in &f.values {
                    req = req.expression_attribute_values(*k, v.clone());
                }
                for (k, v) in &f.names {
                    req = req.expression_attribute_names(*k, *v);
                }
            } else if let Some(l) = limit {
                req = req.limit((l - found.len()).clamp(1, 1000) as i32);
            }
            let out = req.send().await.map_err(sdk_err)?;
            found.extend(out.items.unwrap_or_default());
            if let Some(l) = limit.filter(|l| found.len() >= *l) {
                found.truncate(l);
                break;
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(found)
    }

    pub(super) async fn query_prefix(
        &self,
        pk: String,
        prefix: &str,
        limit: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<Item>, StoreError> {
        self.query(pk, Range::Prefix(prefix.into()), false, filter, Some(limit)).await
    }

    /// The days list `list` has entries on, newest first (or oldest first), optionally up to `until`.
    pub(super) async fn days(
        &self,
        list: &str,
        newest_first: bool,
        until: Option<String>,
    ) -> Result<Vec<String>, StoreError> {
        let range = until.map_or(Range::All, Range::AtMost);
        let items = self.query(list.into(), range, !newest_first, None, None).await?;
        items.iter().map(|i| get_s(i, "sk").map(str::to_string)).collect()
    }

    /// Up to `limit` call-list entries of day `d`, from all its shards at once, merged in sort-key order.
    async fn day_entries(
        &self,
        d: &str,
        range: Range,
        forward: bool,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let shards =
            (0..LIST_SHARDS).map(|n| self.query(format!("cls#{d}#{n}"), range.clone(), forward, filter, Some(limit)));
        let mut items: Vec<Item> = futures_util::future::try_join_all(shards).await?.into_iter().flatten().collect();
        let sk = |i: &Item| i.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        items.sort_by_cached_key(sk);
        if !forward {
            items.reverse();
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Walks the call list's days newest first from `bound` (a day and an exclusive sort-key bound in that
    /// day), collecting up to `limit` entries as (day, item).
    async fn walk(
        &self,
        bound: Option<(String, String)>,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Result<Vec<(String, Item)>, StoreError> {
        let mut out = Vec::new();
        for d in self.days("cls", true, bound.as_ref().map(|(d, _)| d.clone())).await? {
            let range = match &bound {
                Some((bd, sk)) if *bd == d => Range::Below(sk.clone()),
                _ => Range::All,
            };
            let items = self.day_entries(&d, range, false, filter, limit - out.len()).await?;
            out.extend(items.into_iter().map(|i| (d.clone(), i)));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    pub(super) async fn calls_listing(&self, q: &CallQuery) -> Result<CallPage, StoreError> {
        let cursor = q.cursor.as_deref().and_then(decode_cursor);
        let filter = q.status.as_deref().map(status_filter);
        let mut rows = self.walk(cursor, filter.as_ref(), q.limit + 1).await?;
        let next_cursor = (rows.len() > q.limit).then(|| {
            rows.truncate(q.limit);
            rows.last().map(|(d, i)| encode_cursor(d, get_s(i, "sk").unwrap_or_default()))
        });
        let ids: Vec<String> =
            rows.iter().map(|(_, i)| get_s(i, "call_id").map(str::to_string)).collect::<Result<_, _>>()?;
        let states = self.batch_get(ids.iter().map(|id| key(call_pk(id), "state")).collect()).await?;
        let mut by_id: HashMap<String, CallState> = HashMap::new();
        for item in &states {
            let state: CallState = body(item)?;
            by_id.insert(state.call_id.clone(), state);
        }
        let calls = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        Ok(CallPage { calls, next_cursor: next_cursor.flatten() })
    }

    pub(super) async fn idle(&self, before: Timestamp, limit: usize) -> Result<Vec<String>, StoreError> {
        let rows = self.walk_before(before, Some(&not_terminal()), limit).await?;
        rows.iter().map(|(_, i)| get_s(i, "call_id").map(str::to_string)).collect()
    }

    /// Call-list entries older than `before`, oldest first.
    async fn walk_before(
        &self,
        before: Timestamp,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Result<Vec<(String, Item)>, StoreError> {
        let mut out = Vec::new();
        for d in self.days("cls", false, Some(day(&before))).await? {
            let items = self.day_entries(&d, Range::Below(iso(&before)), true, filter, limit - out.len()).await?;
            out.extend(items.into_iter().map(|i| (d.clone(), i)));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    pub(super) async fn purge(&self, before: Timestamp, limit: usize) -> Result<Vec<PurgedCall>, StoreError> {
        let mut purged = Vec::new();
        for (_, entry) in self.walk_before(before, None, limit).await? {
            let call_id = get_s(&entry, "call_id")?.to_string();
            let listed = key(get_s(&entry, "pk")?, get_s(&entry, "sk")?);
            purged.extend(self.purge_call(&call_id, Some(listed)).await?);
        }
        Ok(purged)
    }

    /// Deletes every item of a call: its rows, its alerts' lookup and list entries, and its call-list entry
    /// (`listed`, or the one its state points to). `None` when the call has no rows.
    pub(super) async fn purge_call(
        &self,
        call_id: &str,
        listed: Option<Item>,
    ) -> Result<Option<PurgedCall>, StoreError> {
        let items = self.query(call_pk(call_id), Range::All, true, None, None).await?;
        if items.is_empty() {
            return Ok(None);
        }
        let mut doomed: Vec<Item> = listed.into_iter().collect();
        let derive_listing = doomed.is_empty();
        for item in &items {
            let sk = get_s(item, "sk")?;
            if sk == "state" && derive_listing {
                let state: CallState = body(item)?;
                doomed.push(key(list_pk(&state.updated_at, call_id), list_sk(&state)));
            }
            if let Some(alert_key) = sk.strip_prefix("a#") {
                doomed.extend(super::alerts::satellite_keys(alert_key)?);
            }
            doomed.push(key(call_pk(call_id), sk));
        }
        self.delete_all(doomed).await?;
        Ok(Some(PurgedCall { call_id: call_id.to_string() }))
    }

    /// `BatchWriteItem` deletes, 25 at a time, until nothing is left unprocessed.
    pub(super) async fn delete_all(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = keys
            .into_iter()
            .map(|k| {
                DeleteRequest::builder()
                    .set_key(Some(k))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        while !pending.is_empty() {
            let batch: Vec<WriteRequest> = pending.drain(..pending.len().min(25)).collect();
            let out = self.client.batch_write_item().request_items(&self.table, batch).send().await.map_err(sdk_err)?;
            if let Some(left) = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)) {
                pending.extend(left);
            }
        }
        Ok(())
    }
}

fn encode_cursor(day: &str, sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{day}|{sk}"))
}

fn decode_cursor(cursor: &str) -> Option<(String, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (d, sk) = raw.split_once('|')?;
    Some((d.to_string(), sk.to_string()))
}
