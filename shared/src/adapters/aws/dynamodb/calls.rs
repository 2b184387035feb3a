//! `CallStore` on DynamoDB: load and commit (two round trips per event), events; the live-audio window is in
//! `live_audio.rs`.

use super::{DynamoStore, Item, backend, body, call_pk, day, get_n, id_key, key, n, new_id, s, sdk_err, to_body};
use crate::ports::{
    AlertQuery, AppendOutcome, CallPage, CallQuery, CallStore, CommitOutcome, EventCommit, LoadedCall, LoadedLiveAudio,
    PurgedCall, StoreError, Versioned,
};
use crate::realtime::domain::{Alert, EventRecord, NewAlert};
use crate::realtime::live_audio::{ChunkRef, LiveAppend};
use crate::values::timestamps::{Timestamp, iso};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, KeysAndAttributes, Put, TransactWriteItem};

/// A transaction under construction; remembers which item carries the idempotency key.
pub(super) struct Tx<'a> {
    store: &'a DynamoStore,
    pub items: Vec<TransactWriteItem>,
    pub key_at: Option<usize>,
}

impl<'a> Tx<'a> {
    pub fn new(store: &'a DynamoStore) -> Self {
        Self { store, items: Vec::new(), key_at: None }
    }

    pub fn put(&mut self, item: Item, condition: Option<(&str, Option<i64>)>) -> Result<(), StoreError> {
        let mut p = Put::builder().table_name(&self.store.table).set_item(Some(item));
        if let Some((expr, value)) = condition {
            p = p.condition_expression(expr);
            if let Some(v) = value {
                p = p.expression_attribute_values(":v", n(v)).expression_attribute_names("#ver", "version");
            }
        }
        self.items.push(TransactWriteItem::builder().put(p.build().map_err(backend)?).build());
        Ok(())
    }

    pub fn delete(&mut self, pk: String, sk: String) -> Result<(), StoreError> {
        let d = Delete::builder().table_name(&self.store.table).set_key(Some(key(pk, sk))).build().map_err(backend)?;
        self.items.push(TransactWriteItem::builder().delete(d).build());
        Ok(())
    }

    fn add_alert(&mut self, call_id: &str, mut a: NewAlert, event_id: Option<i64>) -> Result<Alert, StoreError> {
        let id = new_id()?;
        if let Some(e) = event_id {
            a.link_event(e);
        }
        let sk = format!("a#{}#{}", iso(&a.created_at), id_key(id));
        let mut row = self.store.item(call_pk(call_id), sk.clone(), &a.created_at);
        row.extend([("id".into(), n(id)), ("body".into(), to_body(&a)?)]);
        let mut pointer = self.store.item(format!("alert#{id}"), "alert".into(), &a.created_at);
        pointer.extend([("call_id".into(), s(call_id)), ("alert_sk".into(), s(sk.clone()))]);
        let mut listed = self.store.item(
            super::alerts::list_pk(&a.created_at),
            super::alerts::list_sk(&a.created_at, id),
            &a.created_at,
        );
        listed.extend([("id".into(), n(id)), ("call_id".into(), s(call_id)), ("body".into(), to_body(&a)?)]);
        self.put(row, None)?;
        self.put(pointer, Some(("attribute_not_exists(pk)", None)))?;
        self.put(listed, None)?;
        Ok(Alert { id, call_id: call_id.to_string(), alert: a, acknowledged_at: None })
    }
}

