//! AudioHook inside the one local process: a simulated Genesys session (the `listener simulate` client)
//! lands in the same store, so its audio, end and heartbeat are visible through the supervisor API.

mod common;

use common::TestServer;
use listener::simulate::{self, Audio, Options};
use reqwest::StatusCode;
use std::time::Duration;

const KEY: &str = "local-key";
const SECRET: &str = "bG9jYWwgc2VjcmV0";

/// The local server with AudioHook on a loopback port and known credentials.
async fn start() -> TestServer {
    TestServer::start_with(&[
        ("GENESYS_AUDIOHOOK_ENABLED", "true"),
        ("GENESYS_AUDIOHOOK_API_KEY", KEY),
        ("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET),
        ("GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS", "1"),
    ])
    .await
}

/// Streams `audio` as one Genesys session (as fast as possible); returns the conversation id.
async fn stream(s: &TestServer, audio: &Audio) -> String {
    let opts = Options { speed: 0.0, ..Options::new(s.audiohook_uri.as_deref().unwrap(), KEY, SECRET) };
    let result = simulate::session(&opts, audio).await;
    assert_eq!(result.outcome, Ok(()));
    result.conversation_id
}

#[tokio::test]
async fn a_simulated_genesys_session_shows_up_in_the_api() {
    let s = start().await;
    let tone: Vec<i16> = (0..24_000).map(|i| if (i / 8) % 2 == 0 { 3000 } else { -3000 }).collect();
    let audio = Audio { channels: vec![tone.clone(), tone] };
    let call = stream(&s, &audio).await;
    let mut snapshot = serde_json::Value::Null;
    for _ in 0..100 {
        let (status, body) = s.get(&format!("/api/realtime/calls/{call}/snapshot")).await;
        if status == StatusCode::OK && body["status"] == "ended" {
            snapshot = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(snapshot["status"], "ended", "the end of the session ends the call");
    let (status, meta) = s.get(&format!("/api/realtime/calls/{call}/audio/meta")).await;
    assert_eq!(status, StatusCode::OK);
    let live = &meta["live_audio"];
    assert_eq!((live["sample_rate"].as_u64(), live["channels"].as_u64()), (Some(8000), Some(2)), "{meta}");
    assert_eq!(live["duration_seconds"].as_f64(), Some(3.0), "{meta}");
    // The heartbeat (every second here) reports the session.
    let mut health = serde_json::Value::Null;
    for _ in 0..40 {
        let (status, body) = s.get("/api/integrations/genesys/audiohook/health").await;
        assert_eq!(status, StatusCode::OK);
        health = body;
        if health["status"]["sessions_opened"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (health["healthy"].as_bool(), &health["status"]["sessions_opened"]),
        (Some(true), &1.into()),
        "{health}"
    );
    s.stop().await;
}

#[tokio::test]
async fn silence_on_a_live_genesys_call_raises_dead_air() {
    let s = start().await;
    // One second of talk on both sides, then 22 s in which nobody speaks.
    let channel: Vec<i16> = (0..8000)
        .map(|i| if (i / 8) % 2 == 0 { 3000 } else { -3000 })
        .chain(std::iter::repeat_n(2, 22 * 8000))
        .collect();
    let audio = Audio { channels: vec![channel.clone(), channel] };
    let call = stream(&s, &audio).await;
    let mut types = Vec::new();
    for _ in 0..100 {
        let (_, snapshot) = s.get(&format!("/api/realtime/calls/{call}/snapshot")).await;
        types = snapshot["alerts"].as_array().unwrap().iter().map(|a| a["type"].to_string()).collect();
        if snapshot["status"] == "ended" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(types.iter().any(|t| t == "\"dead_air\""), "{types:?}");
    s.stop().await;
}
