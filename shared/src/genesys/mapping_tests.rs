use super::*;
use chrono::TimeZone;

fn fixture(name: &str) -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/genesys").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn now() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

fn one(name: &str) -> Map<String, Value> {
    let mut events = map_message(&fixture(name), now());
    assert_eq!(events.len(), 1, "{name}");
    events.remove(0)
}

const CALL: &str = "5f0c9a34-8a1b-4e2c-9d3f-0b1a2c3d4e5f";

#[test]
fn a_call_starts_with_its_parties() {
    let e = one("call_start");
    assert_eq!(
        (e["call_id"].as_str(), e["status"].as_str(), e["event_type"].as_str()),
        (Some(CALL), Some("active"), Some("calls"))
    );
    assert_eq!(e["agent_id"], "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4");
    assert_eq!(e["customer_id"], "a1b2c3d4-0000-4000-8000-000000000001");
    assert_eq!(e["speaker"], "customer", "the first connected participant");
    assert_eq!(e["timestamp"], "2026-11-30T10:00:01.250000Z", "metadata.messageTime when the body has no time");
    assert_eq!(e["metadata"]["genesys_source"], "topic_only");
    assert_eq!(e["provider"], "genesys_cloud");
}

#[test]
fn participant_updates_keep_the_call_active_until_both_sides_are_gone() {
    let e = one("participant_update");
    assert_eq!(e["status"], "active", "the ACD leg ended, the customer and agent are still there");
    assert_eq!(e["agent_id"], "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4");
    let end = one("call_end");
    assert_eq!(end["status"], "ended", "customer disconnected and agent terminated");
}

#[test]
fn transcription_topics_become_transcript_events_with_speakers() {
    let events = map_message(&fixture("transcription"), now());
    let said: Vec<(&str, &str)> =
        events.iter().map(|e| (e["speaker"].as_str().unwrap(), e["text"].as_str().unwrap())).collect();
    assert_eq!(
        said,
        [("customer", "I want to speak to a supervisor right now"), ("agent", "Of course, let me get my manager")]
    );
    assert_eq!(events[0]["confidence"], 0.91);
    assert_eq!(events[0]["call_id"], CALL);
    assert_eq!(events[0]["timestamp"], "2026-11-30T10:02:15.000000Z");
    assert_eq!(events[0]["event_type"], "transcription");
    assert_ne!(events[0]["event_id"], events[1]["event_id"]);
}

#[test]
fn the_same_notification_always_gets_the_same_event_ids() {
    let a = map_message(&fixture("call_end"), now());
    let b = map_message(&fixture("call_end"), chrono::Utc::now());
    assert_eq!(a[0]["event_id"], b[0]["event_id"], "a replay or a second channel is recognised");
    let other = map_message(&fixture("call_start"), now());
    assert_ne!(a[0]["event_id"], other[0]["event_id"]);
}

#[test]
fn heartbeats_system_messages_and_bodies_without_a_call_map_to_nothing() {
    assert!(map_message(&fixture("heartbeat"), now()).is_empty());
    let closing = json!({"topicName": "v2.system.socket_closing", "eventBody": {"message": "closing"}});
    assert!(map_message(&closing, now()).is_empty());
    assert!(
        map_message(&json!({"topicName": "v2.users.x.presence", "eventBody": {"presence": "busy"}}), now()).is_empty()
    );
    assert!(map_message(&json!("text"), now()).is_empty());
}

#[test]
fn seed_fallbacks_labels_lists_and_dead_air() {
    let n = json!({"notifications": [
        {"topicName": "v2.conversations.0a1b2c3d4e5f60718293.analytics",
         "eventBody": {"sentiment": {"score": "negative", "confidence": 3}, "deadAirSeconds": 0,
                       "utterances": [{"text": "hello", "role": "client"}, {"text": "HELLO"}], "status": "Closed"}},
        {"topicName": "v2.detail.events.conversation.x.acw", "eventBody": {"conversationId": "c-2", "eventTime": 1796032800}}
    ]});
    let events = map_message(&n, now());
    assert_eq!(events.len(), 2);
    let e = &events[0];
    assert_eq!(e["call_id"], "0a1b2c3d4e5f60718293", "the id from the topic");
    assert_eq!((e["sentiment"].as_f64(), e["confidence"].as_f64()), (Some(-0.7), Some(1.0)));
    assert_eq!((e["speaker"].as_str(), e["text"].as_str()), (Some("customer"), Some("hello")), "deduplicated by text");
    assert_eq!(e["metadata"]["metrics"]["dead_air_seconds"], 0.0, "a zero is kept (the seed dropped it)");
    assert_eq!(e["status"], "ended");
    assert_eq!((events[1]["call_id"].as_str(), events[1]["event_type"].as_str()), (Some("c-2"), Some("acw")));
    assert_eq!(events[1]["timestamp"], "2026-11-30T10:00:00.000000Z", "epoch seconds");
}
