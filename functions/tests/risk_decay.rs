//! A quiet call's risk falls with time wherever it is read (snapshot, call list, an ingest's answer), not only
//! when its next event arrives: real server, real SQLite file, a one-second half-life.

mod common;

use common::TestServer;
use serde_json::{Value, json};
use std::time::Duration;

fn risk(v: &Value) -> f64 {
    v["risk_score"].as_f64().unwrap()
}

#[tokio::test]
async fn a_quiet_calls_risk_decays_on_every_read() {
    let s = TestServer::start_with(&[("REALTIME_RISK_HALF_LIFE_SECONDS", "1")]).await;
    let escalation = json!({"call_id": "quiet", "text": "i need a supervisor now", "sentiment": -0.82});
    let (_, first) = s.post_event(&escalation).await;
    assert_eq!(risk(&first), 0.74, "{first}");
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let (_, snapshot) = s.get("/api/realtime/calls/quiet/snapshot").await;
    assert!(risk(&snapshot) < 0.74 / 4.0, "two and a half half-lives later: {}", risk(&snapshot));
    let (_, list) = s.get("/api/realtime/calls").await;
    let listed = list["calls"].as_array().unwrap().iter().find(|c| c["call_id"] == "quiet").unwrap();
    assert!(risk(listed) < 0.74 / 4.0, "{listed}");
    // A chunk with calm words carries no risk signal; its answer shows the risk as it stands, not the stored
    // 0.74. A bare chunk changes nothing a supervisor sees: its answer is lean, with no snapshot to be stale.
    let chunk = json!({"call_id": "quiet", "audio_b64": "AAAAAAAAAAA=", "sample_rate": 8000, "text": "one moment"});
    let (status, answer) = s.post_audio(&chunk).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["snapshot"]["risk_score"].as_f64().unwrap() < 0.74 / 4.0, "{answer}");
    let bare = json!({"call_id": "quiet", "audio_b64": "AAAAAAAAAAA=", "sample_rate": 8000});
    let (status, answer) = s.post_audio(&bare).await;
    assert_eq!((status.as_u16(), answer.get("snapshot")), (200, None), "{answer}");
    s.stop().await;
}
