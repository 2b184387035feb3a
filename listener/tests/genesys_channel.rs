//! A notifications channel against a fake Genesys service on loopback (`support::genesys`, scripted per
//! connection): socket_closing → reconnect on
//! the same channel with the same topics, silence → ping → reconnect, channel gone (404) → a new channel
//! subscribed to the same topics.

#[path = "support/mod.rs"]
mod support;

use listener::genesys::api::{Api, ApiSettings};
use listener::genesys::channel::{ChannelRunner, ChannelSettings, ChannelStats};
use std::sync::Arc;
use std::time::Duration;
use support::genesys::{self, Script};

#[tokio::test]
async fn the_channel_survives_closing_silence_and_loss() {
    let (f, base) = genesys::start(&[
        Script::NotifyThenClosing("conv-a"),
        Script::Silent,
        Script::ChannelGone,
        Script::NotifyAndHold("conv-b"),
    ])
    .await;
    let api = Arc::new(Api::new(ApiSettings::from_env(&genesys::env(&base)).unwrap()).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stats = Arc::new(ChannelStats::default());
    let topics = vec!["v2.routing.queues.q1.conversations.calls".to_string(), "v2.users.u1.conversations.calls".into()];
    let runner = ChannelRunner {
        api,
        topics: topics.clone(),
        settings: ChannelSettings {
            ping_after: Duration::from_millis(300),
            pong_within: Duration::from_millis(300),
            reconnect_delay: Duration::from_millis(100),
            ..ChannelSettings::default()
        },
        stats: stats.clone(),
        out: tx,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(runner.run(stopped));

    let mut seen = Vec::new();
    while seen.len() < 2 {
        let m = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("notifications").unwrap();
        seen.push(m["eventBody"]["id"].as_str().unwrap().to_string());
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();

    assert_eq!(seen, ["conv-a", "conv-b"], "heartbeats and system messages are not passed on");
    assert_eq!(
        *f.connections.lock().unwrap(),
        ["ch-1", "ch-1", "ch-1", "ch-2"],
        "the channel is reused until it is gone"
    );
    assert_eq!(
        *f.subscriptions.lock().unwrap(),
        [("ch-1".to_string(), topics.clone()), ("ch-2".to_string(), topics)],
        "subscribed once per channel, the new one to the same topics"
    );
    assert!(*f.pings.lock().unwrap() >= 1, "the silent socket was pinged before giving up");
    assert_eq!(stats.channels_created.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[tokio::test]
async fn the_subscription_is_renewed_before_the_channel_expires() {
    let (f, base) = genesys::start(&[Script::NotifyAndHold("conv-a")]).await;
    let api = Arc::new(Api::new(ApiSettings::from_env(&genesys::env(&base)).unwrap()).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let topics = vec!["v2.users.u1.conversations.calls".to_string()];
    let runner = ChannelRunner {
        api,
        topics: topics.clone(),
        settings: ChannelSettings { resubscribe_every: Duration::from_millis(200), ..ChannelSettings::default() },
        stats: Arc::new(ChannelStats::default()),
        out: tx,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(runner.run(stopped));
    rx.recv().await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    let subs = f.subscriptions.lock().unwrap().clone();
    assert!(subs.len() >= 3, "subscribed, then renewed on the same socket: {subs:?}");
    assert!(subs.iter().all(|(ch, t)| ch == "ch-1" && *t == topics));
    assert_eq!(*f.connections.lock().unwrap(), ["ch-1"], "renewing does not reconnect");
}
