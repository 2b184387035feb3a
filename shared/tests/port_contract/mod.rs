//! The port contract: what every adapter of `CallStore`, `BlobStore` (streamed writes in `blob_stream`),
//! `Heartbeats`, `Tickets` and `JobQueue` must do. Each function takes a fresh adapter and uses unique ids, so the same suite runs on the
//! embedded adapters and on the AWS ones against local emulators (moto, DynamoDB Local).
#![allow(dead_code, unused_imports)] // each test binary runs the part of the suite its adapters implement

mod blob_stream;
mod call_store;
mod job_queue;

pub use blob_stream::*;
pub use call_store::*;
pub use job_queue::*;

/// Invokes `$m!` with every call-store contract case, so each adapter's test runs the same list.
macro_rules! call_store_cases {
    ($m:ident) => {
        $m! { conditional_writes, idempotency, events_and_alerts, alert_listing_and_ack, call_listing, live_audio_state, idle_and_purge }
    };
}

use shared::ports::{BlobStore, Heartbeat, Heartbeats, Tickets};
use shared::values::timestamps::parse_iso;
use std::sync::Arc;

pub async fn blob_round_trip(blobs: Arc<dyn BlobStore>) {
    let key = "outputs/contract-blob/transcript.json";
    assert_eq!(blobs.get(key).await.unwrap(), None);
    assert!(!blobs.exists(key).await.unwrap());
    blobs.delete(key).await.expect("deleting a missing key is fine");
    blobs.put(key, b"first".to_vec()).await.unwrap();
    assert_eq!(blobs.get(key).await.unwrap().as_deref(), Some(&b"first"[..]));
    assert!(blobs.exists(key).await.unwrap());
    assert!(!blobs.exists("outputs/contract-blob").await.unwrap(), "a key's folder is no blob");
    blobs.put(key, b"second".to_vec()).await.unwrap();
    assert_eq!(blobs.get(key).await.unwrap().as_deref(), Some(&b"second"[..]));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
    blobs.put("live/contract-blob/000000001_big.pcm", big.clone()).await.unwrap();
    assert_eq!(blobs.get("live/contract-blob/000000001_big.pcm").await.unwrap(), Some(big));
    blobs.delete(key).await.unwrap();
    assert_eq!(blobs.get(key).await.unwrap(), None);
    assert!(!blobs.exists(key).await.unwrap());
}

/// A read-modify-write through `get_versioned` and `put_if` loses no other writer's bytes: a write made
/// after the read (by another process) makes the conditional write refuse, and nothing is written.
pub async fn blob_conditional_writes(blobs: Arc<dyn BlobStore>) {
    let key = "recordings/contract-conditional.wav";
    assert_eq!(blobs.get_versioned(key).await.unwrap(), None);
    assert!(blobs.put_if(key, b"first".to_vec(), None).await.unwrap(), "absent as read: written");
    assert!(!blobs.put_if(key, b"lost".to_vec(), None).await.unwrap(), "no longer absent: refused");
    let (bytes, first) = blobs.get_versioned(key).await.unwrap().unwrap();
    assert_eq!(bytes, b"first");
    blobs.put(key, b"another writer".to_vec()).await.unwrap();
    assert!(!blobs.put_if(key, b"first, appended".to_vec(), Some(&first)).await.unwrap(), "changed: refused");
    assert_eq!(blobs.get(key).await.unwrap().as_deref(), Some(&b"another writer"[..]), "the other write stays");
    let (bytes, current) = blobs.get_versioned(key).await.unwrap().unwrap();
    assert_eq!((bytes.as_slice(), current != first), (&b"another writer"[..], true));
    assert!(blobs.put_if(key, b"another writer, appended".to_vec(), Some(&current)).await.unwrap());
    assert_eq!(blobs.get(key).await.unwrap().as_deref(), Some(&b"another writer, appended"[..]));
    assert!(!blobs.put_if(key, b"stale".to_vec(), Some(&current)).await.unwrap(), "a version is used once");
    blobs.delete(key).await.unwrap();
    assert!(!blobs.put_if(key, b"gone".to_vec(), Some(&current)).await.unwrap(), "deleted: refused");
    assert_eq!(blobs.get(key).await.unwrap(), None);
}

