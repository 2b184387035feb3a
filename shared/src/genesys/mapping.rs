//! Genesys notifications → our realtime events (the seed's, its bugs fixed): the seed's fields and
//! fallbacks, plus call end from participant states, transcript text from transcription topics
//! (`transcripts[].alternatives[].transcript`, speaker from the channel), zero dead air kept, and an
//! `event_id` derived from the notification itself so a replay, or the same notification arriving on two
//! channels, is applied once.

use crate::realtime::ingest::object;
use crate::values::timestamps::{Timestamp, iso, parse_client_timestamp};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// At most this many events come from one notification (the seed's 6).
pub const MAX_EVENTS_PER_NOTIFICATION: usize = 6;
const PROVIDER: &str = "genesys_cloud";
/// Participant purposes whose end ends the call.
const PARTY_PURPOSES: [&str; 4] = ["customer", "external", "agent", "user"];

/// Every event in one socket message (or one EventBridge detail): a list, an object with
/// `notifications`, or a single notification. Heartbeats, other system messages and anything without a
/// conversation map to nothing.
pub fn map_message(message: &Value, now: Timestamp) -> Vec<Map<String, Value>> {
    let notifications: Vec<&Value> = match message {
        Value::Array(items) => items.iter().filter(|v| v.is_object()).collect(),
        Value::Object(o) => match o.get("notifications").and_then(Value::as_array) {
            Some(items) => items.iter().filter(|v| v.is_object()).collect(),
            None => vec![message],
        },
        _ => Vec::new(),
    };
    notifications.into_iter().flat_map(|n| map_notification(n, now)).collect()
}

fn text<'a>(obj: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| obj.get(*k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()))
}

/// The conversation a notification is about: from the body, else from the topic.
fn conversation_id(topic: &str, body: &Value) -> Option<String> {
    let nested = body.get("conversation").unwrap_or(&Value::Null);
    let found = text(body, &["conversationId", "conversation_id", "id"])
        .or_else(|| text(nested, &["id", "conversationId"]))
        .map(str::to_string);
    found.or_else(|| {
        let lower = topic.to_ascii_lowercase();
        let rest = &topic[lower.find("conversations.")? + "conversations.".len()..];
        let id: String = rest.chars().take_while(|c| c.is_ascii_hexdigit() || *c == '-').collect();
        (id.len() >= 16).then_some(id)
    })
}

fn speaker_role(raw: &str) -> String {
    match raw.to_ascii_lowercase().as_str() {
        "agent" | "user" | "acd" | "internal" => "agent".into(),
        "customer" | "external" | "client" => "customer".into(),
        other => other.into(),
    }
}

fn sentiment_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite()).map(|x| x.clamp(-1.0, 1.0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "negative" | "neg" => Some(-0.7),
            "neutral" => Some(0.0),
            "positive" | "pos" => Some(0.7),
            other => other.parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| x.clamp(-1.0, 1.0)),
        },
        Value::Object(o) => ["score", "overall", "value"].iter().find_map(|k| o.get(*k).and_then(sentiment_of)),
        _ => None,
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn participants(body: &Value) -> &[Value] {
    body.get("participants").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn purpose(p: &Value) -> String {
    text(p, &["purpose", "participantPurpose"]).unwrap_or_default().to_ascii_lowercase()
}

fn is_gone(p: &Value) -> bool {
    let state = text(p, &["state"]).unwrap_or_default().to_ascii_lowercase();
    state.contains("disconnect") || state.contains("terminat") || p.get("endTime").is_some_and(|t| !t.is_null())
}

/// `ended` when the body's status says so, or when every customer and agent participant is gone.
fn status_of(body: &Value, event_type: &str) -> &'static str {
    let ended_word = |s: &str| ["disconnect", "terminat", "ended", "complete", "closed"].iter().any(|w| s.contains(w));
    if let Some(raw) = text(body, &["status", "state", "conversationState"]) {
        return if ended_word(&raw.to_ascii_lowercase()) { "ended" } else { "active" };
    }
    let parties: Vec<&Value> =
        participants(body).iter().filter(|p| PARTY_PURPOSES.contains(&purpose(p).as_str())).collect();
    if !parties.is_empty() {
        return if parties.iter().all(|p| is_gone(p)) { "ended" } else { "active" };
    }
    if ["disconnect", "terminate", "end", "complete"].iter().any(|w| event_type.contains(w)) {
        "ended"
    } else {
        "active"
    }
}

/// The id of the first participant with one of `purposes`: its `userId` (agents) or `id`.
fn party_id(body: &Value, purposes: &[&str], keys: &[&str]) -> Option<String> {
    participants(body)
        .iter()
        .find(|p| purposes.contains(&purpose(p).as_str()))
        .and_then(|p| text(p, keys))
        .map(str::to_string)
}

/// A text found in the notification, with who said it and where it came from.
struct Utterance {
    text: String,
    speaker: Option<String>,
    source: &'static str,
    confidence: Option<f64>,
}

