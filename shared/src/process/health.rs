//! Worker health from heartbeats (see docs/changes-from-seed.md, "Health and heartbeats"), with the seed's holes closed: a heartbeat
//! without a time is stale, `stopping` is not healthy, and nothing about paths or channel URIs is exposed.

use crate::ports::Heartbeat;
use crate::values::timestamps::{Timestamp, iso};
use serde_json::{Value, json};

/// Heartbeat component names.
pub const GENESYS_CONNECTOR: &str = "genesys_connector";
pub const GENESYS_AUDIOHOOK: &str = "genesys_audiohook";

/// States in which each worker counts as healthy.
pub fn healthy_states(component: &str) -> &'static [&'static str] {
    match component {
        GENESYS_CONNECTOR => &["running", "subscribed", "connecting", "reconnecting", "starting"],
        _ => &["running", "starting"],
    }
}

/// `max(10, requested or configured)` seconds.
pub fn stale_after(requested: Option<&str>, configured: u64) -> u64 {
    requested.and_then(|s| s.trim().parse::<u64>().ok()).filter(|s| *s > 0).unwrap_or(configured).max(10)
}

/// The health document for one component.
pub fn evaluate(component: &str, hb: Option<&Heartbeat>, now: Timestamp, stale_after: u64) -> Value {
    let Some(hb) = hb else {
        return json!({"healthy": false, "state": "not_running", "reason": "heartbeat_missing", "stale_after_seconds": stale_after});
    };
    let state = hb.status.get("state").and_then(Value::as_str).unwrap_or("unknown").to_lowercase();
    let age = (now - hb.updated_at).as_seconds_f64().max(0.0);
    let fresh = age <= stale_after as f64;
    let healthy = fresh && healthy_states(component).contains(&state.as_str());
    let mut doc = json!({
        "healthy": healthy,
        "state": state,
        "age_seconds": crate::realtime::domain::round_to(age, 2),
        "stale_after_seconds": stale_after,
        "updated_at": iso(&hb.updated_at),
        "status": hb.status,
    });
    if !fresh {
        doc["reason"] = json!("heartbeat_stale");
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn hb(state: &str, age: i64) -> Heartbeat {
        Heartbeat {
            component: "x".into(),
            updated_at: Utc::now() - Duration::seconds(age),
            status: json!({"state": state}),
        }
    }

    #[test]
    fn rules() {
        let now = Utc::now();
        assert_eq!(evaluate(GENESYS_AUDIOHOOK, None, now, 90)["state"], "not_running");
        assert_eq!(evaluate(GENESYS_AUDIOHOOK, Some(&hb("running", 5)), now, 90)["healthy"], true);
        assert_eq!(evaluate(GENESYS_AUDIOHOOK, Some(&hb("stopping", 5)), now, 90)["healthy"], false);
        assert_eq!(evaluate(GENESYS_CONNECTOR, Some(&hb("Subscribed", 5)), now, 90)["healthy"], true);
        let stale = evaluate(GENESYS_CONNECTOR, Some(&hb("running", 200)), now, 90);
        assert_eq!((stale["healthy"].as_bool(), stale["reason"].as_str()), (Some(false), Some("heartbeat_stale")));
        assert_eq!(stale_after(Some("3"), 90), 10);
        assert_eq!(stale_after(Some("x"), 90), 90);
        assert_eq!(stale_after(None, 120), 120);
    }
}
