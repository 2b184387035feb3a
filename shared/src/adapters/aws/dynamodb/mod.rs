//! The DynamoDB store: one table, `pk`/`sk` string keys, TTL attribute `expires_at`, no GSIs.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | call state (versioned) | `c#<call>` | `state` |
//! | idempotency key | `c#<call>` | `k#<event_id>` |
//! | event | `c#<call>` | `e#<occurred_at>#<id>` |
//! | alert | `c#<call>` | `a#<created_at>#<id>` |
//! | live-audio window head (versioned) | `c#<call>` | `live` |
//! | live-audio chunk entry | `c#<call>` | `l#<timestamp µs>#<seq>` |
//! | live-audio chunk id marker | `c#<call>` | `lid#<chunk id>` |
//! | alert by id | `alert#<id>` | `alert` |
//! | call list (by last activity) | `cls#<day>#<shard>` | `<updated_at>#<call>` |
//! | alert list (by creation) | `als#<day>` | `<created_at>#<id>` |
//! | day registry of a list | `cls` / `als` | `<day>` |
//! | heartbeat (per instance) | `hb#<component>` | `hb#<instance>` |
//! | WebSocket connection | `ws#<connection>` | `conn` |
//! | subscription | `sub#<call or *>` | `<connection>` |
//! | WebSocket ticket (digest) | `ticket#<sha256>` | `ticket` |
//! | AudioHook signature nonce (digest) | `nonce#<sha256>` | `nonce` |
//! | batch call (versioned) | `batch` | `<call id>` |
//!
//! Expressions name every non-key attribute through `#names` (DynamoDB reserves words such as `status`).
//!
//! An ingested event costs two round trips: `BatchGetItem` (state + idempotency key), then one
//! `TransactWriteItems` (state conditional on its version, key conditional on absence, event, alerts, list
//! index moves); the first event a process sees on a new day also puts that day in the registry (one
//! `PutItem`). Lists walk day buckets newest first, found through the day registry, so a quiet day costs
//! nothing and no partition is hot for longer than a day. The call list, moved by every event, spreads each
//! day over `LIST_SHARDS` partitions by call id (each partition takes about 1,000 writes a second); a page
//! queries a day's shards concurrently and merges them. The alert list, written once per alert, is not
//! sharded.

mod alerts;
mod batch;
mod calls;
mod connections;
mod heartbeats;
mod listing;
mod live_audio;
mod nonces;
mod tickets;

pub use connections::Following;

use crate::ports::StoreError;
use crate::values::timestamps::{Timestamp, iso, parse_iso};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
    retention_days: u64,
    /// (list, day) pairs this process has put in the day registries (see `register_days`).
    registered: std::sync::Mutex<std::collections::HashSet<(&'static str, String)>>,
}

impl DynamoStore {
    pub fn new(sdk: &aws_config::SdkConfig, settings: &super::AwsSettings) -> Self {
        Self::with_client(Client::new(sdk), settings)
    }

    /// With a client built elsewhere (custom interceptors, retry or timeout settings).
    pub fn with_client(client: Client, settings: &super::AwsSettings) -> Self {
        Self {
            client,
            table: settings.table.clone(),
            retention_days: settings.retention_days,
            registered: Default::default(),
        }
    }

    /// The item's expiry (epoch seconds) for data last touched at `at`.
    fn expiry(&self, at: &Timestamp) -> Option<AttributeValue> {
        (self.retention_days > 0).then(|| n(at.timestamp() + self.retention_days as i64 * 86_400))
    }

    /// A fresh item with its keys (and expiry, when retention is on).
    fn item(&self, pk: String, sk: String, touched: &Timestamp) -> Item {
        let mut it = Item::from([("pk".into(), s(pk)), ("sk".into(), s(sk))]);
        if let Some(e) = self.expiry(touched) {
            it.insert("expires_at".into(), e);
        }
        it
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("dynamodb: {e}"))
}

/// Formats an SDK error with its service message (the plain `Display` only says "service error").
fn sdk_err<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError {
    backend(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    Item::from([("pk".into(), s(pk)), ("sk".into(), s(sk))])
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("missing {name}")))
}

fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("missing number {name}")))
}

fn body<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(get_s(item, "body")?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_body<T: serde::Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(v).map(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn ts(text: &str) -> Result<Timestamp, StoreError> {
    parse_iso(text).ok_or_else(|| StoreError::Corrupt(format!("timestamp {text:?}")))
}

/// The UTC day of a timestamp (`2026-02-10`): the list bucket.
fn day(at: &Timestamp) -> String {
    iso(at)[..10].to_string()
}

fn call_pk(call_id: &str) -> String {
    format!("c#{call_id}")
}

/// A new numeric id: milliseconds since 2024 shifted left 12 bits plus a 12-bit sequence, below 2^53 so
/// browsers read it exactly. The sequence starts at a random point per process and counts up, so ids from
/// one process never repeat within a millisecond (random low bits did: the three alerts and the event of
/// one ingest collided about once in 700 ingests, and DynamoDB refuses a transaction that writes one item
/// twice). Across processes the random start and the conditional write on `alert#<id>` keep them apart.
fn new_id() -> Result<i64, StoreError> {
    const EPOCH_2024_MS: i64 = 1_704_067_200_000;
    static SEQUENCE: std::sync::OnceLock<std::sync::atomic::AtomicU16> = std::sync::OnceLock::new();
    let sequence = match SEQUENCE.get() {
        Some(s) => s,
        None => {
            let mut r = [0u8; 2];
            getrandom::fill(&mut r).map_err(backend)?;
            SEQUENCE.get_or_init(|| std::sync::atomic::AtomicU16::new(u16::from_le_bytes(r)))
        }
    };
    let low = sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 0x0fff;
    let ms = chrono::Utc::now().timestamp_millis() - EPOCH_2024_MS;
    Ok((ms << 12) | i64::from(low))
}

/// Zero-padded so ids sort as text inside sort keys.
fn id_key(id: i64) -> String {
    format!("{id:016}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_of_one_process_never_repeat_within_a_millisecond() {
        let ids: Vec<i64> = (0..4096).map(|_| super::new_id().unwrap()).collect();
        let distinct: std::collections::HashSet<&i64> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        assert!(ids.iter().all(|id| *id < 1 << 53), "browsers read ids exactly");
    }
}
