//! Push on AWS: subscriptions in DynamoDB (moto) and posts to a fake API Gateway Management API on loopback
//! (moto's PostToConnection accepts any id and records nothing, so it cannot check delivery or `410 Gone`).
#![cfg(feature = "aws")]

mod moto;

use serde_json::json;
use shared::adapters::aws::{ApiGatewayPush, DynamoStore, Following};
use shared::ports::{Push, PushMessage};
use std::collections::BTreeSet;
use std::sync::Arc;

fn set(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_reaches_followers_and_forgets_gone_connections() {
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, "push").await;
    let store = Arc::new(DynamoStore::new(&sdk, &settings));
    let (url, posts) = moto::fake_management_api().await;
    let push = ApiGatewayPush::new(&sdk, store.clone(), &url);
    let now = chrono::Utc::now();

    for c in ["conn-a", "conn-all", "gone-1"] {
        store.connect(c, now).await.unwrap();
    }
    let following = |all, calls| Some(Following { all, calls });
    assert_eq!(store.subscribe("conn-a", Some("call-1"), 2, now).await.unwrap(), following(false, 1));
    assert_eq!(store.subscribe("conn-a", Some("call-3"), 2, now).await.unwrap(), following(false, 2));
    assert_eq!(store.subscribe("conn-a", Some("call-4"), 2, now).await.unwrap(), None, "over the limit");
    assert_eq!(store.unsubscribe("conn-a", Some("call-3")).await.unwrap(), Following { all: false, calls: 1 });
    assert_eq!(store.subscribe("conn-all", None, 2, now).await.unwrap(), following(true, 0));
    assert_eq!(store.subscribe("gone-1", Some("call-1"), 2, now).await.unwrap(), following(false, 1));
    assert_eq!(store.subscribe("never-connected", Some("call-1"), 2, now).await.unwrap(), None);
    assert_eq!(
        set(store.subscribers("call-1").await.unwrap()),
        set(vec!["conn-a".into(), "conn-all".into(), "gone-1".into()])
    );

    let body = json!({"type": "supervisor_alert", "call_id": "call-1", "alert": {"id": 7}});
    push.publish(vec![PushMessage { call_id: "call-1".into(), body: body.clone() }]).await;
    let delivered = posts.lock().unwrap().clone();
    assert_eq!(
        set(delivered.iter().map(|(id, _)| id.clone()).collect()),
        set(vec!["conn-a".into(), "conn-all".into(), "gone-1".into()])
    );
    for (_, b) in &delivered {
        assert_eq!(serde_json::from_str::<serde_json::Value>(b).unwrap(), body);
    }
    assert_eq!(
        set(store.subscribers("call-1").await.unwrap()),
        set(vec!["conn-a".into(), "conn-all".into()]),
        "gone is forgotten"
    );

    posts.lock().unwrap().clear();
    push.publish(vec![PushMessage { call_id: "call-2".into(), body: json!({"type": "realtime_event"}) }]).await;
    assert_eq!(posts.lock().unwrap().iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["conn-all"]);

    let none = Following { all: false, calls: 0 };
    assert_eq!(store.subscribe("conn-all", Some("call-1"), 2, now).await.unwrap(), following(true, 1));
    assert_eq!(store.unsubscribe("conn-all", None).await.unwrap(), none, "unsubscribe without a call: everything");
    store.disconnect("conn-a").await.unwrap();
    assert_eq!(store.unsubscribe("conn-a", Some("call-1")).await.unwrap(), none, "a forgotten connection stays gone");
    assert_eq!(store.subscribe("conn-a", Some("call-1"), 2, now).await.unwrap(), None);
    assert!(store.subscribers("call-1").await.unwrap().is_empty());
}
