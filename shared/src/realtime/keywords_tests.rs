//! Keyword matching: inflections match, other words containing a keyword do not, phrases inflect word by
//! word; and the property that a keyword inside a longer word never matches unless that word inflects it.

use super::*;
use crate::realtime::config::DEFAULT_KEYWORDS;
use proptest::prelude::*;

fn defaults() -> Vec<String> {
    DEFAULT_KEYWORDS.split(',').map(str::to_string).collect()
}

fn one(keyword: &str) -> Vec<String> {
    vec![keyword.to_string()]
}

#[test]
fn word_boundaries_not_substrings() {
    let k = defaults();
    assert!(matches("that is illegal", &k).is_empty());
    assert!(matches("our management team", &k).is_empty());
    assert_eq!(matches("This is LEGAL advice.", &k), vec!["legal"]);
    assert_eq!(matches("get me a manager!", &k), vec!["manager"]);
    assert_eq!(matches("your manager's name", &k), vec!["manager"]);
}

#[test]
fn inflections_match() {
    let k = defaults();
    for (text, hit) in [
        ("I want to speak to one of your managers", "manager"),
        ("I have made two complaints already", "complaint"),
        ("this gets escalated today", "escalate"),
        ("I am escalating this", "escalate"),
        ("she escalates everything", "escalate"),
        ("our lawyers will call", "lawyer"),
        ("SUPERVISORS, please", "supervisor"),
    ] {
        assert_eq!(matches(text, &k), vec![hit], "{text}");
    }
    let cancel = one("cancel");
    for text in ["cancels", "canceled", "cancelled", "canceling", "cancelling"] {
        assert_eq!(matches(text, &cancel), vec!["cancel"], "{text}");
    }
    assert_eq!(matches("two apologies", &one("apology")), vec!["apology"]);
    assert_eq!(matches("it was delayed", &one("delay")), vec!["delay"]);
}

#[test]
fn derived_and_longer_words_do_not_match() {
    let k = defaults();
    for text in [
        "illegal",
        "paralegal",
        "management",
        "a complainant",
        "an escalation",
        "the cancellation of my account",
        "refundable now",
        "lawyerly",
        "supervisory",
        "manager2",
        "complainter",
    ] {
        assert!(matches(text, &k).is_empty(), "{text}: {:?}", matches(text, &k));
    }
    assert!(matches("cancellation", &one("cancel")).is_empty());
    assert!(matches("freing", &one("free")).is_empty(), "a final e after a vowel stays");
}

#[test]
fn phrases_inflect_word_by_word_across_whitespace_in_list_order() {
    let k = defaults();
    assert_eq!(matches("I want to CANCEL\n  account, supervisor now", &k), vec!["supervisor", "cancel account"]);
    for text in ["cancelled account", "cancelling accounts", "please cancel accounts"] {
        assert_eq!(matches(text, &k), vec!["cancel account"], "{text}");
    }
    assert!(matches("cancel my account", &k).is_empty(), "words in between");
    assert!(matches("cancel, account", &k).is_empty(), "punctuation in between");
    assert_eq!(matches("refund now", &k), vec!["refund now"]);
    assert!(matches("refund nowhere", &k).is_empty());
    assert!(matches("", &k).is_empty());
}

#[test]
fn punctuation_inside_a_keyword_must_appear_and_around_it_is_ignored() {
    assert_eq!(matches("send more e-mails", &one("e-mail")), vec!["e-mail"]);
    assert!(matches("e mail", &one("e-mail")).is_empty());
    assert_eq!(matches("refund now please", &one("  Refund now! ")), vec!["  Refund now! "]);
    assert!(matches("anything", &one("!!!")).is_empty(), "a keyword without words matches nothing");
}

/// Every way a default keyword's last word may be extended and still match (the inflection rules written
/// out by hand, independently of the code).
fn allowed_endings(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "escalate" => &["s", "d", "es", "ed", "ing"],
        // A final consonant after a short vowel may double; English does not know stress here.
        "manager" | "supervisor" | "lawyer" => &["s", "es", "ed", "ing", "red", "ring"],
        "legal" => &["s", "es", "ed", "ing", "led", "ling"],
        "complaint" | "cancel account" | "refund now" => &["s", "es", "ed", "ing"],
        other => panic!("no table for {other}"),
    }
}

fn text_around(prefix: &str, keyword: &str, suffix: &str) -> String {
    format!("well, {prefix}{keyword}{suffix} today")
}

proptest! {
    /// Letters or digits glued before a keyword always make another word.
    #[test]
    fn a_keyword_inside_a_longer_word_never_matches(
        keyword in prop::sample::select(defaults()),
        prefix in "[a-zA-Z0-9éß]{1,6}",
        suffix in "[a-zA-Z0-9éß]{0,6}",
    ) {
        let text = text_around(&prefix, &keyword, &suffix);
        prop_assert!(matches(&text, &one(&keyword)).is_empty(), "{}", text);
    }

    /// Letters or digits glued after a keyword match only when they inflect it.
    #[test]
    fn a_keyword_followed_by_more_letters_matches_only_as_an_inflection(
        keyword in prop::sample::select(defaults()),
        suffix in prop_oneof!["[a-z0-9éß]{1,6}", prop::sample::select(vec!["s", "es", "ed", "d", "ing", "led", "ling", "red", "ring"])
            .prop_map(str::to_string)],
    ) {
        let text = text_around("", &keyword, &suffix);
        let expected = allowed_endings(&keyword).contains(&suffix.as_str());
        prop_assert_eq!(!matches(&text, &one(&keyword)).is_empty(), expected, "{}", text);
    }
}
