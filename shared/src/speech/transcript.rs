//! Batch transcripts in the seed's shapes: entries, `transcript.json` with
//! speaker stats, `transcript.txt`, the pre-analysis cleanup (fillers, repeated words), and import of a
//! transcript someone already has (the `transcript` provider), bounded and validated.

use crate::settings::env::{self, EnvError, EnvSource};
use crate::values::timestamps::{Timestamp, iso};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use thiserror::Error;

/// Most entries an imported transcript may have.
pub const MAX_ENTRIES: usize = 20_000;
/// Longest text of one entry.
pub const MAX_ENTRY_CHARS: usize = 10_000;
/// The seed's default filler words.
pub const DEFAULT_FILLERS: &str = "um,uh,erm,ah,like,you know,i mean,hm,hmm,mm,uh-huh,uh huh,okay,ok,yeah";

/// One utterance, as `transcript.json` stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub speaker_id: String,
    pub start_time_seconds: f64,
    pub end_time_seconds: f64,
    pub transcript: String,
    /// How sure the speech-to-text engine was (0 to 1), when it says (the embedded whisper does: the mean
    /// probability of the entry's text tokens). Absent from imported and older transcripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

impl Entry {
    pub fn new(speaker: &str, start_seconds: f64, end_seconds: f64, text: &str) -> Self {
        Self {
            speaker_id: speaker.to_string(),
            start_time_seconds: start_seconds,
            end_time_seconds: end_seconds,
            transcript: text.to_string(),
            confidence: None,
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum TranscriptError {
    #[error("transcript must be an object with \"entries\" (or a list of entries)")]
    Shape,
    #[error("transcript has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    #[error("entry {0}: {1}")]
    Entry(usize, &'static str),
}

fn number(v: Option<&Value>) -> Result<f64, &'static str> {
    match v {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::Number(n)) => n.as_f64().filter(|x| x.is_finite()).ok_or("times must be finite numbers"),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()).ok_or("times must be numbers"),
        Some(_) => Err("times must be numbers"),
    }
}

/// The first non-null of `keys` (aliases of one field), after checking every one present: an alias that is
/// not read must still be well-formed, so a file is refused or taken whatever order its keys come in (and the
/// OpenAPI document can say what each key takes).
fn checked_first<'a>(
    o: &'a Map<String, Value>,
    keys: &[&str],
    check: impl Fn(&Value) -> Result<(), &'static str>,
) -> Result<Option<&'a Value>, &'static str> {
    let present: Vec<&Value> = keys.iter().filter_map(|k| o.get(*k).filter(|v| !v.is_null())).collect();
    present.iter().try_for_each(|v| check(v))?;
    Ok(present.first().copied())
}

fn text_value(v: &Value) -> Result<(), &'static str> {
    let text = v.as_str().ok_or("text must be a string")?;
    if text.chars().count() > MAX_ENTRY_CHARS { Err("text is too long") } else { Ok(()) }
}

fn speaker_value(v: &Value) -> Result<(), &'static str> {
    if v.is_string() || v.is_number() { Ok(()) } else { Err("speaker must be a string or number") }
}

/// Reads a transcript in the seed's shapes: `{"entries": [...]}`, `{"diarized_transcript": {"entries":
/// [...]}}` or a bare list; entry fields with the seed's aliases. Times are clamped (start ≥ 0, end ≥ start);
/// a `confidence` (0 to 1) is kept.
pub fn import(value: &Value) -> Result<Vec<Entry>, TranscriptError> {
    let list = match value {
        Value::Array(items) => items,
        Value::Object(o) => o
            .get("diarized_transcript")
            .and_then(|d| d.get("entries"))
            .or_else(|| o.get("entries"))
            .and_then(Value::as_array)
            .ok_or(TranscriptError::Shape)?,
        _ => return Err(TranscriptError::Shape),
    };
    if list.len() > MAX_ENTRIES {
        return Err(TranscriptError::TooManyEntries);
    }
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let err = |why| TranscriptError::Entry(i, why);
            let o = item.as_object().ok_or(err("must be an object"))?;
            let text = checked_first(o, &["transcript", "text"], text_value).map_err(err)?;
            let text = text.and_then(Value::as_str).unwrap_or("");
            let speaker = match checked_first(o, &["speaker_id", "speaker"], speaker_value).map_err(err)? {
                // Trimmed after the cut too, so the cut speaker reads back the same from `transcript.json`.
                Some(Value::String(s)) => s.trim().chars().take(64).collect::<String>().trim_end().to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "speaker".to_string(),
            };
            let start_keys = ["start_time_seconds", "start_time", "start"];
            let start = number(checked_first(o, &start_keys, |v| number(Some(v)).map(drop)).map_err(err)?)
                .map_err(err)?
                .max(0.0);
            let end_keys = ["end_time_seconds", "end_time", "end"];
            let end = number(checked_first(o, &end_keys, |v| number(Some(v)).map(drop)).map_err(err)?)
                .map_err(err)?
                .max(start);
            let confidence = match o.get("confidence") {
                None | Some(Value::Null) => None,
                Some(c) => {
                    Some(c.as_f64().filter(|c| (0.0..=1.0).contains(c)).ok_or(err("confidence must be 0 to 1"))?)
                }
            };
            Ok(Entry { confidence, ..Entry::new(&speaker, start, end, text.trim()) })
        })
        .collect()
}

