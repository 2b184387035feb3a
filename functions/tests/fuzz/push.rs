//! Supervisors' messages on the push WebSocket (`/ws` locally, the WebSocket API's Lambda on AWS):
//! `ws_protocol::parse`, from the three actions then damaged, and arbitrary text.

use crate::harness::*;
use functions::ws_protocol::{ClientMessage, MAX_CLIENT_MESSAGE, parse, subscription};
use proptest::prelude::*;
use serde_json::{Value, json};

const KEYS: &[&str] = &["action", "call_id"];

fn message() -> impl Strategy<Value = Value> {
    let action = prop::sample::select(vec!["subscribe", "unsubscribe", "ping", "dance", ""]);
    let call = prop_oneof![Just(None), Just(Some("*".to_string())), "[A-Za-z0-9 ./_-]{0,40}".prop_map(Some)];
    let valid = (action, call).prop_map(|(action, call)| json!({"action": action, "call_id": call}));
    json_edited(valid, KEYS)
}

/// A message is an action or an error reply to send back; a call id taken is a valid one.
#[test]
fn ws_client_message() {
    let text = prop_oneof![
        4 => mutated(message().prop_map(|m| m.to_string().into_bytes())),
        1 => bytes(300),
        1 => (MAX_CLIENT_MESSAGE - 40..MAX_CLIENT_MESSAGE + 40)
            .prop_map(|n| format!(r#"{{"action":"ping","p":"{}"}}"#, "x".repeat(n)).into_bytes()),
    ];
    fuzz("ws_client_message", text, |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        match parse(&text) {
            Ok(m) => {
                check(text.len() <= MAX_CLIENT_MESSAGE, || format!("{} bytes taken", text.len()))?;
                if let ClientMessage::Subscribe(Some(id)) | ClientMessage::Unsubscribe(Some(id)) = &m {
                    check(shared::values::ids::validate_call_id(id).is_ok(), || format!("call id {id:?} taken"))?;
                }
                check(subscription(&m, false, 1).is_object(), || "no reply".into())
            }
            Err(reply) => check(reply["type"] == "error" && reply["detail"].is_string(), || format!("replied {reply}")),
        }
    });
}
