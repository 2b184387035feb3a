//! The embedded analysis engine: everything the seed's `analysis.json`, `summary.json` and `qa.json`
//! held, computed on the machine from a transcript (no API key), in the seed's key names so existing
//! readers keep working; plus talk metrics and empathy.

use super::insights::{action_items, qa_pairs, resolution, topics};
use super::roles::{Role, names, roles};
use super::sentiment::{CallSentiment, call_sentiment};
use super::tags::TagRules;
use super::talk::talk_metrics;
use crate::speech::transcript::Entry;
use serde_json::{Map, Value, json};

const EMPATHY_CUES: [&str; 10] = [
    "i understand",
    "i'm sorry",
    "i am sorry",
    "i apologize",
    "apologies",
    "i can imagine",
    "that must be",
    "thank you for your patience",
    "i appreciate",
    "happy to help",
];

/// What analysis needs besides the transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisInput<'a> {
    pub entries: &'a [Entry],
    pub duration_seconds: Option<f64>,
    /// `PROMPT_PACK` or the call's pack (general, sales, support, collections).
    pub prompt_pack: &'a str,
    pub glossary: &'a [String],
    pub tags: &'a TagRules,
}

/// The three documents the batch pipeline writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub analysis: Value,
    pub summary: Value,
    pub qa: Value,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Agent => "Agent",
        Role::Customer => "Customer",
        Role::Other => "Other",
    }
}

/// The sentences that best carry the call's topics: the best one (most topics, then most words, never a
/// question) and up to `max` bullets in the order they were said.
fn summary_sentences(entries: &[Entry], topics: &[String], max: usize) -> (String, Vec<String>) {
    let mut scored: Vec<(usize, usize, usize, String)> = Vec::new();
    for e in entries {
        for s in
            e.transcript.split_inclusive(['.', '?', '!']).map(str::trim).filter(|s| s.split_whitespace().count() >= 4)
        {
            let lower = s.to_lowercase();
            let hits = topics.iter().filter(|t| lower.contains(t.as_str())).count();
            if hits > 0 {
                scored.push((hits, s.split_whitespace().count(), scored.len(), s.to_string()));
            }
        }
    }
    let short = scored
        .iter()
        .filter(|s| !s.3.ends_with('?'))
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)))
        .map(|s| s.3.clone())
        .unwrap_or_default();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
    scored.truncate(max);
    scored.sort_by_key(|s| s.2);
    (short, scored.into_iter().map(|s| s.3).collect())
}

fn empathy(entries: &[Entry], roles: &std::collections::BTreeMap<String, (Role, f64)>) -> Value {
    let agent_lines: Vec<String> = entries
        .iter()
        .filter(|e| roles.get(&e.speaker_id).is_some_and(|r| r.0 == Role::Agent))
        .map(|e| e.transcript.to_lowercase())
        .collect();
    let phrases = agent_lines.iter().map(|l| EMPATHY_CUES.iter().filter(|c| l.contains(*c)).count()).sum::<usize>();
    let score = if agent_lines.is_empty() { 0.0 } else { (phrases as f64 / agent_lines.len() as f64 * 2.0).min(1.0) };
    json!({"phrases": phrases, "score": (score * 100.0).round() / 100.0})
}

/// Commitments, the agent's first (a customer's "or I will cancel" is a threat, not a task), at most 10.
fn agent_first(
    items: Vec<super::insights::ActionItem>,
    roles: &std::collections::BTreeMap<String, (Role, f64)>,
) -> Vec<String> {
    let is_agent = |s: &str| roles.get(s).is_some_and(|r| r.0 == Role::Agent);
    let (agent, other): (Vec<_>, Vec<_>) = items.into_iter().partition(|a| is_agent(&a.speaker_id));
    agent.into_iter().chain(other).take(10).map(|a| a.text).collect()
}

