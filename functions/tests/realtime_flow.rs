//! End-to-end behaviour over a real socket: concurrency, push, restart.

mod common;

use common::{TestServer, next_json};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_events_for_one_call_are_all_applied() {
    let server = TestServer::start().await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (http, url) = (server.http.clone(), server.url("/api/realtime/events"));
            tokio::spawn(async move {
                let body = json!({"call_id": "busy", "text": format!("line {i}"), "sentiment": 0.5, "event_id": format!("e{i}")});
                http.post(url).header("X-Cloud-Token", common::INGEST).json(&body).send().await.unwrap().status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, calls) = server.get("/api/realtime/calls").await;
    assert_eq!(calls["calls"][0]["event_count"], 200, "{calls}");
    let (_, snap) = server.get("/api/realtime/calls/busy/snapshot").await;
    assert_eq!(snap["events"].as_array().unwrap().len(), 40);
    // Sentiment 0.5 every time: the EMA is exactly 0.5 only if no update was lost or doubled.
    assert_eq!(snap["sentiment_score"], 0.5);
    server.stop().await;
}

#[tokio::test]
async fn subscribed_supervisor_receives_pushed_alert() {
    let server = TestServer::start().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url()).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connected");
    ws.send(Message::Text(json!({"action": "subscribe", "call_id": "pushed"}).to_string().into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "subscribed");

    // An event for another call is not delivered to this subscriber.
    server.post_event(&json!({"call_id": "other", "text": "supervisor please"})).await;
    let (status, _) =
        server.post_event(&json!({"call_id": "pushed", "text": "get me your supervisor", "sentiment": -0.9})).await;
    assert_eq!(status, 200);
    let first = next_json(&mut ws).await;
    assert_eq!((first["type"].as_str(), first["call_id"].as_str()), (Some("realtime_event"), Some("pushed")));
    let mut alerts = Vec::new();
    while alerts.len() < 3 {
        let m = next_json(&mut ws).await;
        assert_eq!(m["type"], "supervisor_alert", "{m}");
        assert_eq!(m["call_id"], "pushed");
        alerts.push(m["alert"]["type"].as_str().unwrap().to_string());
    }
    assert_eq!(alerts, ["negative_sentiment", "escalation_keyword", "high_risk_score"]);

    let (_, ack) = server.post("/api/realtime/alerts/4/ack").await;
    assert_eq!(ack["alert"]["call_id"], "pushed", "{ack}");
    let m = next_json(&mut ws).await;
    assert_eq!((m["type"].as_str(), m["alert"]["id"].as_i64()), (Some("supervisor_alert_ack"), Some(4)));
    server.stop().await;
}

#[tokio::test]
async fn websocket_requires_the_supervisor_token() {
    let server = TestServer::start().await;
    let bad = server.ws_url().replace(common::SUPERVISOR, "wrong");
    let err = tokio_tungstenite::connect_async(bad).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn websocket_accepts_a_one_time_ticket() {
    let server = TestServer::start().await;
    let (status, issued) = server.post("/api/realtime/ws-ticket").await;
    assert_eq!(status, 200, "{issued}");
    let base = server.ws_url().replace(&format!("token={}", common::SUPERVISOR), "ticket=");
    let url = format!("{base}{}", issued["ticket"].as_str().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connected");
    let err = tokio_tungstenite::connect_async(&url).await.unwrap_err();
    assert!(err.to_string().contains("401"), "a ticket opens one connection: {err}");
    let err = tokio_tungstenite::connect_async(format!("{base}made-up")).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn snapshot_survives_a_restart() {
    let dir = tempfile::TempDir::new().unwrap();
    let server = TestServer::start_in(dir.path(), &[]).await;
    server
        .post_event(
            &json!({"call_id": "keep", "provider": "genesys", "text": "I want a refund now", "sentiment": -0.6}),
        )
        .await;
    let pcm = base64_pcm(8000);
    let (status, _) =
        server.post_audio(&json!({"call_id": "keep", "audio_b64": pcm, "sample_rate": 8000, "chunk_id": "c1"})).await;
    assert_eq!(status, 200);
    let (_, before) = server.get("/api/realtime/calls/keep/snapshot").await;
    server.stop().await;

    let again = TestServer::start_in(dir.path(), &[]).await;
    let (_, after) = again.get("/api/realtime/calls/keep/snapshot").await;
    assert_eq!(before, after);
    assert_eq!(after["live_audio"]["available"], true);
    let wav = again
        .http
        .get(again.url("/api/realtime/calls/keep/audio"))
        .bearer_auth(common::SUPERVISOR)
        .send()
        .await
        .unwrap();
    assert_eq!(wav.status(), 200);
    assert_eq!(wav.bytes().await.unwrap().len(), 44 + 16_000);
    again.stop().await;
}

/// One second of a quiet-but-not-silent 8 kHz mono tone, base64.
fn base64_pcm(frames: usize) -> String {
    use base64::Engine;
    let pcm: Vec<u8> = (0..frames).flat_map(|i| (((i % 16) as i16 - 8) * 400).to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(pcm)
}

#[tokio::test]
async fn dead_air_is_detected_from_live_audio() {
    use base64::Engine;
    let server = TestServer::start().await;
    let silence = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 16_000]);
    let mut raised = Vec::new();
    for i in 0..36 {
        let body = json!({"call_id": "quiet", "audio_b64": silence, "sample_rate": 8000, "chunk_id": format!("s{i}")});
        let (status, resp) = server.post_audio(&body).await;
        assert_eq!(status, 200, "{resp}");
        raised.extend(resp["alerts"].as_array().unwrap().iter().map(|a| (i, a["type"].clone(), a["severity"].clone())));
    }
    // 20 s of silence: a medium dead-air alert; 35 s: the high one, more severe, passes its cooldown.
    assert_eq!(raised, [(19, json!("dead_air"), json!("medium")), (34, json!("dead_air"), json!("high"))]);
    let (_, snap) = server.get("/api/realtime/calls/quiet/snapshot").await;
    assert_eq!(snap["live_audio"]["silence_seconds"], 36.0);
    // Rows only for the chunk that started the call and the two that raised alerts, not all 36.
    let dead_air: Vec<Value> = snap["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["metrics"]["dead_air_seconds"].clone())
        .collect();
    assert_eq!(dead_air, [Value::Null, json!(20.0), json!(35.0)]);

    // A bare chunk that ends the call is kept as a row: the end is visible in the snapshot.
    let end =
        json!({"call_id": "quiet", "audio_b64": silence, "sample_rate": 8000, "chunk_id": "end", "status": "ended"});
    assert_eq!(server.post_audio(&end).await.0, 200);
    let (_, snap) = server.get("/api/realtime/calls/quiet/snapshot").await;
    assert_eq!((snap["status"].as_str(), snap["events"].as_array().unwrap().len()), (Some("ended"), 4));
    server.stop().await;
}

#[tokio::test]
async fn the_server_ends_calls_left_idle() {
    use shared::ports::{CallStore, EventCommit};
    let dir = tempfile::TempDir::new().unwrap();
    // A call last heard from three hours ago, as a crashed provider would leave it.
    let store = shared::adapters::embedded::SqliteStore::open(&dir.path().join("call_analytics.db")).unwrap();
    let obj = |v: Value| v.as_object().unwrap().clone();
    let ev = shared::realtime::normalize::normalize_event(&obj(json!({"call_id": "forgotten", "text": "hello"})), 100)
        .unwrap();
    let three_hours_ago = chrono::Utc::now() - chrono::Duration::hours(3);
    let applied = shared::realtime::risk::apply_event(
        None,
        &ev,
        three_hours_ago,
        &shared::realtime::config::RealtimeConfig::default(),
    );
    let commit = EventCommit {
        state: applied.state,
        expected_version: None,
        previous_updated_at: None,
        event: None,
        alerts: vec![],
        idempotency_key: None,
    };
    store.commit_event(commit).await.unwrap();
    drop(store);

    let server = TestServer::start_in(dir.path(), &[("HOUSEKEEPING_INTERVAL_SECONDS", "1")]).await;
    let snapshot = server.get_until("/api/realtime/calls/forgotten/snapshot", |v| v["status"] == "ended").await;
    assert_eq!(snapshot["status"], "ended");
    server.stop().await;
}
