//! Reading an LLM's enrichment reply, pure: find the JSON object (code fences stripped, else the first `{`
//! to the last `}`, as the seed did), then check every key against the schema the prompt asked for. The
//! seed trusted whatever came back; here a field of the wrong type or an unknown label is dropped with
//! a reason, long text is cut, lists are capped and numbers clamped, so nothing unbounded or ill-typed
//! reaches `analysis.json`.

use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

/// Most reasons kept (a reply of a thousand bad items still yields a short note).
const MAX_REASONS: usize = 50;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("the reply holds no JSON object")]
pub struct NoJsonObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SentimentLabel {
    Positive,
    Neutral,
    Negative,
    Mixed,
}

/// A sentiment as the seed allowed it: a label or a score in -1..1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Mood {
    Score(f64),
    Label(SentimentLabel),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sentiment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall: Option<Mood>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Mood>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Mood>,
    /// 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResolutionStatus {
    Resolved,
    Unresolved,
    Pending,
    Escalated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    pub status: Option<ResolutionStatus>,
    pub next_steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub short: String,
    pub bullets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QaPair {
    pub question: String,
    pub answer: String,
}

/// The reply's fields that passed the schema; `None` where the model gave nothing usable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validated {
    pub summary: Option<Summary>,
    pub sentiment: Option<Sentiment>,
    pub topics: Option<Vec<String>>,
    pub action_items: Option<Vec<String>>,
    pub resolution: Option<Resolution>,
    pub qa_pairs: Option<Vec<QaPair>>,
    pub compliance_flags: Option<Vec<String>>,
    /// Why parts of the reply were dropped or cut.
    pub dropped: Vec<String>,
}

/// The JSON object in a reply: fenced, bare, or buried in prose.
pub fn extract(reply: &str) -> Result<Map<String, Value>, NoJsonObject> {
    let text = reply.trim();
    let unfenced = text.strip_prefix("```").map(|rest| {
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        rest.trim_end().strip_suffix("```").unwrap_or(rest).trim()
    });
    let candidates = [unfenced, Some(text), text.find('{').zip(text.rfind('}')).and_then(|(a, b)| text.get(a..=b))];
    candidates
        .into_iter()
        .flatten()
        .find_map(|c| match serde_json::from_str(c) {
            Ok(Value::Object(o)) => Some(o),
            _ => None,
        })
        .ok_or(NoJsonObject)
}

/// Collects the reasons while checking fields.
struct Check {
    dropped: Vec<String>,
}

impl Check {
    fn drop(&mut self, path: &str, why: &str) {
        if self.dropped.len() < MAX_REASONS {
            self.dropped.push(format!("{path}: {why}"));
        }
    }

    /// A string, control characters removed, cut to `max` characters; blank counts as absent.
    fn text(&mut self, path: &str, v: &Value, max: usize) -> Option<String> {
        let Value::String(s) = v else {
            if !v.is_null() {
                self.drop(path, "not a string");
            }
            return None;
        };
        let clean: String = s.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
        let clean = clean.trim();
        if clean.chars().count() > max {
            self.drop(path, &format!("longer than {max} characters, cut"));
        }
        Some(clean.chars().take(max).collect::<String>()).filter(|s| !s.is_empty())
    }

    /// A list of at most `max_items` strings of at most `max_chars` each; other items are dropped.
    fn texts(&mut self, path: &str, v: &Value, max_items: usize, max_chars: usize) -> Option<Vec<String>> {
        let Value::Array(items) = v else {
            if !v.is_null() {
                self.drop(path, "not a list");
            }
            return None;
        };
        if items.len() > max_items {
            self.drop(path, &format!("more than {max_items} items, rest dropped"));
        }
        let list = items.iter().take(max_items).enumerate();
        Some(list.filter_map(|(i, item)| self.text(&format!("{path}[{i}]"), item, max_chars)).collect())
    }

