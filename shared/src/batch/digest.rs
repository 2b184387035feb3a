//! The digest of an `analysis.json` kept on the call record (see `record::Digest`). Reads the seed's keys
//! leniently, because an LLM-enriched analysis may hold labels where the embedded engine writes numbers.

use super::record::Digest;
use serde_json::Value;

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())).filter(|x: &f64| x.is_finite())
}

/// Seconds of talk by everyone holding `role`.
fn role_seconds(analysis: &Value, role: &str) -> f64 {
    let roles = &analysis["speaker_roles"];
    analysis["talk"]["talk_seconds"]
        .as_object()
        .map(|m| m.iter().filter(|(s, _)| roles[s.as_str()] == role).filter_map(|(_, v)| v.as_f64()).sum())
        .unwrap_or(0.0)
}

pub fn digest(analysis: &Value) -> Digest {
    let mut roles: Vec<String> = analysis["speaker_roles"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    let (agent, customer) = (role_seconds(analysis, "Agent"), role_seconds(analysis, "Customer"));
    let sentiment = &analysis["sentiment"];
    let agent_interruptions: Option<f64> = analysis["talk"]["interruptions"].as_object().map(|m| {
        m.iter().filter(|(s, _)| analysis["speaker_roles"][s.as_str()] == "Agent").filter_map(|(_, v)| v.as_f64()).sum()
    });
    Digest {
        topics: strings(&analysis["topics"]),
        roles,
        sentiment_overall: number(&sentiment["score"]).or_else(|| number(&sentiment["overall"])),
        resolution_status: analysis["resolution"]["status"].as_str().map(str::to_lowercase),
        sla_breach: analysis["sla"]["breach"] == true,
        talk_ratio: (agent + customer > 0.0).then(|| ((agent / (agent + customer)) * 100.0).round() / 100.0),
        interruptions: agent_interruptions,
        empathy: number(&analysis["empathy"]["score"]),
        auto_tags: strings(&analysis["auto_tags"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_embedded_engines_keys() {
        let a = json!({
            "topics": ["internet plan", 3],
            "speaker_roles": {"agent": "Agent", "customer": "Customer", "x": "Agent"},
            "sentiment": {"overall": "negative", "score": -0.4},
            "resolution": {"status": "Resolved"},
            "sla": {"breach": true},
            "talk": {"talk_seconds": {"agent": 30.0, "customer": 60.0, "x": 10.0}, "interruptions": {"agent": 2, "customer": 5}},
            "empathy": {"score": 0.5},
            "auto_tags": ["billing"],
        });
        let d = digest(&a);
        assert_eq!(d.topics, ["internet plan"]);
        assert_eq!(d.roles, ["Agent", "Customer"]);
        assert_eq!((d.sentiment_overall, d.resolution_status.as_deref()), (Some(-0.4), Some("resolved")));
        assert_eq!((d.sla_breach, d.talk_ratio, d.interruptions, d.empathy), (true, Some(0.4), Some(2.0), Some(0.5)));
    }

    #[test]
    fn labels_and_gaps_do_not_fail() {
        let d = digest(&json!({"sentiment": {"overall": "0.3"}, "raw_text": "not json"}));
        assert_eq!((d.sentiment_overall, d.talk_ratio, d.sla_breach), (Some(0.3), None, false));
    }
}