/// Ranges of a blob read back exactly, a range past its end or of a missing blob reads as `None`; where the
/// store appends, concurrent appends to one blob each get the offset their own bytes start at.
pub async fn blob_ranges(blobs: Arc<dyn BlobStore>) {
    let key = "live/contract-range/s000000.pcm";
    assert_eq!(blobs.get_range(key, 0, 1).await.unwrap(), None);
    if !blobs.appends() {
        assert!(blobs.append(key, b"refused").await.is_err(), "no append where blobs cannot grow");
        blobs.put(key, b"0123456789".to_vec()).await.unwrap();
        assert_eq!(blobs.get_range(key, 3, 4).await.unwrap().as_deref(), Some(&b"3456"[..]));
        assert_eq!(blobs.get_range(key, 8, 3).await.unwrap(), None, "past the end");
        blobs.delete(key).await.unwrap();
        return;
    }
    assert_eq!(blobs.append(key, b"0123").await.unwrap(), 0);
    let writes = (0..16u8).map(|i| {
        let blobs = blobs.clone();
        tokio::spawn(async move { (i, blobs.append(key, &vec![b'a' + i; 100 + usize::from(i)]).await.unwrap()) })
    });
    let mut offsets = Vec::new();
    for w in writes {
        offsets.push(w.await.unwrap());
    }
    for (i, offset) in &offsets {
        let len = 100 + u64::from(*i);
        assert_eq!(blobs.get_range(key, *offset, len).await.unwrap(), Some(vec![b'a' + i; len as usize]));
    }
    let end = offsets.iter().map(|(i, o)| o + 100 + u64::from(*i)).max().unwrap();
    assert_eq!(end, 4 + (0..16).map(|i| 100 + i).sum::<u64>(), "the appends fill the blob, none overlaps");
    assert_eq!(blobs.get_range(key, 1, 2).await.unwrap().as_deref(), Some(&b"12"[..]));
    assert_eq!(blobs.get_range(key, end - 1, 2).await.unwrap(), None, "past the end");
    blobs.delete(key).await.unwrap();
    assert_eq!(blobs.get_range(key, 0, 1).await.unwrap(), None);
    assert_eq!(blobs.append(key, b"again").await.unwrap(), 0, "a deleted blob starts afresh");
    assert_eq!(blobs.get_range(key, 0, 5).await.unwrap().as_deref(), Some(&b"again"[..]));
    blobs.delete(key).await.unwrap();
}

/// Two tasks of one component keep a heartbeat each (a dead one must not hide behind a live one), a beat
/// replaces only its own instance's.
pub async fn heartbeat_round_trip(hbs: Arc<dyn Heartbeats>) {
    assert!(hbs.list("contract_worker").await.unwrap().is_empty());
    let first = Heartbeat {
        component: "contract_worker".into(),
        instance: "task-a".into(),
        updated_at: parse_iso("2026-02-10T10:00:00.250000Z").unwrap(),
        status: serde_json::json!({"state": "running", "open_sessions": 3, "last_error": null}),
    };
    hbs.put(&first).await.unwrap();
    assert_eq!(hbs.list("contract_worker").await.unwrap(), vec![first.clone()]);
    let at = |s: &str| parse_iso(s).unwrap();
    let other = Heartbeat { instance: "task-b".into(), updated_at: at("2026-02-10T10:00:05Z"), ..first.clone() };
    hbs.put(&other).await.unwrap();
    let second =
        Heartbeat { status: serde_json::json!({"state": "stopping"}), updated_at: at("2026-02-10T10:00:10Z"), ..first };
    hbs.put(&second).await.unwrap();
    assert_eq!(hbs.list("contract_worker").await.unwrap(), vec![second.clone(), other.clone()], "newest first");
    assert!(hbs.list("other_worker").await.unwrap().is_empty());
}

pub async fn ticket_redeemed_once(tickets: Arc<dyn Tickets>) {
    let now = parse_iso("2026-02-10T10:00:00Z").unwrap();
    let later = |s: i64| now + chrono::Duration::seconds(s);
    tickets.put_ticket("contract-ticket-a", later(60)).await.unwrap();
    tickets.put_ticket("contract-ticket-b", later(60)).await.unwrap();
    assert!(!tickets.redeem_ticket("contract-ticket-unknown", now).await.unwrap());
    assert!(tickets.redeem_ticket("contract-ticket-a", later(59)).await.unwrap());
    assert!(!tickets.redeem_ticket("contract-ticket-a", later(59)).await.unwrap(), "a ticket opens one connection");
    assert!(!tickets.redeem_ticket("contract-ticket-b", later(60)).await.unwrap(), "expired at its deadline");
}
