//! Who is the agent and who the customer, and what they are called, from cue phrases (the seed's
//! heuristics): useful on their own and as the fallback when a model is unsure.

use crate::speech::transcript::Entry;
use serde::Serialize;
use std::collections::BTreeMap;

const AGENT_CUES: [&str; 13] = [
    "thank you for calling",
    "how can i help",
    "how may i help",
    "i will",
    "i can help",
    "let me",
    "ticket",
    "reference number",
    "policy",
    "account number",
    "apologies",
    "sorry for the inconvenience",
    "our company",
];
const CUSTOMER_CUES: [&str; 12] = [
    "i need",
    "i want",
    "my issue",
    "my problem",
    "refund",
    "complaint",
    "not working",
    "charged",
    "why",
    "when will",
    "i was",
    "i paid",
];
const NAME_INTROS: [&[&str]; 7] = [
    &["my", "name", "is"],
    &["this", "is"],
    &["i", "am"],
    &["i'm"],
    &["im"],
    &["you're", "speaking", "with"],
    &["speaking", "with"],
];
/// Words that follow "my name is", "this is", "I'm" without being a name: the seed's list, plus what people
/// say after "I'm" on a call (the seed named speakers "Sorry" and "Frustrated").
const NOT_NAMES: [&str; 97] = [
    "calling",
    "call",
    "speaking",
    "from",
    "with",
    "help",
    "support",
    "service",
    "team",
    "company",
    "account",
    "billing",
    "sales",
    "issue",
    "problem",
    "today",
    "here",
    "there",
    "name",
    "hello",
    "hi",
    "hey",
    "thanks",
    "thank",
    "good",
    "morning",
    "afternoon",
    "evening",
    "sir",
    "maam",
    "madam",
    "miss",
    "mr",
    "mrs",
    "ms",
    "dr",
    "doctor",
    "manager",
    "supervisor",
    "assistant",
    "rep",
    "representative",
    "youre",
    "the",
    "a",
    // after "I'm" / "I am"
    "sorry",
    "glad",
    "happy",
    "afraid",
    "sure",
    "not",
    "so",
    "very",
    "really",
    "just",
    "still",
    "also",
    "going",
    "trying",
    "looking",
    "having",
    "getting",
    "waiting",
    "fine",
    "great",
    "okay",
    "ok",
    "well",
    "able",
    "unable",
    "about",
    "an",
    "in",
    "on",
    "at",
    "to",
    "frustrated",
    "upset",
    "angry",
    "confused",
    "disappointed",
    "concerned",
    "worried",
    "interested",
    "aware",
    "unsure",
    "done",
    "back",
    "new",
    "currently",
    "pleased",
    "checking",
    "transferring",
    "putting",
    "reaching",
    "following",
    "writing",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    Agent,
    Customer,
    Other,
}

/// Per speaker: the role and how sure (0–1). A speaker named after a role (`agent`, `customer`: the
/// channels of a stereo recording or of a live call) is that role for certain; the others are judged by
/// their cues.
pub fn roles(entries: &[Entry]) -> BTreeMap<String, (Role, f64)> {
    let mut scores: BTreeMap<String, (u32, u32, f64)> = BTreeMap::new();
    for e in entries {
        let text = e.transcript.to_lowercase();
        let s = scores.entry(e.speaker_id.clone()).or_default();
        s.0 += AGENT_CUES.iter().filter(|c| text.contains(*c)).count() as u32;
        s.1 += CUSTOMER_CUES.iter().filter(|c| text.contains(*c)).count() as u32;
        s.2 += (e.end_time_seconds - e.start_time_seconds).max(0.0);
    }
    scores
        .into_iter()
        .map(|(speaker, (a, c, duration))| {
            match speaker.to_lowercase().as_str() {
                "agent" => return (speaker, (Role::Agent, 1.0)),
                "customer" => return (speaker, (Role::Customer, 1.0)),
                _ => {}
            }
            let sure = |x: u32, y: u32| ((f64::from(x.abs_diff(y)) / f64::from(x + y)) * 100.0).round() / 100.0;
            let judged = if a > c + 1 {
                (Role::Agent, sure(a, c).min(1.0))
            } else if c > a + 1 {
                (Role::Customer, sure(a, c).min(1.0))
            } else if a + c == 0 && duration > 0.0 {
                (Role::Other, 0.2)
            } else {
                (Role::Other, 0.0)
            };
            (speaker, judged)
        })
        .collect()
}

