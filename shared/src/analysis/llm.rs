//! Optional LLM enrichment of the embedded analysis (`LLM_PROVIDER=openai`): one OpenAI-compatible chat
//! completion (`POST {base}/v1/chat/completions`, JSON mode, temperature 0) with the prompt from
//! `llm_prompt`, its reply checked by `llm_reply`, and a pure merge into the three documents. The LLM
//! writes the prose fields (summary, sentiment labels, topics, action items, resolution, Q&A,
//! compliance); what the engine measured (roles, names, talk, tags, SLA, duration) stays. Enrichment is
//! an extra: a failure leaves the embedded analysis as it was, with the failure noted.

use super::llm_prompt::Prompt;
use super::llm_reply::{Validated, validate};
use crate::outbound::http_reply::{self, ReplyError};
use crate::outbound::openai_api::OpenAiApi;
use crate::settings::env::{self, EnvError, EnvSource};
use serde::Serialize;
use serde_json::{Value, json};
use thiserror::Error;

/// Most bytes of a chat completion answer.
const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;
/// Most characters of an error kept in `analysis.json`.
const MAX_NOTE_CHARS: usize = 300;

#[derive(Debug, Error, PartialEq)]
pub enum LlmError {
    /// Network trouble, timeouts, 429 and 5xx: worth trying again later.
    #[error("LLM unavailable: {0}")]
    Unavailable(String),
    /// Our request or key was refused; retrying will not help.
    #[error("LLM refused the request: {0}")]
    Refused(String),
    /// The answer was not a chat completion holding a JSON object.
    #[error("LLM answered something unreadable: {0}")]
    BadAnswer(String),
}

impl LlmError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<ReplyError> for LlmError {
    fn from(e: ReplyError) -> Self {
        match e {
            ReplyError::Transient(why) => Self::Unavailable(why),
            ReplyError::Rejected(why) => Self::Refused(why),
            ReplyError::TooLarge(_) => Self::BadAnswer(e.to_string()),
        }
    }
}

/// `LLM_PROVIDER=openai` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSettings {
    /// `LLM_BASE_URL` (https://api.openai.com), `LLM_API_KEY` (optional), `LLM_MODEL` (gpt-4o-mini),
    /// `LLM_TIMEOUT_SECONDS` (120).
    pub api: OpenAiApi,
    /// `MAX_TRANSCRIPT_CHARS` (12000, the seed's).
    pub max_transcript_chars: usize,
}

/// Whether and how to enrich.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmConfig {
    None,
    OpenAi(LlmSettings),
}

impl LlmConfig {
    /// `LLM_PROVIDER`: `openai` or `none` (the default).
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let provider = env::string(e, "LLM_PROVIDER").unwrap_or_else(|| "none".into()).to_lowercase();
        match provider.as_str() {
            "none" => Ok(Self::None),
            "openai" => Ok(Self::OpenAi(LlmSettings {
                api: OpenAiApi::from_env(e, "LLM", "gpt-4o-mini", 120.0)?,
                max_transcript_chars: env::parsed(e, "MAX_TRANSCRIPT_CHARS", 12_000usize, "whole number")?
                    .clamp(1_000, 1_000_000),
            })),
            _ => Err(EnvError { name: "LLM_PROVIDER".into(), value: provider, expected: "openai or none" }),
        }
    }

    /// The client, or `None` when enrichment is off (then nothing is ever called).
    pub fn client(&self) -> Result<Option<LlmClient>, LlmError> {
        match self {
            Self::None => Ok(None),
            Self::OpenAi(settings) => LlmClient::new(settings.clone()).map(Some),
        }
    }
}

pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    settings: LlmSettings,
}

impl LlmClient {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        let http = settings.api.http_client().map_err(|e| LlmError::Unavailable(e.to_string()))?;
        Ok(Self { http, url: settings.api.url("/v1/chat/completions"), settings })
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// Sends the prompt; returns the checked reply and the raw reply text (for `analysis_raw.txt`). Timed,
    /// and counted when it fails.
    pub async fn complete(&self, prompt: &Prompt) -> Result<(Validated, String), LlmError> {
        use crate::process::metrics::names::{LLM_DURATION, LLM_FAILURES};
        let started = std::time::Instant::now();
        let result = self.request(prompt).await;
        metrics::histogram!(LLM_DURATION).record(started.elapsed().as_secs_f64());
        if result.is_err() {
            metrics::counter!(LLM_FAILURES).increment(1);
        }
        result
    }

    async fn request(&self, prompt: &Prompt) -> Result<(Validated, String), LlmError> {
        let body = json!({
            "model": self.settings.api.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
        });
        let request = self.settings.api.authorized(self.http.post(&self.url).json(&body));
        let answer = http_reply::send(request, MAX_ANSWER_BYTES).await?;
        let answer: Value = serde_json::from_slice(&answer).map_err(|e| LlmError::BadAnswer(e.to_string()))?;
        let raw = answer
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| LlmError::BadAnswer("no choices[0].message.content".into()))?;
        let validated = validate(raw).map_err(|e| LlmError::BadAnswer(e.to_string()))?;
        Ok((validated, raw.to_string()))
    }
}