    fn object<'a>(&mut self, path: &str, v: &'a Value) -> Option<&'a Map<String, Value>> {
        if !v.is_object() && !v.is_null() {
            self.drop(path, "not an object");
        }
        v.as_object()
    }

    fn mood(&mut self, path: &str, v: &Value) -> Option<Mood> {
        match v {
            Value::Null => None,
            Value::Number(n) => n.as_f64().filter(|x| x.is_finite()).map(|x| Mood::Score(x.clamp(-1.0, 1.0))),
            Value::String(s) => {
                let label = match s.trim().to_lowercase().as_str() {
                    "positive" => SentimentLabel::Positive,
                    "neutral" => SentimentLabel::Neutral,
                    "negative" => SentimentLabel::Negative,
                    "mixed" => SentimentLabel::Mixed,
                    _ => {
                        self.drop(path, "not a known sentiment label");
                        return None;
                    }
                };
                Some(Mood::Label(label))
            }
            _ => {
                self.drop(path, "not a label or number");
                None
            }
        }
    }

    fn summary(&mut self, v: &Value) -> Option<Summary> {
        let o = self.object("summary", v)?;
        let short = o.get("short").and_then(|s| self.text("summary.short", s, 1_000)).unwrap_or_default();
        let bullets = o.get("bullets").and_then(|b| self.texts("summary.bullets", b, 10, 500)).unwrap_or_default();
        (!short.is_empty() || !bullets.is_empty()).then_some(Summary { short, bullets })
    }

    fn sentiment(&mut self, v: &Value) -> Option<Sentiment> {
        let o = self.object("sentiment", v)?;
        let mut mood = |key: &str| o.get(key).and_then(|m| self.mood(&format!("sentiment.{key}"), m));
        let (overall, customer, agent) = (mood("overall"), mood("customer"), mood("agent"));
        let confidence = match o.get("confidence") {
            None | Some(Value::Null) => None,
            Some(c) => {
                let x = c.as_f64().filter(|x| x.is_finite());
                if x.is_none() {
                    self.drop("sentiment.confidence", "not a number");
                }
                x.map(|x| x.clamp(0.0, 1.0))
            }
        };
        let s = Sentiment { overall, customer, agent, confidence };
        (s != Sentiment::default()).then_some(s)
    }

    fn resolution(&mut self, v: &Value) -> Option<Resolution> {
        let o = self.object("resolution", v)?;
        let status = match o.get("status").and_then(|s| self.text("resolution.status", s, 40)) {
            None => None,
            Some(s) => match s.to_lowercase().as_str() {
                "resolved" => Some(ResolutionStatus::Resolved),
                "unresolved" => Some(ResolutionStatus::Unresolved),
                "pending" => Some(ResolutionStatus::Pending),
                "escalated" => Some(ResolutionStatus::Escalated),
                _ => {
                    self.drop("resolution.status", "not resolved, unresolved, pending or escalated");
                    None
                }
            },
        };
        let next_steps =
            o.get("next_steps").and_then(|n| self.texts("resolution.next_steps", n, 10, 300)).unwrap_or_default();
        (status.is_some() || !next_steps.is_empty()).then_some(Resolution { status, next_steps })
    }

    fn qa_pairs(&mut self, v: &Value) -> Option<Vec<QaPair>> {
        let Value::Array(items) = v else {
            if !v.is_null() {
                self.drop("qa_pairs", "not a list");
            }
            return None;
        };
        if items.len() > 20 {
            self.drop("qa_pairs", "more than 20 items, rest dropped");
        }
        let pairs = items.iter().take(20).enumerate().filter_map(|(i, item)| {
            let o = self.object(&format!("qa_pairs[{i}]"), item)?;
            let question = self.text(&format!("qa_pairs[{i}].question"), o.get("question")?, 500)?;
            let answer = o.get("answer").and_then(|a| self.text(&format!("qa_pairs[{i}].answer"), a, 1_000));
            Some(QaPair { question, answer: answer.unwrap_or_default() })
        });
        Some(pairs.collect())
    }
}

const KNOWN_KEYS: [&str; 7] =
    ["summary", "sentiment", "topics", "action_items", "resolution", "qa_pairs", "compliance_flags"];

/// Parses and checks a reply; only a reply without any JSON object is an error.
pub fn validate(reply: &str) -> Result<Validated, NoJsonObject> {
    let o = extract(reply)?;
    let mut c = Check { dropped: Vec::new() };
    let null = Value::Null;
    let get = |k: &str| o.get(k).unwrap_or(&null);
    let v = Validated {
        summary: c.summary(get("summary")),
        sentiment: c.sentiment(get("sentiment")),
        topics: c.texts("topics", get("topics"), 20, 100),
        action_items: c.texts("action_items", get("action_items"), 20, 300),
        resolution: c.resolution(get("resolution")),
        qa_pairs: c.qa_pairs(get("qa_pairs")),
        compliance_flags: c.texts("compliance_flags", get("compliance_flags"), 20, 200),
        dropped: Vec::new(),
    };
    for key in o.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        c.drop(&key.chars().take(40).collect::<String>(), "not asked for, ignored");
    }
    Ok(Validated { dropped: c.dropped, ..v })
}

#[cfg(test)]
#[path = "llm_reply_tests.rs"]
mod tests;