fn name_token(raw: &str) -> Option<String> {
    let t = raw.trim_matches(|c: char| matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | '"'));
    let ok = t.len() >= 2
        && t.starts_with(|c: char| c.is_ascii_lowercase())
        && t.chars().all(|c| c.is_ascii_lowercase() || c == '\'' || c == '-')
        && !NOT_NAMES.contains(&t.replace('\'', "").as_str());
    ok.then(|| t.to_string())
}

fn title(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The name one entry introduces ("my name is Dana Reyes", "this is Sam"), if any: up to two words.
fn introduced(text: &str) -> Option<Vec<String>> {
    let words: Vec<String> = text.to_lowercase().split_whitespace().map(str::to_string).collect();
    NAME_INTROS.iter().find_map(|intro| {
        let at = words.windows(intro.len()).position(|w| w.iter().map(String::as_str).eq(intro.iter().copied()))?;
        let rest = &words[at + intro.len()..];
        let first = name_token(rest.first()?)?;
        let second = rest.get(1).and_then(|w| name_token(w));
        Some(std::iter::once(first).chain(second).collect())
    })
}

/// Per speaker, the name they gave: a two-word name beats a one-word one, otherwise the first one wins.
pub fn names(entries: &[Entry]) -> BTreeMap<String, String> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries {
        if let Some(name) = introduced(&e.transcript) {
            let slot = found.entry(e.speaker_id.clone()).or_default();
            if slot.is_empty() || (slot.len() == 1 && name.len() == 2) {
                *slot = name;
            }
        }
    }
    found.into_iter().map(|(speaker, words)| (speaker, title(&words))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(speaker: &str, text: &str) -> Entry {
        Entry::new(speaker, 0.0, 2.0, text)
    }

    #[test]
    fn roles_from_cues() {
        let r = roles(&[
            e("0", "Thank you for calling, how can I help? Let me check the policy."),
            e("1", "I need a refund, I was charged twice and it is not working."),
            e("2", "uh"),
            e("3", "I need help, let me see"),
        ]);
        assert_eq!(r["0"], (Role::Agent, 1.0));
        assert_eq!(r["1"], (Role::Customer, 1.0));
        assert_eq!(r["2"], (Role::Other, 0.2), "no cues but speech");
        assert_eq!(r["3"], (Role::Other, 0.0), "one cue each: undecided");
    }

    #[test]
    fn channel_speakers_keep_their_role() {
        let r = roles(&[e("agent", "I need a refund, I was charged"), e("Customer", "how can I help")]);
        assert_eq!(
            (r["agent"], r["Customer"]),
            ((Role::Agent, 1.0), (Role::Customer, 1.0)),
            "the channel wins over cues"
        );
    }

    #[test]
    fn names_people_give() {
        let n = names(&[
            e("0", "Hi, this is Sam from support."),
            e("0", "My name is Sam Ortiz, how can I help?"),
            e("1", "Hello, I'm calling about my bill."),
            e("1", "I am Dana."),
            e("2", "this is the billing team"),
        ]);
        assert_eq!(n.get("0").map(String::as_str), Some("Sam Ortiz"), "two words beat one");
        assert_eq!(n.get("1").map(String::as_str), Some("Dana"), "'calling' is not a name");
        assert_eq!(n.get("2"), None);
        let sorry = names(&[e("0", "I'm sorry about that, I understand."), e("1", "I am so frustrated with this")]);
        assert!(sorry.is_empty(), "{sorry:?}");
    }
}
