//! The connector end to end on loopback: a fake Genesys (`support::genesys`) with 1,000 active users, so
//! the discovered topics need two channels, each socket sending a call notification; a fake ingest that is
//! down at first; the heartbeat in a real SQLite file.

#[path = "support/mod.rs"]
mod support;

use listener::forward::{Delivery, HttpIngest, IngestUrls};
use listener::genesys::connector::{self, ConnectorConfig};
use serde_json::json;
use shared::adapters::embedded::SqliteStore;
use shared::ports::Heartbeats;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::genesys::{self, Script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_topics_two_channels_events_spooled_then_delivered_once() {
    let (g, base) = genesys::start(&[Script::NotifyAndHold("conv-a"), Script::NotifyAndHold("conv-b")]).await;
    *g.users.lock().unwrap() = (0..1000)
        .map(|i| json!({"id": format!("u{i:04}"), "name": format!("Agent {i}"), "email": format!("agent{i}@example.com")}))
        .collect();
    let (ingest, ingest_base) = support::ingest::start().await;
    ingest.down.store(true, Ordering::SeqCst);

    let dir = tempfile::tempdir().unwrap();
    let mut env = genesys::env(&base);
    for (k, v) in [
        ("GENESYS_TOPIC_BUILDER_MODE", "users"),
        ("GENESYS_TOPIC_BUILDER_MAX_USERS", "1000"),
        ("GENESYS_RETRY_BACKOFF_SECONDS", "0.2"),
        ("GENESYS_CONNECTOR_HEARTBEAT_SECONDS", "1"),
        ("REALTIME_INGEST_URL", ingest_base.as_str()),
        ("REALTIME_INGEST_TOKEN", "ingest-token"),
    ] {
        env.insert(k.into(), v.into());
    }
    env.insert("DATA_DIR".into(), dir.path().display().to_string());
    let cfg = ConnectorConfig::from_env(&env).unwrap();
    let urls = IngestUrls { audio: String::new(), events: cfg.ingest_url.clone() };
    let http = Arc::new(HttpIngest::new(urls, cfg.ingest_token.clone(), Duration::from_secs(5)).unwrap());
    let store = Arc::new(SqliteStore::open(&dir.path().join("call_analytics.db")).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(connector::run(cfg, http, store.clone(), Delivery::Forward, async {
        let _ = stopped.await;
    }));

    support::wait_for("retries against the down ingest", || ingest.refused.load(Ordering::SeqCst) >= 2).await;
    let subscribed = g.subscriptions.lock().unwrap().clone();
    let mut sizes: Vec<usize> = subscribed.iter().map(|(_, t)| t.len()).collect();
    sizes.sort();
    assert_eq!(sizes, [100, 900], "1,000 topics, two channels");
    let all: std::collections::BTreeSet<&String> = subscribed.iter().flat_map(|(_, t)| t).collect();
    assert_eq!(all.len(), 1000);
    assert!(all.contains(&"v2.users.u0999.conversations.calls".to_string()));
    ingest.down.store(false, Ordering::SeqCst);
    support::wait_for("both calls' events", || ingest.accepted.lock().unwrap().len() >= 2).await;
    let mut calls: Vec<String> =
        ingest.accepted.lock().unwrap().iter().map(|e| e["call_id"].as_str().unwrap().to_string()).collect();
    calls.sort();
    assert_eq!(calls, ["conv-a", "conv-b"]);

    let mut hb = None;
    for _ in 0..40 {
        hb = store
            .list("genesys_connector")
            .await
            .unwrap()
            .into_iter()
            .next()
            .filter(|h| h.status["forwarded_events"] == 2);
        if hb.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hb = hb.expect("a heartbeat with the forwarded events");
    assert_eq!((hb.status["state"].as_str(), hb.status["topics_count"].as_u64()), (Some("running"), Some(1000)));
    assert_eq!(hb.status["channels"], 2);
    let text = hb.status.to_string();
    assert!(!text.contains("example.com") && !text.contains("Agent 1") && !text.contains("ws://"), "{text}");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
    assert_eq!(store.list("genesys_connector").await.unwrap().into_iter().next().unwrap().status["state"], "stopped");
    assert_eq!(ingest.accepted.lock().unwrap().len(), 2, "each event once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_spooled_at_stop_are_delivered_after_a_restart() {
    let (_g, base) = genesys::start(&[Script::NotifyAndHold("conv-c")]).await;
    let (ingest, ingest_base) = support::ingest::start().await;
    ingest.down.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let mut env = genesys::env(&base);
    for (k, v) in [
        ("GENESYS_TOPIC_BUILDER_MODE", "manual"),
        ("GENESYS_QUEUE_IDS", "q1"),
        ("GENESYS_RETRY_BACKOFF_SECONDS", "0.2"),
        ("REALTIME_INGEST_URL", ingest_base.as_str()),
    ] {
        env.insert(k.into(), v.into());
    }
    env.insert("DATA_DIR".into(), dir.path().display().to_string());
    let run = |env: &std::collections::HashMap<String, String>| {
        let cfg = ConnectorConfig::from_env(env).unwrap();
        let urls = IngestUrls { audio: String::new(), events: cfg.ingest_url.clone() };
        let http = Arc::new(HttpIngest::new(urls, String::new(), Duration::from_secs(5)).unwrap());
        let store = Arc::new(SqliteStore::open(&dir.path().join("call_analytics.db")).unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(connector::run(cfg, http, store, Delivery::Forward, async {
            let _ = stopped.await;
        }));
        (stop, task)
    };
    let (stop, task) = run(&env);
    support::wait_for("retries against the down ingest", || ingest.refused.load(Ordering::SeqCst) >= 1).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
    let spool = dir.path().join("spool/connector");
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 1, "the undelivered event waits on disk");

    ingest.down.store(false, Ordering::SeqCst);
    let (stop, task) = run(&env);
    support::wait_for("the spooled event", || !ingest.accepted.lock().unwrap().is_empty()).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
    let accepted = ingest.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["call_id"], "conv-c");
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
}
