//! What was discussed and agreed, without a model: topics as recurring key phrases, action items from
//! commitment cues, question/answer pairs across speakers, and a resolution guess from closing cues.

use crate::speech::transcript::Entry;
use serde::Serialize;
use std::collections::HashMap;

const STOP_WORDS: &str = "a about above after again against all am an and any are as at be because been before being below \
between both but by can could did do does doing down during each few for from further had has have having he her here \
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once \
only or other our ours ourselves out over own same she should so some such than that the their theirs them themselves \
then there these they this those through to too under until up very was we were what when where which while who whom \
why will with would you your yours yourself yourselves yes yeah ok okay um uh oh hi hello thanks thank please sorry \
well right sure get got go going know like just really also let me let's can't don't i'm i've i'll you're it's that's \
we're we'll they're there's one two want need call calling today time thing something anything everything";
const ACTION_CUES: [&str; 12] = [
    "i will",
    "i'll",
    "we will",
    "we'll",
    "i am going to",
    "i'm going to",
    "next step",
    "follow up",
    "send you",
    "call you back",
    "get back to you",
    "make sure",
];
const RESOLVED_CUES: [&str; 7] =
    ["resolved", "fixed", "that solves", "that works", "all set", "anything else i can help", "is there anything else"];
const PENDING_CUES: [&str; 7] =
    ["escalate", "call you back", "get back to you", "ticket", "follow up", "24 hours", "48 hours"];

fn stop_words() -> std::collections::HashSet<&'static str> {
    STOP_WORDS.split_whitespace().collect()
}

/// Lower-cased words of a text, apostrophes kept, everything else a separator.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Up to `max` key phrases of the call, best first: word sequences (up to three words) between stop
/// words, scored by how often they recur times their length; a phrase inside a better one is skipped.
pub fn topics(entries: &[Entry], max: usize) -> Vec<String> {
    let stop = stop_words();
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for e in entries {
        for sentence in e.transcript.split(['.', '?', '!', ',', ';', ':']) {
            let tokens = words(sentence);
            for run in
                tokens.split(|w| stop.contains(w.as_str()) || w.len() < 3 || w.chars().all(|c| c.is_ascii_digit()))
            {
                for n in 1..=run.len().min(3) {
                    for gram in run.windows(n) {
                        counts.entry(gram.join(" ")).or_insert((0, n)).0 += 1;
                    }
                }
            }
        }
    }
    let mut ranked: Vec<(String, usize, usize)> =
        counts.into_iter().filter(|(_, (count, _))| *count > 1).map(|(p, (count, n))| (p, count, n)).collect();
    ranked.sort_by(|a, b| (b.1 * b.2).cmp(&(a.1 * a.2)).then(b.2.cmp(&a.2)).then_with(|| a.0.cmp(&b.0)));
    let mut picked: Vec<String> = Vec::new();
    for (phrase, _, _) in ranked {
        let inside = |big: &str, small: &str| format!(" {big} ").contains(&format!(" {small} "));
        if picked.iter().any(|p| inside(p, &phrase) || inside(&phrase, p)) {
            continue;
        }
        picked.push(phrase);
        if picked.len() == max {
            break;
        }
    }
    picked
}

fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(['.', '?', '!']).map(str::trim).filter(|s| !s.is_empty())
}

/// Sentences that commit someone to do something, with who said them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionItem {
    pub speaker_id: String,
    pub text: String,
}

pub fn action_items(entries: &[Entry], max: usize) -> Vec<ActionItem> {
    entries
        .iter()
        .flat_map(|e| {
            sentences(&e.transcript)
                .filter(|s| !s.ends_with('?') && ACTION_CUES.iter().any(|c| s.to_lowercase().contains(c)))
                .map(|s| ActionItem { speaker_id: e.speaker_id.clone(), text: s.to_string() })
        })
        .take(max)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QaPair {
    pub question: String,
    pub answer: String,
}

/// A question, answered by the next thing another speaker says.
pub fn qa_pairs(entries: &[Entry], max: usize) -> Vec<QaPair> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(question) = sentences(&e.transcript).filter(|s| s.ends_with('?')).last() else { continue };
        if question.split_whitespace().count() < 3 {
            continue; // "Sorry?" "Hello?" are not questions worth keeping
        }
        let answer = entries[i + 1..].iter().find(|a| a.speaker_id != e.speaker_id && !a.transcript.trim().is_empty());
        if let Some(a) = answer {
            out.push(QaPair { question: question.to_string(), answer: a.transcript.trim().to_string() });
        }
        if out.len() == max {
            break;
        }
    }
    out
}

/// `resolved`, `pending` (a follow-up or escalation was promised) or `unresolved`, from the last third of
/// the call, where closings are said.
pub fn resolution(entries: &[Entry]) -> &'static str {
    let tail: String = entries[entries.len() - entries.len().div_ceil(3)..]
        .iter()
        .map(|e| e.transcript.to_lowercase() + " ")
        .collect();
    if PENDING_CUES.iter().any(|c| tail.contains(c)) {
        "pending"
    } else if RESOLVED_CUES.iter().any(|c| tail.contains(c)) {
        "resolved"
    } else {
        "unresolved"
    }
}

#[cfg(test)]
#[path = "insights_tests.rs"]
mod tests;
