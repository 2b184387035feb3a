//! The OpenAI-compatible transcription API: `POST {base}/v1/audio/transcriptions` (multipart `file`,
//! `model`, `response_format=verbose_json`, optional `language`), read as timed segments.

use super::{OpenAiApi, Segment, SttError, Transcriber};
use crate::outbound::http_reply;
use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

pub struct OpenAiCompatible {
    http: reqwest::Client,
    url: String,
    api: OpenAiApi,
}

impl OpenAiCompatible {
    pub fn new(api: OpenAiApi) -> Result<Self, SttError> {
        let http = api.http_client().map_err(|e| SttError::Unavailable(e.to_string()))?;
        Ok(Self { http, url: api.url("/v1/audio/transcriptions"), api })
    }
}

fn f64_of(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64).filter(|x| x.is_finite())
}

/// `verbose_json` segments; a plain `{"text"}` answer becomes one untimed segment.
fn segments(body: &Value) -> Result<Vec<Segment>, SttError> {
    if let Some(list) = body.get("segments").and_then(Value::as_array) {
        return Ok(list
            .iter()
            .filter_map(|s| {
                let text = s.get("text").and_then(Value::as_str)?.trim();
                let start = f64_of(s, "start").unwrap_or(0.0).max(0.0);
                Some(Segment {
                    start_seconds: start,
                    end_seconds: f64_of(s, "end").unwrap_or(start).max(start),
                    text: text.to_string(),
                    // Whisper reports the mean log-probability of the tokens.
                    confidence: f64_of(s, "avg_logprob").map(|p| p.exp().clamp(0.0, 1.0)),
                    speaker: None,
                    words: Vec::new(),
                })
            })
            .filter(|s| !s.text.is_empty())
            .collect());
    }
    match body.get("text").and_then(Value::as_str) {
        Some(t) if t.trim().is_empty() => Ok(Vec::new()),
        Some(t) => Ok(vec![Segment {
            start_seconds: 0.0,
            end_seconds: 0.0,
            text: t.trim().into(),
            confidence: None,
            speaker: None,
            words: Vec::new(),
        }]),
        None => Err(SttError::BadAnswer("no segments or text".into())),
    }
}

#[async_trait]
impl Transcriber for OpenAiCompatible {
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError> {
        let file = Part::bytes(wav)
            .file_name("audio.wav")
            .mime_str("audio/wav")
            .map_err(|e| SttError::Refused(e.to_string()))?;
        let mut form = Form::new()
            .part("file", file)
            .text("model", self.api.model.clone())
            .text("response_format", "verbose_json");
        if let Some(lang) = language.and_then(|l| l.split(['-', '_']).next()).filter(|l| !l.is_empty()) {
            form = form.text("language", lang.to_lowercase());
        }
        let request = self.api.authorized(self.http.post(&self.url).multipart(form));
        let body = http_reply::send(request, super::MAX_ANSWER_BYTES).await?;
        let body: Value = serde_json::from_slice(&body).map_err(|e| SttError::BadAnswer(e.to_string()))?;
        segments(&body)
    }
}
