use super::*;

fn e(speaker: &str, text: &str) -> Entry {
    Entry::new(speaker, 0.0, 1.0, text)
}

fn call() -> Vec<Entry> {
    vec![
        e("agent", "Thank you for calling Acme, how can I help you today?"),
        e("customer", "My internet connection keeps dropping since the router upgrade."),
        e("agent", "I'm sorry about that. When did the internet connection start dropping?"),
        e("customer", "Since Monday, right after the router upgrade."),
        e("agent", "I will reset the router remotely and I'll send you a confirmation email."),
        e("customer", "Okay, thanks."),
        e("agent", "That should be fixed now. Is there anything else I can help with?"),
        e("customer", "No, that works, thank you."),
    ]
}

#[test]
fn topics_are_the_repeated_key_phrases() {
    let t = topics(&call(), 3);
    assert_eq!(t[..2], ["internet connection".to_string(), "router upgrade".to_string()], "{t:?}");
    assert!(!t.contains(&"router".to_string()), "a word inside a picked phrase is not a topic of its own: {t:?}");
    assert!(topics(&[], 5).is_empty());
}

#[test]
fn action_items_questions_and_resolution() {
    let c = call();
    let actions = action_items(&c, 5);
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].text, "I will reset the router remotely and I'll send you a confirmation email.");
    let qa = qa_pairs(&c, 5);
    assert_eq!(
        qa[0].question,
        "how can I help you today?".to_string().replacen("how", "Thank you for calling Acme, how", 1)
    );
    assert_eq!(qa[1].question, "When did the internet connection start dropping?");
    assert_eq!(qa[1].answer, "Since Monday, right after the router upgrade.");
    assert_eq!(resolution(&c), "resolved");
    let pending = [e("agent", "Let me check."), e("agent", "I have to escalate this, we will get back to you.")];
    assert_eq!(resolution(&pending), "pending");
    assert_eq!(resolution(&[e("customer", "This is still broken.")]), "unresolved");
    assert_eq!(resolution(&[]), "unresolved");
}
