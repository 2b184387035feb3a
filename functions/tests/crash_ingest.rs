//! A crash under ingest load loses no acknowledged event and applies none twice: the real `call-analytics
//! serve` process takes events from concurrent clients, is killed with SIGKILL mid-load, and is started
//! again on the same data dir. Every event a client got a 2xx for is stored exactly once, each call's state
//! counts exactly the events stored for it (an event and its state are one commit), and sending every event
//! again, as a provider retries what it does not know the fate of, stores nothing twice.

mod common;

use common::INGEST;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CALLS: usize = 60;
/// Events per call: fewer than the snapshot's 40, so a snapshot shows every event of its call.
const PER_CALL: usize = 30;
const CLIENTS: usize = 16;
/// Acknowledged events before the kill.
const KILL_AFTER: usize = 400;

fn event(n: usize) -> (String, Value) {
    let (call, id) = (format!("crash-{}", n % CALLS), format!("ev-{n}"));
    let line = ["hello there", "my bill is wrong", "I will cancel account today"][n / CALLS % 3];
    let body = json!({"call_id": call, "event_id": id, "speaker": "customer", "text": format!("{id} {line}"),
        "sentiment": -0.3});
    (id, body)
}

/// Posts events `n` taken from `next` until the server stops answering; returns the acknowledged ids.
async fn client(base: String, next: Arc<Mutex<usize>>, acked: Arc<Mutex<BTreeSet<String>>>) {
    let http = reqwest::Client::new();
    loop {
        let n = {
            let mut next = next.lock().unwrap();
            *next += 1;
            *next - 1
        };
        if n >= CALLS * PER_CALL {
            return;
        }
        let (id, body) = event(n);
        let sent = http.post(format!("{base}/api/realtime/events")).header("X-Cloud-Token", INGEST).json(&body);
        match sent.timeout(Duration::from_secs(10)).send().await {
            Ok(r) if r.status().is_success() => {
                acked.lock().unwrap().insert(id);
            }
            Ok(r) => panic!("{id}: {}", r.status()),
            Err(_) => return, // the server is gone
        }
    }
}

/// Each call's stored event ids (from the text) and the state's event count, through the API.
async fn stored(base: &str) -> BTreeMap<String, (Vec<String>, u64)> {
    let http = reqwest::Client::new();
    let mut out = BTreeMap::new();
    for c in 0..CALLS {
        let call = format!("crash-{c}");
        let snap: Value = http
            .get(format!("{base}/api/realtime/calls/{call}/snapshot"))
            .bearer_auth(common::SUPERVISOR)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<String> = snap["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["text"].as_str().unwrap().split(' ').next().unwrap().to_string())
            .collect();
        out.insert(call, (ids, snap["event_count"].as_u64().unwrap_or(0)));
    }
    out
}

fn check(stored: &BTreeMap<String, (Vec<String>, u64)>, acked: &BTreeSet<String>) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for (call, (ids, count)) in stored {
        assert!(ids.len() < 40, "{call}: the snapshot shows every event");
        assert_eq!(*count, ids.len() as u64, "{call}: the state counts exactly the events stored with it");
        for id in ids {
            assert!(all.insert(id.clone()), "{id} stored twice");
        }
    }
    let lost: Vec<&String> = acked.difference(&all).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_event_and_applies_none_twice() {
    let dir = tempfile::TempDir::new().unwrap();
    let (mut server, base) = common::serve_binary(dir.path(), &[]);
    let (next, acked) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(BTreeSet::new())));
    let clients: Vec<_> =
        (0..CLIENTS).map(|_| tokio::spawn(client(base.clone(), next.clone(), acked.clone()))).collect();
    while acked.lock().unwrap().len() < KILL_AFTER {
        assert!(clients.iter().any(|c| !c.is_finished()), "load ended before the kill");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL: no shutdown path runs
    server.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let sent = (*next.lock().unwrap()).min(CALLS * PER_CALL);
    assert!(acked.len() >= KILL_AFTER && sent < CALLS * PER_CALL, "killed mid-load ({} of {sent})", acked.len());

    let (mut server, base) = common::serve_binary(dir.path(), &[]);
    let after_restart = stored(&base).await;
    let kept = check(&after_restart, &acked);
    assert!(kept.iter().all(|id| id[3..].parse::<usize>().unwrap() < sent), "only sent events are stored");

    // A provider sends again everything whose fate it does not know (here: everything it sent).
    let http = reqwest::Client::new();
    for n in 0..sent {
        let r = http
            .post(format!("{base}/api/realtime/events"))
            .header("X-Cloud-Token", INGEST)
            .json(&event(n).1)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let body: Value = r.json().await.unwrap();
        let id = event(n).0;
        assert_eq!(body["duplicate"] == json!(true), kept.contains(&id), "{id}: duplicate exactly when stored");
    }
    let every: BTreeSet<String> = (0..sent).map(|n| event(n).0).collect();
    assert_eq!(check(&stored(&base).await, &every), every, "after the retries each sent event is stored once");
    common::process::terminate(&mut server);
}
