//! Supervisor endpoints over a real socket: calls, snapshot, live audio, alerts, ack, health, fallbacks.

mod common;

use base64::Engine;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::adapters::embedded::SqliteStore;
use shared::ports::{Heartbeat, Heartbeats};

const SUPERVISOR_ROUTES: [&str; 8] = [
    "/api/realtime/calls",
    "/api/realtime/calls/x/snapshot",
    "/api/realtime/calls/x/audio",
    "/api/realtime/calls/x/audio/meta",
    "/api/realtime/alerts",
    "/api/integrations/genesys/health",
    "/api/integrations/genesys/audiohook/health",
    "/ws",
];

#[tokio::test]
async fn supervisor_routes_need_the_token() {
    let s = TestServer::start().await;
    for path in SUPERVISOR_ROUTES {
        for auth in
            [None, Some("Bearer wrong"), Some("Basic dGVzdA=="), Some(&format!("Bearer {}", common::INGEST) as &str)]
        {
            let mut req = s.http.get(s.url(path));
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 401, "{path} {auth:?}");
            assert_eq!(resp.headers()["www-authenticate"], "Bearer");
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["detail"], "Missing or invalid supervisor token");
        }
    }
    let resp = s.http.post(s.url("/api/realtime/alerts/1/ack")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    // With the token but without an upgrade, /ws explains itself.
    let (status, v) = s.get("/ws").await;
    assert_eq!(status.as_u16() / 100, 4, "{status}");
    assert_eq!(v["detail"], "Expected a WebSocket upgrade request");
    s.stop().await;
}

#[tokio::test]
async fn calls_list_orders_filters_and_paginates() {
    let s = TestServer::start().await;
    for i in 0..7 {
        s.post_event(&json!({"call_id": format!("call-{i}"), "text": "hi"})).await;
    }
    s.post_event(&json!({"call_id": "call-2", "status": "ended"})).await;
    let (_, first) = s.get("/api/realtime/calls?limit=3").await;
    assert_eq!(first["calls"][0]["call_id"], "call-2", "newest activity first");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/realtime/calls?limit=3&cursor={c}"),
            None => "/api/realtime/calls?limit=3".into(),
        };
        let (status, page) = s.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["calls"].as_array().unwrap().iter().map(|c| c["call_id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, (0..7).map(|i| format!("call-{i}")).collect::<Vec<_>>());
    let (_, ended) = s.get("/api/realtime/calls?status=ended").await;
    assert_eq!(ended["calls"].as_array().unwrap().len(), 1);
    assert_eq!(ended["calls"][0]["status"], "ended");
    s.stop().await;
}

#[tokio::test]
async fn snapshot_of_unknown_and_invalid_calls() {
    let s = TestServer::start().await;
    let (status, v) = s.get("/api/realtime/calls/never-seen/snapshot").await;
    assert_eq!(status, 200);
    assert_eq!((v["status"].as_str(), v["provider"].as_str()), (Some("idle"), Some("generic")));
    assert_eq!((&v["events"], &v["alerts"], &v["live_audio"]["available"]), (&json!([]), &json!([]), &json!(false)));
    assert!(v.get("updated_at").is_none());
    let (status, v) = s.get("/api/realtime/calls/bad%20id/snapshot").await;
    assert_eq!(status, 400);
    assert!(v["detail"].as_str().unwrap().starts_with("Invalid call_id"));
    s.stop().await;
}

#[tokio::test]
async fn live_audio_wav_and_meta() {
    let s = TestServer::start().await;
    let (_, meta) = s.get("/api/realtime/calls/la/audio/meta").await;
    assert_eq!(
        meta,
        json!({"call_id": "la", "live_audio": meta["live_audio"], "fallback_audio_available": false, "preferred_source": "none"})
    );
    let (status, v) = s.get("/api/realtime/calls/la/audio").await;
    assert_eq!((status, v["detail"].as_str()), (StatusCode::NOT_FOUND, Some("Live audio not found")));

    let second: Vec<u8> = (0..8000i16).flat_map(|i| (i % 100).to_le_bytes()).collect();
    for i in 0..3 {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&second);
        s.post_audio(&json!({"call_id": "la", "audio_b64": b64, "sample_rate": 8000, "chunk_id": format!("c{i}")}))
            .await;
    }
    let (_, meta) = s.get("/api/realtime/calls/la/audio/meta").await;
    assert_eq!(meta["preferred_source"], "live");
    let get = |q: &'static str| {
        let req = s.http.get(s.url(&format!("/api/realtime/calls/la/audio{q}"))).bearer_auth(common::SUPERVISOR);
        async move { req.send().await.unwrap() }
    };
    let resp = get("").await;
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "audio/wav");
    assert_eq!(h["cache-control"], "no-store, no-cache, must-revalidate, max-age=0");
    assert_eq!(h["pragma"], "no-cache");
    assert_eq!(h["content-disposition"], "inline; filename=\"la_live.wav\"");
    assert_eq!(h["x-live-audio"], "1");
    let body = resp.bytes().await.unwrap();
    assert_eq!((&body[..4], body.len()), (&b"RIFF"[..], 44 + 3 * 16_000));
    let one = get("?max_seconds=1").await.bytes().await.unwrap();
    assert_eq!(one.len(), 44 + 16_000);
    assert_eq!(&one[44..], &body[44 + 32_000..], "the last second");
    for q in ["?max_seconds=0", "?max_seconds=-5", "?max_seconds=abc"] {
        assert_eq!(get(q).await.bytes().await.unwrap().len(), 44 + 48_000, "{q}");
    }
    s.stop().await;
}

