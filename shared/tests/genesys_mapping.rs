//! Genesys notification fixtures (written from the documented shapes) mapped and ingested by the real
//! realtime service over a real SQLite file: a call's life, a live transcript raising the escalation
//! alert, every notification delivered twice applied once, and dead air from the event body.

#[path = "embedded_realtime/mod.rs"]
mod embedded_realtime;

use serde_json::{Value, json};
use shared::genesys::mapping::map_message;
use shared::realtime::ingest::{Ingest, Outgoing, ServiceIngest};

fn fixture(name: &str) -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/genesys").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_call_from_notifications_replayed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let realtime = embedded_realtime::service(dir.path());
    let ingest = ServiceIngest(realtime.clone());
    let now = chrono::Utc::now();
    for _round in 0..2 {
        for name in ["call_start", "heartbeat", "participant_update", "transcription", "call_end"] {
            for body in map_message(&fixture(name), now) {
                ingest.deliver(&Outgoing::event(body)).await.unwrap();
            }
        }
    }
    let snapshot = realtime.snapshot("5f0c9a34-8a1b-4e2c-9d3f-0b1a2c3d4e5f").await.unwrap();
    assert_eq!(snapshot["status"], "ended");
    assert_eq!(snapshot["event_count"], 5, "five events, each applied once: {snapshot}");
    assert_eq!(snapshot["agent_id"], "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4");
    let alerts: Vec<&str> = snapshot["alerts"].as_array().unwrap().iter().filter_map(|a| a["type"].as_str()).collect();
    assert!(alerts.contains(&"escalation_keyword"), "{alerts:?}");
}

/// Dead air from Genesys (`deadAirSeconds` in the event body) follows the rules AudioHook's does: the
/// medium alert, then the high one through the medium one's cooldown, a repeated reading counted once in
/// risk, and so no `high_risk_score`.
#[tokio::test]
async fn dead_air_from_notifications_raises_medium_then_high_and_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let realtime = embedded_realtime::service(dir.path());
    let ingest = ServiceIngest(realtime.clone());
    let call = "3c1d5e7f-9a2b-4c6d-8e0f-1a3b5c7d9e2f";
    for (i, seconds) in [12, 22, 22, 30, 41, 41].into_iter().enumerate() {
        let n = json!({"topicName": format!("v2.conversations.{call}.analytics"),
            "eventBody": {"deadAirSeconds": seconds, "eventTime": 1_796_032_800 + i}});
        for body in map_message(&n, chrono::Utc::now()) {
            ingest.deliver(&Outgoing::event(body)).await.unwrap();
        }
    }
    let snapshot = realtime.snapshot(call).await.unwrap();
    let mut alerts: Vec<&Value> = snapshot["alerts"].as_array().unwrap().iter().collect();
    alerts.sort_by_key(|a| a["id"].as_i64());
    let seen: Vec<(&str, &str)> =
        alerts.iter().map(|a| (a["type"].as_str().unwrap(), a["severity"].as_str().unwrap())).collect();
    assert_eq!(seen, [("dead_air", "medium"), ("dead_air", "high")], "{snapshot}");
    // The term of the longest reading (0.25) and the high alert's bonus (0.16), nothing per repeat.
    let risk = snapshot["risk_score"].as_f64().unwrap();
    assert!((0.39..=0.41).contains(&risk), "{risk}");
    assert_eq!(snapshot["events"].as_array().unwrap().len(), 6, "notifications are rows");
}
