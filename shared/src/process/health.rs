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

/// An instance silent this many times `stale_after` (and at least [`FORGET_AFTER_MIN_SECONDS`]) is left out:
/// a task replaced long ago. Until then a dead instance keeps the component unhealthy, so a crash is seen.
pub const FORGET_AFTER_STALE_TIMES: u64 = 10;
pub const FORGET_AFTER_MIN_SECONDS: u64 = 900;

/// One instance's health (the seed's document for a single worker).
fn instance_health(component: &str, hb: &Heartbeat, now: Timestamp, stale_after: u64) -> Value {
    let state = hb.status.get("state").and_then(Value::as_str).unwrap_or("unknown").to_lowercase();
    let age = (now - hb.updated_at).as_seconds_f64().max(0.0);
    let fresh = age <= stale_after as f64;
    let healthy = fresh && healthy_states(component).contains(&state.as_str());
    let mut doc = json!({
        "instance": hb.instance,
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

/// The health document for one component over the heartbeats of its instances (newest first): the seed's
/// fields from the newest healthy instance (else the newest), plus every instance heard from lately. Healthy
/// when at least one instance is and none of the others is failing: an instance that stopped cleanly
/// (`stopped`) is shown but does not count, and one silent past the forget window is left out.
pub fn evaluate(component: &str, beats: &[Heartbeat], now: Timestamp, stale_after: u64) -> Value {
    let forget = (stale_after * FORGET_AFTER_STALE_TIMES).max(FORGET_AFTER_MIN_SECONDS) as f64;
    let recent: Vec<Value> = beats
        .iter()
        .filter(|hb| (now - hb.updated_at).as_seconds_f64() <= forget)
        .map(|hb| instance_health(component, hb, now, stale_after))
        .collect();
    let healthy = |d: &Value| d["healthy"] == json!(true);
    let Some(lead) = recent.iter().find(|d| healthy(d)).or(recent.first()) else {
        return json!({"healthy": false, "state": "not_running", "reason": "heartbeat_missing", "stale_after_seconds": stale_after});
    };
    let failing = recent.iter().filter(|d| !healthy(d) && d["state"] != "stopped").count();
    let mut doc = lead.clone();
    if let Some(d) = doc.as_object_mut() {
        d.remove("instance");
    }
    if healthy(lead) && failing > 0 {
        doc["healthy"] = json!(false);
        doc["reason"] = json!("instance_unhealthy");
    }
    doc["instances_healthy"] = json!(recent.iter().filter(|d| healthy(d)).count());
    doc["instances_failing"] = json!(failing);
    doc["instances"] = Value::Array(recent);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn hb(instance: &str, state: &str, age: i64) -> Heartbeat {
        Heartbeat {
            component: "x".into(),
            instance: instance.into(),
            updated_at: Utc::now() - Duration::seconds(age),
            status: json!({"state": state}),
        }
    }

    #[test]
    fn rules() {
        let now = Utc::now();
        let one = |state: &str, age: i64| evaluate(GENESYS_AUDIOHOOK, &[hb("a", state, age)], now, 90);
        assert_eq!(evaluate(GENESYS_AUDIOHOOK, &[], now, 90)["state"], "not_running");
        assert_eq!(one("running", 5)["healthy"], true);
        assert_eq!(one("stopping", 5)["healthy"], false);
        assert_eq!(evaluate(GENESYS_CONNECTOR, &[hb("a", "Subscribed", 5)], now, 90)["healthy"], true);
        let stale = evaluate(GENESYS_CONNECTOR, &[hb("a", "running", 200)], now, 90);
        assert_eq!((stale["healthy"].as_bool(), stale["reason"].as_str()), (Some(false), Some("heartbeat_stale")));
        assert_eq!(stale_after(Some("3"), 90), 10);
        assert_eq!(stale_after(Some("x"), 90), 90);
        assert_eq!(stale_after(None, 120), 120);
    }

    #[test]
    fn a_dead_instance_does_not_hide_behind_a_live_one() {
        let now = Utc::now();
        let beats = [hb("live", "running", 5), hb("dead", "running", 200)];
        let doc = evaluate(GENESYS_AUDIOHOOK, &beats, now, 90);
        assert_eq!((doc["healthy"].as_bool(), doc["reason"].as_str()), (Some(false), Some("instance_unhealthy")));
        assert_eq!((doc["state"].as_str(), doc["instances_healthy"].as_u64()), (Some("running"), Some(1)));
        assert_eq!(doc["instances_failing"], 1);
        let dead = &doc["instances"][1];
        assert_eq!((dead["instance"].as_str(), dead["reason"].as_str()), (Some("dead"), Some("heartbeat_stale")));
    }

    #[test]
    fn a_stopped_or_long_gone_instance_does_not_count() {
        let now = Utc::now();
        let beats = [hb("new", "running", 5), hb("old", "stopped", 60), hb("gone", "running", 901)];
        let doc = evaluate(GENESYS_AUDIOHOOK, &beats, now, 90);
        assert_eq!((doc["healthy"].as_bool(), doc["instances_failing"].as_u64()), (Some(true), Some(0)));
        assert_eq!(doc["instances"].as_array().map(Vec::len), Some(2), "{doc}");
        let only_gone = evaluate(GENESYS_AUDIOHOOK, &[hb("gone", "running", 901)], now, 90);
        assert_eq!(only_gone["reason"], "heartbeat_missing");
        let all_stopped = evaluate(GENESYS_AUDIOHOOK, &[hb("old", "stopped", 60)], now, 90);
        assert_eq!((all_stopped["healthy"].as_bool(), all_stopped["state"].as_str()), (Some(false), Some("stopped")));
    }
}