async fn live_audio(s: &TestServer, call: &str, query: &str) -> reqwest::Response {
    s.get_raw(&format!("/api/realtime/calls/{call}/audio{query}")).await
}

/// With `fallback=1` and no live window, the player gets the call's upload or AudioHook recording (the
/// seed's behaviour); the meta says so. Without `fallback`, or with nothing to fall back on, 404 as before.
#[tokio::test]
async fn live_audio_falls_back_to_an_upload_or_a_recording() {
    let s = TestServer::start().await;
    let upload = b"an uploaded recording, stored as it came".repeat(40);
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(upload.clone()).file_name("call one.mp3"));
    let (status, v) = s.post_form("/api/calls", form).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let recording = shared::audio::wav::encode(
        &shared::realtime::live_audio::AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 },
        &[0u8; 3200],
    );
    let recordings = s.data_dir.join("blobs/recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    std::fs::write(recordings.join("rec-1.wav"), &recording).unwrap();

    for (call, name, content_type, bytes) in
        [(id.as_str(), "call_one.mp3", "audio/mpeg", &upload), ("rec-1", "rec-1.wav", "audio/wav", &recording)]
    {
        let (_, meta) = s.get(&format!("/api/realtime/calls/{call}/audio/meta")).await;
        assert_eq!(
            (&meta["live_audio"]["available"], &meta["fallback_audio_available"], &meta["preferred_source"]),
            (&json!(false), &json!(true), &json!("fallback")),
            "{call}: {meta}"
        );
        for q in ["", "?fallback=0", "?fallback=no"] {
            let resp = live_audio(&s, call, q).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{call}{q}");
            assert_eq!(resp.json::<Value>().await.unwrap(), json!({"detail": "Live audio not found"}));
        }
        for q in ["?fallback=1", "?fallback=TRUE&max_seconds=5", "?fallback=on"] {
            let resp = live_audio(&s, call, q).await;
            assert_eq!(resp.status(), StatusCode::OK, "{call}{q}");
            let h = resp.headers().clone();
            assert_eq!(h["content-type"], content_type);
            assert_eq!(h["content-disposition"], format!("inline; filename=\"{name}\"").as_str());
            assert_eq!(h["x-live-audio"], "0");
            assert_eq!(&resp.bytes().await.unwrap()[..], &bytes[..], "{call}{q}: the file, byte for byte");
        }
    }

    // Neither a live window nor a file.
    let (_, meta) = s.get("/api/realtime/calls/nothing-here/audio/meta").await;
    assert_eq!((&meta["fallback_audio_available"], &meta["preferred_source"]), (&json!(false), &json!("none")));
    let resp = live_audio(&s, "nothing-here", "?fallback=1").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"detail": "Live audio not found"}));

    // Once the call has a live window, that is what plays, fallback or not.
    let b64 = base64::engine::general_purpose::STANDARD.encode([0u8; 1600]);
    s.post_audio(&json!({"call_id": id, "audio_b64": b64, "sample_rate": 8000, "chunk_id": "c1"})).await;
    let (_, meta) = s.get(&format!("/api/realtime/calls/{id}/audio/meta")).await;
    assert_eq!((&meta["fallback_audio_available"], &meta["preferred_source"]), (&json!(true), &json!("live")));
    let resp = live_audio(&s, &id, "?fallback=1").await;
    assert_eq!(
        (resp.headers()["x-live-audio"].to_str().unwrap(), resp.headers()["content-type"].to_str().unwrap()),
        ("1", "audio/wav")
    );
    s.stop().await;
}

