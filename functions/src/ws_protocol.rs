//! The supervisor push protocol, spoken by the local `/ws` and by the API Gateway WebSocket Lambda alike:
//! clients send `{"action":"subscribe","call_id":"X"}` (no `call_id`, or `*`, for every call),
//! `{"action":"unsubscribe",...}` or `{"action":"ping"}`; pushed messages are the seed's SSE bodies.

use serde_json::{Value, json};
use shared::values::timestamps::iso;

/// Largest client message accepted.
pub const MAX_CLIENT_MESSAGE: usize = 4096;
/// Most call ids one connection may follow.
pub const MAX_SUBSCRIPTIONS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// Follow one call, or every call (`None`).
    Subscribe(Option<String>),
    /// Stop following one call, or everything (`None`).
    Unsubscribe(Option<String>),
    Ping,
}

/// Reads a client message; `Err` is the error reply to send back.
pub fn parse(text: &str) -> Result<ClientMessage, Value> {
    if text.len() > MAX_CLIENT_MESSAGE {
        return Err(error(format!("Message larger than {MAX_CLIENT_MESSAGE} bytes")));
    }
    let msg: Value = serde_json::from_str(text).map_err(|_| error("Invalid JSON message"))?;
    let call_id = msg.get("call_id").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty() && *c != "*");
    if let Some(id) = call_id {
        shared::values::ids::validate_call_id(id).map_err(|e| error(e.to_string()))?;
    }
    let call_id = call_id.map(str::to_string);
    match msg.get("action").and_then(Value::as_str) {
        Some("subscribe") => Ok(ClientMessage::Subscribe(call_id)),
        Some("unsubscribe") => Ok(ClientMessage::Unsubscribe(call_id)),
        Some("ping") => Ok(ClientMessage::Ping),
        _ => Err(error("Unknown action (use subscribe, unsubscribe or ping)")),
    }
}

pub fn error(detail: impl Into<String>) -> Value {
    json!({"type": "error", "detail": detail.into()})
}

pub fn pong() -> Value {
    json!({"type": "pong", "timestamp": iso(&chrono::Utc::now())})
}

/// The reply to (un)subscribe: what the connection follows now.
pub fn subscription(message: &ClientMessage, all: bool, calls: usize) -> Value {
    let (verb, call_id) = match message {
        ClientMessage::Subscribe(c) => ("subscribed", c),
        ClientMessage::Unsubscribe(c) => ("unsubscribed", c),
        ClientMessage::Ping => return pong(),
    };
    json!({"type": verb, "call_id": call_id, "all": all, "calls": calls})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_action_and_rejects_the_rest() {
        assert_eq!(parse(r#"{"action":"subscribe","call_id":" a "}"#), Ok(ClientMessage::Subscribe(Some("a".into()))));
        assert_eq!(parse(r#"{"action":"subscribe","call_id":"*"}"#), Ok(ClientMessage::Subscribe(None)));
        assert_eq!(parse(r#"{"action":"unsubscribe"}"#), Ok(ClientMessage::Unsubscribe(None)));
        assert_eq!(parse(r#"{"action":"ping"}"#), Ok(ClientMessage::Ping));
        for bad in ["nope", r#"{"action":"dance"}"#, r#"{"action":"subscribe","call_id":"../x"}"#] {
            assert_eq!(parse(bad).unwrap_err()["type"], "error", "{bad}");
        }
        let huge = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(MAX_CLIENT_MESSAGE));
        assert!(parse(&huge).unwrap_err()["detail"].as_str().unwrap().contains("larger"));
    }
}