pub fn analyze(input: &AnalysisInput) -> Analysis {
    let entries = input.entries;
    let roles = roles(entries);
    let sentiment: CallSentiment = call_sentiment(entries, &roles);
    let topics = topics(entries, 8);
    let (short, bullets) = summary_sentences(entries, &topics, 5);
    let summary = json!({"short": short, "bullets": bullets});
    let qa: Vec<Value> =
        qa_pairs(entries, 20).into_iter().map(|p| json!({"question": p.question, "answer": p.answer})).collect();
    let text: String = entries.iter().map(|e| e.transcript.clone() + "\n").collect();
    let status = resolution(entries);
    let speaker_roles: Map<String, Value> = roles.iter().map(|(s, (r, _))| (s.clone(), json!(role_name(*r)))).collect();
    let confidences: Map<String, Value> = roles.iter().map(|(s, (_, c))| (s.clone(), json!(c))).collect();
    let mut analysis = json!({
        "summary": summary,
        "sentiment": {"overall": sentiment.overall_label, "score": sentiment.overall, "customer": sentiment.customer,
                      "agent": sentiment.agent, "confidence": sentiment.confidence, "trend": sentiment.trend},
        "topics": topics,
        "action_items": agent_first(action_items(entries, 20), &roles),
        "resolution": {"status": status, "next_steps": []},
        "qa_pairs": qa,
        "speaker_roles": speaker_roles,
        "speaker_roles_confidence": confidences,
        "speaker_names": names(entries),
        "compliance_flags": [],
        "prompt_pack": input.prompt_pack,
        "talk": talk_metrics(entries),
        "empathy": empathy(entries, &roles),
        "engine": "embedded",
    });
    if !input.glossary.is_empty() {
        analysis["glossary_terms"] = json!(input.glossary);
    }
    if let Some(d) = input.duration_seconds {
        analysis["duration_seconds"] = json!(d);
    }
    let tags = input.tags.tags(&text);
    if !tags.is_empty() {
        analysis["auto_tags"] = json!(tags);
    }
    if let Some(sla) = input.tags.sla(input.duration_seconds, status) {
        analysis["sla"] = sla;
    }
    let summary = analysis["summary"].clone();
    let qa = analysis["qa_pairs"].clone();
    Analysis { analysis, summary, qa }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(speaker: &str, start: f64, text: &str) -> Entry {
        Entry::new(speaker, start, start + 4.0, text)
    }

    #[test]
    fn a_support_call_end_to_end() {
        let entries = [
            e("0", 0.0, "Thank you for calling Acme, how can I help you today?"),
            e("1", 5.0, "I was charged twice for my internet plan and I want a refund. This is terrible."),
            e("0", 10.0, "I'm sorry about that, I understand. Let me check the internet plan billing."),
            e(
                "1",
                15.0,
                "The internet plan was charged on Monday and again on Tuesday. I need the refund now or I will cancel.",
            ),
            e("0", 20.0, "I will refund the duplicate charge today and I'll send you a confirmation email."),
            e("1", 25.0, "Okay, thank you, that works."),
            e("0", 30.0, "Is there anything else I can help with?"),
        ];
        let tags = TagRules::from_env(&[]).unwrap();
        let glossary = vec!["Acme".to_string()];
        let a = analyze(&AnalysisInput {
            entries: &entries,
            duration_seconds: Some(720.0),
            prompt_pack: "support",
            glossary: &glossary,
            tags: &tags,
        });
        let v = &a.analysis;
        assert_eq!(v["speaker_roles"], json!({"0": "Agent", "1": "Customer"}));
        assert!(v["topics"].as_array().unwrap().iter().any(|t| t == "internet plan"), "{}", v["topics"]);
        assert_eq!(v["resolution"]["status"], "resolved");
        assert_eq!(v["auto_tags"], json!(["billing", "churn risk"]));
        assert_eq!(v["sla"]["breach"], true, "12 minutes is over the 10-minute SLA");
        assert!(v["sentiment"]["customer"].as_f64().unwrap() < v["sentiment"]["agent"].as_f64().unwrap());
        assert_eq!(
            v["action_items"][0],
            "I will refund the duplicate charge today and I'll send you a confirmation email."
        );
        assert_eq!(a.qa, v["qa_pairs"]);
        assert_eq!(a.qa[0]["question"], "Thank you for calling Acme, how can I help you today?");
        assert!(a.summary["short"].as_str().unwrap().contains("internet plan"), "{}", a.summary);
        assert!(v["empathy"]["phrases"].as_u64().unwrap() >= 2);
        assert_eq!((v["prompt_pack"].as_str(), v["glossary_terms"][0].as_str()), (Some("support"), Some("Acme")));
        assert_eq!(v["talk"]["talk_seconds"]["0"], 16.0);
    }
}