impl DynamoStore {
    /// Records in the day registries that lists have entries on these days: a plain put, before the
    /// transaction and once per process and day, because one registry item written by every transaction
    /// would make all concurrent ingests conflict. A registered day with no entries (the transaction then
    /// failed) costs a listing nothing.
    async fn register_days(&self, days: Vec<(&'static str, Timestamp)>) -> Result<(), StoreError> {
        for (list, at) in days {
            let entry = (list, day(&at));
            if self.registered.lock().map_err(|_| backend("registry cache poisoned"))?.contains(&entry) {
                continue;
            }
            let item = self.item(list.to_string(), entry.1.clone(), &at);
            self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
            self.registered.lock().map_err(|_| backend("registry cache poisoned"))?.insert(entry);
        }
        Ok(())
    }

    /// `BatchGetItem` until nothing is left unprocessed.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut pending = keys;
        while !pending.is_empty() {
            let batch: Vec<Item> = pending.drain(..pending.len().min(100)).collect();
            let ka =
                KeysAndAttributes::builder().set_keys(Some(batch)).consistent_read(true).build().map_err(backend)?;
            let out = self.client.batch_get_item().request_items(&self.table, ka).send().await.map_err(sdk_err)?;
            found.extend(out.responses().and_then(|r| r.get(&self.table)).cloned().unwrap_or_default());
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending.extend(left.keys().iter().cloned());
            }
        }
        Ok(found)
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item)
    }

    pub(super) fn versioned<T: serde::de::DeserializeOwned>(item: &Item) -> Result<Versioned<T>, StoreError> {
        Ok(Versioned { value: body(item)?, version: get_n(item, "version")? as u64 })
    }

    /// A versioned put: create when `expected` is `None`, else only at that version. `false` on a lost race.
    pub(super) async fn put_versioned(&self, mut item: Item, expected: Option<u64>) -> Result<bool, StoreError> {
        item.insert("version".into(), n(expected.map_or(1, |v| v + 1)));
        let mut req = self.client.put_item().table_name(&self.table).set_item(Some(item));
        req = match expected {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(v) => req
                .condition_expression("#ver = :v")
                .expression_attribute_names("#ver", "version")
                .expression_attribute_values(":v", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_err(e)),
        }
    }
}

fn event_of(item: &Item) -> Result<EventRecord, StoreError> {
    Ok(EventRecord { id: get_n(item, "id")?, event: body(item)? })
}

/// Reads a cancelled transaction: the idempotency key's condition failing means a duplicate, anything else
/// (state version, id collision) a conflict to retry.
pub(super) fn cancelled(
    e: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
    key_at: Option<usize>,
) -> Option<CommitOutcome> {
    let Some(TransactWriteItemsError::TransactionCanceledException(tc)) = e.as_service_error() else { return None };
    let failed = |i: usize| tc.cancellation_reasons().get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed");
    Some(if key_at.is_some_and(failed) { CommitOutcome::Duplicate } else { CommitOutcome::Conflict })
}

#[async_trait]
impl CallStore for DynamoStore {
    async fn load_call(&self, call_id: &str, idem: Option<&str>) -> Result<LoadedCall, StoreError> {
        let pk = call_pk(call_id);
        let mut keys = vec![key(&pk, "state")];
        if let Some(k) = idem {
            keys.push(key(&pk, format!("k#{k}")));
        }
        let items = self.batch_get(keys).await?;
        let sk = |i: &Item| i.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let state = items.iter().find(|i| sk(i) == "state").map(Self::versioned).transpose()?;
        let duplicate = items.iter().any(|i| sk(i).starts_with("k#"));
        Ok(LoadedCall { state, duplicate })
    }