/// The checked types serialize to plain JSON; nothing in them can fail to.
fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Merges a checked reply into the embedded engine's documents: each field the LLM gave replaces the
/// engine's (sentiment key by key, keeping the engine's `score` and `trend`; the SLA's resolution status
/// follows the new resolution); the rest is left alone. `analysis.enrichment` records the model and what
/// was dropped. An `analysis` that is not an object (never the engine's) is left as it is.
pub fn enrich(analysis: &mut Value, summary: &mut Value, qa: &mut Value, reply: &Validated, model: &str) {
    let Some(doc) = analysis.as_object_mut() else { return };
    if let Some(s) = &reply.summary {
        *summary = to_json(s);
        doc.insert("summary".into(), summary.clone());
    }
    if let Some(s) = &reply.sentiment {
        let sentiment = doc.entry("sentiment").or_insert_with(|| json!({}));
        if let (Some(into), Value::Object(fields)) = (sentiment.as_object_mut(), to_json(s)) {
            into.extend(fields);
        } else {
            *sentiment = to_json(s);
        }
    }
    let lists = [
        ("topics", &reply.topics),
        ("action_items", &reply.action_items),
        ("compliance_flags", &reply.compliance_flags),
    ];
    for (key, list) in lists {
        if let Some(list) = list {
            doc.insert(key.into(), json!(list));
        }
    }
    if let Some(r) = &reply.resolution {
        doc.insert("resolution".into(), to_json(r));
        if let (Some(sla), Some(status)) = (doc.get_mut("sla").and_then(Value::as_object_mut), r.status) {
            sla.insert("resolution_status".into(), to_json(&status));
        }
    }
    if let Some(pairs) = &reply.qa_pairs {
        *qa = to_json(pairs);
        doc.insert("qa_pairs".into(), qa.clone());
    }
    doc.insert("enrichment".into(), json!({"provider": "openai", "model": model, "dropped": reply.dropped}));
}

/// Records a failed enrichment in `analysis.json`, leaving the embedded analysis in place.
pub fn note_failure(analysis: &mut Value, model: &str, error: &LlmError) {
    let error: String = error.to_string().chars().take(MAX_NOTE_CHARS).collect();
    if let Some(doc) = analysis.as_object_mut() {
        doc.insert("enrichment".into(), json!({"provider": "openai", "model": model, "error": error}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn settings_from_env() {
        assert_eq!(LlmConfig::from_env(&[]).unwrap(), LlmConfig::None);
        assert!(LlmConfig::None.client().unwrap().is_none(), "off means nothing to call");
        let LlmConfig::OpenAi(s) =
            LlmConfig::from_env(&[("LLM_PROVIDER", "OpenAI"), ("LLM_API_KEY", "sk-secret")]).unwrap()
        else {
            panic!("openai expected")
        };
        assert_eq!((s.api.base_url.as_str(), s.api.model.as_str()), ("https://api.openai.com", "gpt-4o-mini"));
        assert_eq!((s.api.timeout, s.max_transcript_chars), (Duration::from_secs(120), 12_000));
        assert!(!format!("{s:?}").contains("sk-secret"), "the key never reaches Debug output");
        let custom =
            [("LLM_PROVIDER", "openai"), ("LLM_BASE_URL", "http://127.0.0.1:9/"), ("MAX_TRANSCRIPT_CHARS", "5000")];
        let LlmConfig::OpenAi(s) = LlmConfig::from_env(&custom).unwrap() else { panic!("openai expected") };
        assert_eq!(
            (s.api.base_url.as_str(), s.api.api_key, s.max_transcript_chars),
            ("http://127.0.0.1:9", None, 5_000)
        );
        assert_eq!(LlmConfig::from_env(&[("LLM_PROVIDER", "sarvam")]).unwrap_err().name, "LLM_PROVIDER");
        let bad = [("LLM_PROVIDER", "openai"), ("MAX_TRANSCRIPT_CHARS", "lots")];
        assert_eq!(LlmConfig::from_env(&bad).unwrap_err().name, "MAX_TRANSCRIPT_CHARS");
    }

    #[test]
    fn a_failure_is_noted_and_nothing_else_changes() {
        let mut analysis = json!({"summary": {"short": "embedded"}});
        let e = LlmError::Unavailable("HTTP 429 slow down".into());
        assert!(e.is_retryable() && !LlmError::Refused(String::new()).is_retryable());
        note_failure(&mut analysis, "m", &e);
        assert_eq!(analysis["summary"]["short"], "embedded");
        assert_eq!(
            analysis["enrichment"],
            json!({"provider": "openai", "model": "m", "error": "LLM unavailable: HTTP 429 slow down"})
        );
    }
}