/// `transcript.json`: the entries and, per speaker, spoken seconds and words.
pub fn to_json(entries: &[Entry], generated_at: Timestamp) -> Value {
    let mut stats: Map<String, Value> = Map::new();
    for e in entries {
        let s = stats.entry(e.speaker_id.clone()).or_insert_with(|| json!({"duration": 0.0, "words": 0}));
        s["duration"] =
            json!(s["duration"].as_f64().unwrap_or(0.0) + (e.end_time_seconds - e.start_time_seconds).max(0.0));
        s["words"] = json!(s["words"].as_u64().unwrap_or(0) + e.transcript.split_whitespace().count() as u64);
    }
    json!({"generated_at": iso(&generated_at), "entries": entries, "speaker_stats": stats})
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// `transcript.txt`: `[MM:SS - MM:SS] speaker: text` per non-empty entry (minutes may pass 59).
pub fn to_text(entries: &[Entry]) -> String {
    entries
        .iter()
        .filter(|e| !e.transcript.is_empty())
        .map(|e| {
            format!(
                "[{} - {}] {}: {}\n",
                clock(e.start_time_seconds),
                clock(e.end_time_seconds),
                e.speaker_id,
                e.transcript
            )
        })
        .collect()
}

/// The pre-analysis cleanup (`ENABLE_PRE_LLM_CLEANUP`, `FILLER_WORDS`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cleanup {
    pub enabled: bool,
    /// Each filler as its lower-cased words.
    fillers: Vec<Vec<String>>,
}

impl Cleanup {
    pub fn new(enabled: bool, fillers: &str) -> Self {
        let mut seen = std::collections::BTreeSet::new();
        let mut fillers: Vec<Vec<String>> = fillers
            .split([',', '\n'])
            .map(|f| f.trim().to_lowercase())
            .filter(|f| !f.is_empty() && seen.insert(f.clone()))
            .take(50)
            .map(|f| f.split_whitespace().map(str::to_string).collect())
            .collect();
        // Longest first, so "uh huh" goes whole rather than leaving "huh" behind "uh".
        fillers.sort_by_key(|f| std::cmp::Reverse(f.len()));
        Self { enabled, fillers }
    }

    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let enabled = env::parsed(e, "ENABLE_PRE_LLM_CLEANUP", true, "true or false")?;
        Ok(Self::new(enabled, &env::string(e, "FILLER_WORDS").unwrap_or_else(|| DEFAULT_FILLERS.into())))
    }

    /// The entries analysis reads: fillers and stutters gone, empty entries dropped (unchanged when off).
    pub fn apply(&self, entries: &[Entry]) -> Vec<Entry> {
        if !self.enabled {
            return entries.to_vec();
        }
        entries
            .iter()
            .filter_map(|e| {
                let text = self.clean(&e.transcript);
                (!text.is_empty()).then(|| Entry { transcript: text, ..e.clone() })
            })
            .collect()
    }

    fn clean(&self, text: &str) -> String {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'').to_lowercase();
        let lower: Vec<String> = words.iter().map(|w| bare(w)).collect();
        let mut kept: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let filler = self.fillers.iter().find(|f| lower.get(i..i + f.len()).is_some_and(|w| w == f.as_slice()));
            match filler {
                Some(f) => i += f.len(),
                None => {
                    // A word said twice in a row ("the the") is kept once.
                    if kept.last().is_none_or(|prev| bare(prev) != lower[i] || lower[i].is_empty()) {
                        kept.push(words[i]);
                    }
                    i += 1;
                }
            }
        }
        kept.join(" ").trim_matches(|c| matches!(c, ' ' | ',' | '.' | '-')).to_string()
    }
}

#[cfg(test)]
#[path = "transcript_tests.rs"]
mod tests;
