//! The enrichment prompt, pure: the keys asked for with their allowed values, the
//! prompt pack's focus line, glossary and context notes, and the transcript as `[MM:SS - MM:SS] speaker:
//! text` lines cut on a line boundary at `MAX_TRANSCRIPT_CHARS` with `\n[TRUNCATED]`, so the model never
//! sees half a line. The seed's role/name heuristics are not sent: the embedded engine owns those fields.

use crate::speech::transcript::{Entry, to_text};

/// The seed's system message.
pub const SYSTEM: &str = "You are a precise call analytics assistant.";
/// Most glossary terms named in a prompt (the seed's cap).
const MAX_GLOSSARY_TERMS: usize = 50;
/// Most characters of the context notes.
const MAX_CONTEXT_CHARS: usize = 2_000;

const KEYS: &str = "Return JSON only: one object with exactly these keys: \
\"summary\" {\"short\": string, \"bullets\": [string]}, \
\"sentiment\" {\"overall\", \"customer\", \"agent\": each one of positive, neutral, negative, mixed or a number \
from -1 to 1; \"confidence\": number from 0 to 1}, \
\"topics\" [string], \"action_items\" [string], \
\"resolution\" {\"status\": one of resolved, unresolved, pending, escalated; \"next_steps\" [string]}, \
\"qa_pairs\" [{\"question\": string, \"answer\": string}], \"compliance_flags\" [string]. \
Use null for a value you are unsure of and [] when there is nothing to list.";

/// What one enrichment prompt is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptInput<'a> {
    /// The cleaned entries (analysis input).
    pub entries: &'a [Entry],
    /// general, sales, support or collections; anything else counts as general.
    pub prompt_pack: &'a str,
    pub glossary: &'a [String],
    /// The call's context notes (the seed's `prompt`).
    pub context: Option<&'a str>,
    /// `MAX_TRANSCRIPT_CHARS`.
    pub max_transcript_chars: usize,
}

/// A chat prompt: system and user messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
}

/// The seed's focus line per prompt pack; general has none.
pub fn focus_line(pack: &str) -> Option<&'static str> {
    match pack.trim().to_lowercase().as_str() {
        "sales" => {
            Some("Focus on: lead intent, objections, pricing, competitors, deal stage, next steps, close probability.")
        }
        "support" => Some(
            "Focus on: issue description, troubleshooting, root cause, SLA impact, resolution status, follow-up steps.",
        ),
        "collections" => {
            Some("Focus on: delinquency status, payment promises, compliance language, negotiated dates, risk signals.")
        }
        _ => None,
    }
}

/// Whole lines up to `max_chars` characters, then `\n[TRUNCATED]` if any were left out; a first line
/// longer than the limit is cut inside so the model still sees something.
pub fn truncated_transcript(entries: &[Entry], max_chars: usize) -> String {
    let text = to_text(entries);
    let mut out = String::new();
    let mut used = 0;
    for line in text.lines() {
        let len = line.chars().count() + usize::from(!out.is_empty());
        if used + len > max_chars {
            if out.is_empty() {
                out = line.chars().take(max_chars).collect();
            }
            out.push_str("\n[TRUNCATED]");
            return out;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        used += len;
    }
    out
}

/// One line of free text: control characters become spaces, runs of space collapse.
fn one_line(text: &str, max_chars: usize) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    clean.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(max_chars).collect()
}

impl Prompt {
    pub fn new(input: &PromptInput) -> Self {
        let mut user = vec![KEYS.to_string()];
        user.extend(focus_line(input.prompt_pack).map(str::to_string));
        let terms: Vec<String> = input
            .glossary
            .iter()
            .take(MAX_GLOSSARY_TERMS)
            .map(|t| one_line(t, 100))
            .filter(|t| !t.is_empty())
            .collect();
        if !terms.is_empty() {
            user.push(format!("Glossary terms: {}", terms.join(", ")));
        }
        if let Some(context) = input.context.map(|c| one_line(c, MAX_CONTEXT_CHARS)).filter(|c| !c.is_empty()) {
            user.push(format!("Context notes: {context}"));
        }
        user.push(format!("Transcript:\n{}", truncated_transcript(input.entries, input.max_transcript_chars)));
        Self { system: SYSTEM.into(), user: user.join("\n") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(speaker: &str, start: f64, text: &str) -> Entry {
        Entry::new(speaker, start, start + 5.0, text)
    }

    #[test]
    fn transcript_is_cut_on_a_line_boundary() {
        let entries = [e("0", 0.0, "hello there"), e("1", 65.0, "hi"), e("0", 70.0, "bye now")];
        let full = "[00:00 - 00:05] 0: hello there\n[01:05 - 01:10] 1: hi\n[01:10 - 01:15] 0: bye now";
        assert_eq!(truncated_transcript(&entries, 10_000), full, "nothing cut, no marker");
        assert_eq!(truncated_transcript(&entries, full.chars().count()), full, "exactly at the limit");
        let two = "[00:00 - 00:05] 0: hello there\n[01:05 - 01:10] 1: hi";
        assert_eq!(truncated_transcript(&entries, two.len() + 5), format!("{two}\n[TRUNCATED]"));
        assert_eq!(truncated_transcript(&entries, 9), "[00:00 - \n[TRUNCATED]", "a first line too long is cut");
        assert_eq!(truncated_transcript(&[], 100), "");
    }

    #[test]
    fn pack_glossary_and_context_lines() {
        let entries = [e("0", 0.0, "Thanks for calling")];
        let glossary: Vec<String> = (0..60).map(|i| format!("term{i}")).collect();
        let p = Prompt::new(&PromptInput {
            entries: &entries,
            prompt_pack: "Sales",
            glossary: &glossary,
            context: Some("VIP customer,\n\tline two"),
            max_transcript_chars: 12_000,
        });
        assert_eq!(p.system, SYSTEM);
        let lines: Vec<&str> = p.user.lines().collect();
        assert!(lines[0].starts_with("Return JSON only") && lines[0].contains("\"compliance_flags\""));
        assert!(lines[1].starts_with("Focus on: lead intent"), "{}", lines[1]);
        assert!(lines[2].starts_with("Glossary terms: term0, term1") && lines[2].ends_with("term49"));
        assert_eq!(lines[3], "Context notes: VIP customer, line two", "the notes cannot add prompt lines");
        assert_eq!(&lines[4..], ["Transcript:", "[00:00 - 00:05] 0: Thanks for calling"]);
        let general = Prompt::new(&PromptInput {
            entries: &entries,
            prompt_pack: "general",
            glossary: &[],
            context: Some("  "),
            max_transcript_chars: 12_000,
        });
        assert_eq!(general.user.lines().nth(1), Some("Transcript:"), "general adds no focus, glossary or notes");
        assert!(focus_line("support").unwrap().contains("root cause"));
        assert!(focus_line("collections").unwrap().contains("payment promises"));
        assert_eq!(focus_line("weird"), None);
    }
}