#[tokio::test]
async fn alerts_listing_and_acknowledgement() {
    let s = TestServer::start().await;
    s.post_event(&json!({"call_id": "al-1", "text": "complaint", "sentiment": -0.5})).await; // ids 1, 2
    s.post_event(&json!({"call_id": "al-2", "text": "I will call my lawyer"})).await; // id 3
    let (_, all) = s.get("/api/realtime/alerts").await;
    let ids: Vec<i64> = all["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [3, 2, 1]);
    let (_, one) = s.get("/api/realtime/alerts?call_id=al-1&limit=1").await;
    assert_eq!((one["alerts"].as_array().unwrap().len(), one["alerts"][0]["id"].as_i64()), (1, Some(2)));
    let (_, dflt) = s.get("/api/realtime/alerts?limit=abc").await;
    assert_eq!(dflt["alerts"].as_array().unwrap().len(), 3);

    let (status, acked) = s.post("/api/realtime/alerts/2/ack").await;
    assert_eq!((status, &acked["ok"], &acked["alert"]["acknowledged"]), (StatusCode::OK, &json!(true), &json!(true)));
    let at = acked["alert"]["acknowledged_at"].clone();
    assert!(at.is_string());
    let (_, again) = s.post("/api/realtime/alerts/2/ack").await;
    assert_eq!(again["alert"]["acknowledged_at"], at, "idempotent");
    let (_, open) = s.get("/api/realtime/alerts").await;
    assert_eq!(open["alerts"].as_array().unwrap().len(), 2);
    let (_, with_acked) = s.get("/api/realtime/alerts?open_only=FALSE").await;
    assert_eq!(with_acked["alerts"].as_array().unwrap().len(), 3);
    for id in ["999", "abc"] {
        let (status, v) = s.post(&format!("/api/realtime/alerts/{id}/ack")).await;
        assert_eq!((status, v["detail"].as_str()), (StatusCode::NOT_FOUND, Some("Alert not found")));
    }
    s.stop().await;
}

#[tokio::test]
async fn worker_health_from_heartbeats() {
    let s = TestServer::start().await;
    let (status, v) = s.get("/api/integrations/genesys/health").await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"healthy": false, "state": "not_running", "reason": "heartbeat_missing", "stale_after_seconds": 90})
    );
    let (_, v) = s.get("/api/integrations/genesys/audiohook/health?stale_after=5").await;
    assert_eq!(v["stale_after_seconds"], 10);

    let store = SqliteStore::open(&s.data_dir.join("call_analytics.db")).unwrap();
    for (state, healthy) in [("running", true), ("stopping", false)] {
        let hb = Heartbeat {
            component: "genesys_audiohook".into(),
            instance: "task-1".into(),
            updated_at: chrono::Utc::now(),
            status: json!({"state": state, "open_sessions": 2}),
        };
        store.put(&hb).await.unwrap();
        let (_, v) = s.get("/api/integrations/genesys/audiohook/health").await;
        assert_eq!((v["healthy"].as_bool(), v["state"].as_str()), (Some(healthy), Some(state)), "{v}");
        assert_eq!(v["status"]["open_sessions"], 2);
    }
    s.stop().await;
}

#[tokio::test]
async fn liveness_and_json_fallbacks() {
    let s = TestServer::start().await;
    let v: Value = s.http.get(s.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(v, json!({"ok": true}));
    let (status, v) = s.get("/no/such/route").await;
    assert_eq!((status, v), (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})));
    let resp = s.http.get(s.url("/api/realtime/events")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"detail": "Method Not Allowed"}));
    s.stop().await;
}