    async fn commit_event(&self, c: EventCommit) -> Result<CommitOutcome, StoreError> {
        let st = &c.state;
        let pk = call_pk(&st.call_id);
        let mut days = vec![("cls", st.updated_at)];
        days.extend(c.alerts.iter().map(|a| ("als", a.created_at)));
        self.register_days(days).await?;
        let mut tx = Tx::new(self);
        let mut state = self.item(pk.clone(), "state".into(), &st.updated_at);
        state.extend([
            ("body".into(), to_body(st)?),
            ("status".into(), s(&st.status)),
            ("updated_at".into(), s(iso(&st.updated_at))),
            ("version".into(), n(c.next_version())),
        ]);
        match c.expected_version {
            None => tx.put(state, Some(("attribute_not_exists(pk)", None)))?,
            Some(v) => tx.put(state, Some(("#ver = :v", Some(v as i64))))?,
        }
        if let Some(k) = &c.idempotency_key {
            tx.key_at = Some(tx.items.len());
            tx.put(self.item(pk.clone(), format!("k#{k}"), &st.updated_at), Some(("attribute_not_exists(pk)", None)))?;
        }
        let event = match c.event {
            None => None,
            Some(e) => {
                let id = new_id()?;
                let mut row =
                    self.item(pk.clone(), format!("e#{}#{}", iso(&e.occurred_at), id_key(id)), &st.updated_at);
                row.extend([("id".into(), n(id)), ("body".into(), to_body(&e)?)]);
                tx.put(row, None)?;
                Some(EventRecord { id, event: e })
            }
        };
        let mut alerts = Vec::with_capacity(c.alerts.len());
        for a in c.alerts {
            alerts.push(tx.add_alert(&st.call_id, a, event.as_ref().map(|e| e.id))?);
        }
        let list_pk = |at: &Timestamp| super::listing::list_pk(at, &st.call_id);
        let mut listed = self.item(list_pk(&st.updated_at), super::listing::list_sk(st), &st.updated_at);
        listed.extend([("call_id".into(), s(&st.call_id)), ("status".into(), s(&st.status))]);
        tx.put(listed, None)?;
        if let Some(prev) = c.previous_updated_at.filter(|p| *p != st.updated_at) {
            tx.delete(list_pk(&prev), format!("{}#{}", iso(&prev), st.call_id))?;
        }
        let key_at = tx.key_at;
        match self.client.transact_write_items().set_transact_items(Some(tx.items)).send().await {
            Ok(_) => Ok(CommitOutcome::Applied { event, alerts }),
            Err(e) => cancelled(&e, key_at).ok_or_else(|| sdk_err(e)),
        }
    }

    async fn recent_events(&self, call_id: &str, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        let items = self.query_prefix(call_pk(call_id), "e#", limit, None).await?;
        let mut events = items
            .iter()
            .map(|i| StoreError::skip_corrupt(event_of(i), "event"))
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, StoreError>>()?;
        events.reverse();
        Ok(events)
    }

    async fn recent_alerts(&self, call_id: &str, limit: usize) -> Result<Vec<Alert>, StoreError> {
        self.list_alerts(&AlertQuery { call_id: Some(call_id.to_string()), open_only: false, limit }).await
    }

    async fn list_alerts(&self, q: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        self.alerts_listing(q).await
    }

    async fn acknowledge_alert(&self, alert_id: i64, at: Timestamp) -> Result<Option<(Alert, bool)>, StoreError> {
        self.ack(alert_id, at).await
    }

    async fn list_calls(&self, q: &CallQuery) -> Result<CallPage, StoreError> {
        self.calls_listing(q).await
    }

    async fn load_live_audio(&self, call_id: &str, chunk_id: Option<&str>) -> Result<LoadedLiveAudio, StoreError> {
        self.live_load(call_id, chunk_id).await
    }

    async fn live_audio_chunks(&self, call_id: &str, limit: usize) -> Result<Vec<ChunkRef>, StoreError> {
        self.live_oldest(call_id, limit).await
    }

    async fn append_live_audio(&self, append: &LiveAppend) -> Result<AppendOutcome, StoreError> {
        self.live_append(append).await
    }

    async fn idle_calls(&self, before: Timestamp, limit: usize) -> Result<Vec<String>, StoreError> {
        self.idle(before, limit).await
    }

    async fn purge_calls(&self, before: Timestamp, limit: usize) -> Result<Vec<PurgedCall>, StoreError> {
        self.purge(before, limit).await
    }

    async fn delete_call(&self, call_id: &str) -> Result<Option<PurgedCall>, StoreError> {
        self.purge_call(call_id, None).await
    }
}

impl DynamoStore {
    pub(super) async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get(pk, sk).await
    }
}
