//! Push on AWS: subscriptions in DynamoDB (moto) and posts to a fake API Gateway Management API on loopback
//! (moto's PostToConnection accepts any id and records nothing, so it cannot check delivery or `410 Gone`).
#![cfg(feature = "aws")]

mod moto;

use serde_json::json;
use shared::adapters::aws::{ApiGatewayPush, DynamoStore};
use shared::ports::{Push, PushMessage};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Posts = Arc<Mutex<Vec<(String, String)>>>;

/// A fake management API: records `POST /@connections/{id}` bodies; ids starting with `gone` answer 410.
async fn fake_management_api() -> (String, Posts) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let posts: Posts = Arc::default();
    let seen = posts.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap_or(0));
                        break (end + 4, len);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let id = path.rsplit('/').next().unwrap_or("").to_string();
                seen.lock().unwrap().push((id.clone(), String::from_utf8_lossy(&buf[head_end..]).to_string()));
                let reply = if id.starts_with("gone") {
                    "HTTP/1.1 410 Gone\r\nx-amzn-ErrorType: GoneException\r\ncontent-type: application/json\r\ncontent-length: 19\r\nconnection: close\r\n\r\n{\"message\":\"Gone\"}\n"
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                };
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, posts)
}

fn set(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_reaches_followers_and_forgets_gone_connections() {
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, "push").await;
    let store = Arc::new(DynamoStore::new(&sdk, &settings));
    let (url, posts) = fake_management_api().await;
    let push = ApiGatewayPush::new(&sdk, store.clone(), &url);
    let now = chrono::Utc::now();

    for c in ["conn-a", "conn-all", "gone-1"] {
        store.connect(c, now).await.unwrap();
    }
    assert!(store.subscribe("conn-a", Some("call-1"), now).await.unwrap());
    assert!(store.subscribe("conn-all", None, now).await.unwrap());
    assert!(store.subscribe("gone-1", Some("call-1"), now).await.unwrap());
    assert!(!store.subscribe("never-connected", Some("call-1"), now).await.unwrap());
    assert_eq!(
        set(store.subscribers("call-1").await.unwrap()),
        set(vec!["conn-a".into(), "conn-all".into(), "gone-1".into()])
    );

    let body = json!({"type": "supervisor_alert", "call_id": "call-1", "alert": {"id": 7}});
    push.publish(PushMessage { call_id: "call-1".into(), body: body.clone() }).await;
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
    push.publish(PushMessage { call_id: "call-2".into(), body: json!({"type": "realtime_event"}) }).await;
    assert_eq!(posts.lock().unwrap().iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["conn-all"]);

    store.unsubscribe("conn-all", None).await.unwrap();
    store.disconnect("conn-a").await.unwrap();
    assert!(store.subscribers("call-1").await.unwrap().is_empty());
}
