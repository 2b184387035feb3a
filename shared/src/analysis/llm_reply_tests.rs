use super::*;
use serde_json::json;

fn good() -> Value {
    json!({
        "summary": {"short": "Customer was double charged; agent refunded.", "bullets": ["Double charge", "Refund today"]},
        "sentiment": {"overall": "Positive", "customer": -0.4, "agent": 0.6, "confidence": 0.8},
        "topics": ["billing", "refund"],
        "action_items": ["Refund the duplicate charge"],
        "resolution": {"status": "Resolved", "next_steps": ["Send confirmation email"]},
        "qa_pairs": [{"question": "Can you refund it?", "answer": "Yes, today."}],
        "compliance_flags": []
    })
}

#[test]
fn a_good_reply_passes_whole() {
    let v = validate(&good().to_string()).unwrap();
    assert_eq!(v.dropped, Vec::<String>::new());
    assert_eq!(v.summary.unwrap().bullets, ["Double charge", "Refund today"]);
    let s = v.sentiment.unwrap();
    assert_eq!(s.overall, Some(Mood::Label(SentimentLabel::Positive)));
    assert_eq!((s.customer, s.confidence), (Some(Mood::Score(-0.4)), Some(0.8)));
    assert_eq!(
        serde_json::to_value(s).unwrap(),
        json!({"overall": "positive", "customer": -0.4, "agent": 0.6, "confidence": 0.8})
    );
    assert_eq!(v.resolution.unwrap().status, Some(ResolutionStatus::Resolved));
    assert_eq!(v.qa_pairs.unwrap()[0].answer, "Yes, today.");
    assert_eq!(v.compliance_flags, Some(vec![]), "an empty list is an answer: no flags");
    assert_eq!(v.topics.unwrap(), ["billing", "refund"]);
}

#[test]
fn fenced_and_wrapped_replies() {
    let fenced = format!("```json\n{}\n```", good());
    assert_eq!(validate(&fenced).unwrap().topics.unwrap(), ["billing", "refund"]);
    let bare_fence = format!("```\n{}\n```", good());
    assert!(validate(&bare_fence).unwrap().summary.is_some());
    let prose = format!("Sure! Here is the analysis:\n{}\nHope this helps.", good());
    assert!(validate(&prose).unwrap().resolution.is_some());
}

#[test]
fn wrong_types_and_unknown_values_are_dropped_with_reasons() {
    let reply = json!({
        "summary": "just a string",
        "sentiment": {"overall": "ecstatic", "customer": "NEGATIVE", "agent": [1], "confidence": 7},
        "topics": ["ok", 5, null, {"t": 1}],
        "action_items": "call back",
        "resolution": {"status": "done", "next_steps": "none"},
        "qa_pairs": [{"question": "Q?"}, {"answer": "no question"}, "text"],
        "compliance_flags": null,
        "speaker_roles": {"0": "Agent"}
    });
    let v = validate(&reply.to_string()).unwrap();
    assert_eq!(v.summary, None);
    let s = v.sentiment.unwrap();
    assert_eq!((s.overall, s.customer, s.agent), (None, Some(Mood::Label(SentimentLabel::Negative)), None));
    assert_eq!(s.confidence, Some(1.0), "clamped to 0..1");
    assert_eq!(v.topics.unwrap(), ["ok"]);
    assert_eq!((v.action_items, v.resolution, v.compliance_flags), (None, None, None));
    assert_eq!(v.qa_pairs.unwrap(), [QaPair { question: "Q?".into(), answer: String::new() }]);
    for why in [
        "summary: not an object",
        "sentiment.overall: not a known sentiment label",
        "sentiment.agent: not a label or number",
        "topics[1]: not a string",
        "action_items: not a list",
        "resolution.status: not resolved, unresolved, pending or escalated",
        "resolution.next_steps: not a list",
        "qa_pairs[2]: not an object",
        "speaker_roles: not asked for, ignored",
    ] {
        assert!(v.dropped.iter().any(|d| d == why), "missing {why:?} in {:?}", v.dropped);
    }
    assert!(!v.dropped.iter().any(|d| d.starts_with("compliance_flags")), "null means unsure, not wrong");
}

#[test]
fn oversize_text_and_lists_are_bounded() {
    let reply = json!({
        "summary": {"short": "s".repeat(5_000), "bullets": vec!["b"; 30]},
        "sentiment": {"overall": -9.5},
        "topics": (0..100).map(|i| format!("topic {i}")).collect::<Vec<_>>(),
        "action_items": ["a\u{0}b\u{7}c"],
        "qa_pairs": vec![json!({"question": "q", "answer": "a"}); 500],
    });
    let v = validate(&reply.to_string()).unwrap();
    let summary = v.summary.unwrap();
    assert_eq!((summary.short.chars().count(), summary.bullets.len()), (1_000, 10));
    assert_eq!(v.sentiment.unwrap().overall, Some(Mood::Score(-1.0)));
    assert_eq!((v.topics.unwrap().len(), v.qa_pairs.unwrap().len()), (20, 20));
    assert_eq!(v.action_items.unwrap(), ["a b c"], "control characters never reach the documents");
    assert!(v.dropped.contains(&"summary.short: longer than 1000 characters, cut".to_string()));
    let ints = vec![json!(1); 500];
    let many = json!({"topics": ints, "action_items": ints, "compliance_flags": ints});
    assert_eq!(validate(&many.to_string()).unwrap().dropped.len(), MAX_REASONS, "reasons are capped too");
}

#[test]
fn garbage_is_an_error() {
    for reply in ["", "I cannot help with that.", "[1, 2, 3]", "{not json}", "```json\n```"] {
        assert_eq!(validate(reply), Err(NoJsonObject), "{reply:?}");
    }
    assert_eq!(validate("{}").unwrap(), Validated::default(), "an empty object is valid but says nothing");
}
