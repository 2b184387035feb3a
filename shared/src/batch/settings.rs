//! Batch settings from the environment (seed names where the seed had them) and the upload form's fields
//! validated against them (with limits the seed lacked: docs/changes-from-seed.md, "Input bounds").

use super::record::CallOptions;
use crate::analysis::tags::TagRules;
use crate::settings::env::{self, EnvError, EnvSource};
use crate::speech::transcript::Cleanup;
use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;

pub const PROMPT_PACKS: [&str; 4] = ["general", "sales", "support", "collections"];
const MAX_PROMPT_CHARS: usize = 4_000;
const MAX_GLOSSARY_CHARS: usize = 8_000;
const MAX_SPEAKERS: u32 = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct BatchConfig {
    /// `LANGUAGE_CODE` (en-IN).
    pub language_code: String,
    /// The model recorded on calls that name none: `STT_MODEL`, else `SARVAM_STT_MODEL`, else empty.
    pub stt_model: String,
    /// `PROMPT_PACK` (general).
    pub prompt_pack: String,
    /// `GLOSSARY_TERMS`: used when neither the call nor the glossary file has terms.
    pub glossary_fallback: String,
    /// `BATCH_MAX_ATTEMPTS` (5): processing attempts before a call fails (the queue's receive limit).
    pub max_attempts: u32,
    /// `BATCH_JOB_TIMEOUT_SECONDS` (900): a job's lease; renewed while it runs, so only a crashed worker's
    /// job waits this long to be taken up again.
    pub lease: Duration,
    /// `WORKER_CONCURRENCY` (2): jobs one local worker runs at once.
    pub concurrency: usize,
    /// `BATCH_LIST_LIMIT` (5000): newest calls the dashboard considers.
    pub list_limit: usize,
    pub tags: TagRules,
    pub cleanup: Cleanup,
}

impl BatchConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let pack = env::string(e, "PROMPT_PACK").unwrap_or_else(|| "general".into()).to_lowercase();
        if !PROMPT_PACKS.contains(&pack.as_str()) {
            return Err(EnvError {
                name: "PROMPT_PACK".into(),
                value: pack,
                expected: "general, sales, support or collections",
            });
        }
        Ok(Self {
            language_code: env::string(e, "LANGUAGE_CODE").unwrap_or_else(|| "en-IN".into()),
            stt_model: env::string(e, "STT_MODEL").or_else(|| env::string(e, "SARVAM_STT_MODEL")).unwrap_or_default(),
            prompt_pack: pack,
            glossary_fallback: env::string(e, "GLOSSARY_TERMS").unwrap_or_default(),
            max_attempts: env::parsed(e, "BATCH_MAX_ATTEMPTS", 5u32, "whole number")?.max(1),
            lease: Duration::from_secs(
                env::parsed(e, "BATCH_JOB_TIMEOUT_SECONDS", 900u64, "whole number")?.clamp(5, 43_200),
            ),
            concurrency: env::parsed(e, "WORKER_CONCURRENCY", 2usize, "whole number")?.clamp(1, 64),
            list_limit: env::parsed(e, "BATCH_LIST_LIMIT", 5_000usize, "whole number")?.clamp(1, 100_000),
            tags: TagRules::from_env(e)?,
            cleanup: Cleanup::from_env(e)?,
        })
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("{0} is too long")]
    TooLong(&'static str),
    #[error("num_speakers must be a whole number from 1 to {MAX_SPEAKERS}")]
    Speakers,
    #[error("{0} may only hold letters, digits and . _ - : /")]
    Charset(&'static str),
}

fn code(name: &'static str, v: &str, max: usize) -> Result<String, FieldError> {
    let v = v.trim();
    if v.len() > max {
        return Err(FieldError::TooLong(name));
    }
    if !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/')) {
        return Err(FieldError::Charset(name));
    }
    Ok(v.to_string())
}

fn bounded(name: &'static str, v: &str, max: usize) -> Result<String, FieldError> {
    if v.chars().count() > max { Err(FieldError::TooLong(name)) } else { Ok(v.to_string()) }
}

/// The upload form's fields with the seed's defaults: empty language or model → the configured one,
/// an unknown pack → `PROMPT_PACK`, diarization only when asked (`1`, `true`, `yes`, `on`). Unlike the seed,
/// a `num_speakers` that is not a sensible count is refused rather than silently dropped.
pub fn call_options(fields: &HashMap<String, String>, cfg: &BatchConfig) -> Result<CallOptions, FieldError> {
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let or = |v: String, default: &str| if v.is_empty() { default.to_string() } else { v };
    let speakers = match get("num_speakers").trim() {
        "" | "0" => None,
        s => Some(s.parse::<u32>().ok().filter(|n| (1..=MAX_SPEAKERS).contains(n)).ok_or(FieldError::Speakers)?),
    };
    let pack = get("prompt_pack").trim().to_lowercase();
    let prompt = bounded("prompt", get("prompt"), MAX_PROMPT_CHARS)?;
    Ok(CallOptions {
        language_code: or(code("language_code", get("language_code"), 32)?, &cfg.language_code),
        stt_model: or(code("stt_model", get("stt_model"), 128)?, &cfg.stt_model),
        with_diarization: crate::realtime::normalize::flag(get("with_diarization")),
        num_speakers: speakers,
        prompt: (!prompt.trim().is_empty()).then_some(prompt),
        prompt_pack: if PROMPT_PACKS.contains(&pack.as_str()) { pack } else { cfg.prompt_pack.clone() },
        glossary_terms: bounded("glossary_terms", get("glossary_terms"), MAX_GLOSSARY_CHARS)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_seeds_defaults() {
        let cfg = BatchConfig::from_env(&[("STT_MODEL", "whisper-1")]).unwrap();
        let o = call_options(&fields(&[("prompt_pack", "Sales"), ("with_diarization", " ON ")]), &cfg).unwrap();
        assert_eq!((o.language_code.as_str(), o.stt_model.as_str()), ("en-IN", "whisper-1"));
        assert_eq!((o.prompt_pack.as_str(), o.with_diarization, o.num_speakers), ("sales", true, None));
        let o = call_options(&fields(&[("prompt_pack", "poetry"), ("num_speakers", "2")]), &cfg).unwrap();
        assert_eq!((o.prompt_pack.as_str(), o.with_diarization, o.num_speakers), ("general", false, Some(2)));
    }

    #[test]
    fn bad_fields_are_refused() {
        let cfg = BatchConfig::from_env(&[]).unwrap();
        assert_eq!(call_options(&fields(&[("num_speakers", "many")]), &cfg), Err(FieldError::Speakers));
        assert_eq!(call_options(&fields(&[("num_speakers", "500")]), &cfg), Err(FieldError::Speakers));
        assert_eq!(
            call_options(&fields(&[("language_code", "en<script>")]), &cfg),
            Err(FieldError::Charset("language_code"))
        );
        let long = "x".repeat(MAX_PROMPT_CHARS + 1);
        assert_eq!(call_options(&fields(&[("prompt", &long)]), &cfg), Err(FieldError::TooLong("prompt")));
        assert!(BatchConfig::from_env(&[("PROMPT_PACK", "poetry")]).is_err());
    }
}