fn utterances(body: &Value) -> Vec<Utterance> {
    let mut out: Vec<Utterance> = Vec::new();
    let list = |key| body.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for t in list("transcripts") {
        // Genesys transcription topics: the best alternative, speaker from the audio channel.
        let best = t.get("alternatives").and_then(Value::as_array).and_then(|a| a.first());
        let said = best
            .and_then(|a| text(a, &["transcript", "text"]))
            .or_else(|| text(t, &["text", "transcript", "utteranceText"]));
        if let Some(said) = said {
            out.push(Utterance {
                text: said.into(),
                speaker: text(t, &["speaker", "participantPurpose", "role", "channel"]).map(speaker_role),
                source: "transcripts",
                confidence: best.and_then(|a| number(a.get("confidence"))),
            });
        }
    }
    for u in list("utterances") {
        if let Some(said) = text(u, &["text", "utteranceText"]) {
            let speaker = text(u, &["speaker", "role"]).map(speaker_role);
            out.push(Utterance { text: said.into(), speaker, source: "utterances", confidence: None });
        }
    }
    for key in ["text", "transcript", "utteranceText", "message"] {
        let said = match body.get(key) {
            Some(Value::String(s)) => Some(s.trim()),
            Some(o @ Value::Object(_)) => text(o, &["text", "body"]),
            _ => None,
        };
        if let Some(said) = said.filter(|s| !s.is_empty()) {
            out.push(Utterance { text: said.into(), speaker: None, source: "text", confidence: None });
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|u| seen.insert(u.text.to_lowercase()));
    out.truncate(MAX_EVENTS_PER_NOTIFICATION);
    out
}

/// Same notification, same id: the topic and the body's canonical JSON (serde_json sorts keys).
fn notification_digest(topic: &str, body: &Value) -> String {
    let mut h = Sha256::new();
    h.update(topic.as_bytes());
    h.update([0]);
    h.update(body.to_string().as_bytes());
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The events one notification yields (none for heartbeats and for notifications without a conversation).
pub fn map_notification(n: &Value, now: Timestamp) -> Vec<Map<String, Value>> {
    let topic = text(n, &["topicName", "topic"]).unwrap_or_default();
    if topic.is_empty() || topic.ends_with("channel.metadata") || topic.starts_with("v2.system.") {
        return Vec::new();
    }
    let body = n.get("eventBody").filter(|b| b.is_object()).unwrap_or(&Value::Null);
    let Some(call_id) = conversation_id(topic, body) else { return Vec::new() };
    let event_type = text(body, &["eventType", "type"])
        .map(str::to_string)
        .or_else(|| topic.rsplit('.').next().map(str::to_string))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "transcript".into())
        .to_ascii_lowercase();
    let status = status_of(body, &event_type);
    let sentiment = ["sentiment", "sentimentScore", "overallSentiment", "sentiment_score"]
        .iter()
        .find_map(|k| body.get(*k).and_then(sentiment_of));
    let sentiment_obj = body.get("sentiment").unwrap_or(&Value::Null);
    let confidence = number(body.get("confidence"))
        .or_else(|| number(body.get("confidenceScore")))
        .or_else(|| number(body.get("sentimentConfidence")))
        .or_else(|| number(sentiment_obj.get("confidence")))
        .or_else(|| number(sentiment_obj.get("confidenceScore")));
    let timestamp = ["eventTime", "timestamp", "eventDate", "createdDate", "startTime"]
        .iter()
        .find_map(|k| body.get(*k).and_then(parse_client_timestamp))
        .or_else(|| n.pointer("/metadata/messageTime").and_then(parse_client_timestamp))
        .unwrap_or(now);
    let speaker = text(body, &["speaker", "speakerType", "participantPurpose", "purpose", "role"])
        .map(speaker_role)
        .or_else(|| {
            participants(body)
                .iter()
                .find(|p| {
                    matches!(
                        text(p, &["state"]).map(str::to_ascii_lowercase).as_deref(),
                        Some("connected" | "alerting")
                    )
                })
                .map(|p| speaker_role(&purpose(p)))
        })
        .unwrap_or_default();
    let agent_id = text(body, &["agentId", "agent_id", "userId"])
        .map(str::to_string)
        .or_else(|| party_id(body, &["agent", "user"], &["userId", "id"]))
        .unwrap_or_default();
    let customer_id = text(body, &["customerId", "externalContactId", "customer_id"])
        .map(str::to_string)
        .or_else(|| party_id(body, &["customer", "external"], &["id", "externalContactId"]))
        .unwrap_or_default();
    let mut keys: Vec<&String> = body.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    keys.truncate(40);
    let dead_air = ["deadAirSeconds", "silenceSeconds", "dead_air_seconds"].iter().find_map(|k| number(body.get(*k)));
    let digest = notification_digest(topic, body);
    let mut said = utterances(body);
    if said.is_empty() {
        said.push(Utterance { text: String::new(), speaker: None, source: "topic_only", confidence: None });
    }
    said.into_iter()
        .enumerate()
        .map(|(i, u)| {
            let mut metadata = json!({"genesys_topic": topic, "genesys_source": u.source, "genesys_event_keys": keys});
            if let Some(d) = dead_air {
                metadata["metrics"] = json!({"dead_air_seconds": d.max(0.0)});
            }
            object(json!({
                "provider": PROVIDER,
                "call_id": call_id,
                "event_id": format!("genesys:{digest}:{i}"),
                "event_type": event_type,
                "speaker": u.speaker.unwrap_or_else(|| speaker.clone()),
                "text": u.text,
                "sentiment": sentiment,
                "confidence": u.confidence.or(confidence).map(|c| c.clamp(0.0, 1.0)),
                "status": status,
                "timestamp": iso(&timestamp),
                "agent_id": agent_id,
                "customer_id": customer_id,
                "metadata": metadata,
            }))
        })
        .collect()
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
