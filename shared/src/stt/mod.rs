//! Speech to text behind one trait, chosen by configuration (`STT_PROVIDER`): an OpenAI-compatible
//! `/v1/audio/transcriptions` endpoint (OpenAI, Groq, self-hosted whisper servers) or none, in which case a
//! call fails with a clear reason. Providers take one mono WAV (one channel of a call) and return timed
//! segments; the batch worker assigns speakers from the channel.

mod openai;

pub use openai::OpenAiCompatible;

use crate::env::{self, EnvError, EnvSource};
use async_trait::async_trait;
use std::time::Duration;
use thiserror::Error;

/// A timed piece of recognised speech.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub text: String,
    /// 0–1 when the provider says.
    pub confidence: Option<f64>,
}

#[derive(Debug, Error, PartialEq)]
pub enum SttError {
    #[error("no speech-to-text provider is configured (set STT_PROVIDER)")]
    NotConfigured,
    /// Worth trying again later: network trouble, timeouts, 429 and 5xx.
    #[error("speech-to-text provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused this audio or our credentials; retrying will not help.
    #[error("speech-to-text provider refused the request: {0}")]
    Refused(String),
    #[error("speech-to-text provider answered something unreadable: {0}")]
    BadAnswer(String),
}

#[async_trait]
pub trait Transcriber: Send + Sync {
    /// Transcribes one mono WAV; `language` is a BCP-47 code or ISO 639-1 code when known.
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError>;
}

/// `STT_PROVIDER=none`: every transcription fails with `NotConfigured`.
pub struct NoProvider;

#[async_trait]
impl Transcriber for NoProvider {
    async fn transcribe(&self, _: Vec<u8>, _: Option<&str>) -> Result<Vec<Segment>, SttError> {
        Err(SttError::NotConfigured)
    }
}

/// Provider settings.
#[derive(Debug, Clone, PartialEq)]
pub enum SttConfig {
    None,
    /// `STT_BASE_URL` (https://api.openai.com), `STT_API_KEY`, `STT_MODEL` (whisper-1),
    /// `STT_TIMEOUT_SECONDS` (300).
    OpenAi {
        base_url: String,
        api_key: Option<String>,
        model: String,
        timeout: Duration,
    },
}

impl SttConfig {
    /// `STT_PROVIDER`: `openai` or `none` (the default).
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let provider = env::string(e, "STT_PROVIDER").unwrap_or_else(|| "none".into()).to_lowercase();
        match provider.as_str() {
            "none" => Ok(Self::None),
            "openai" => Ok(Self::OpenAi {
                base_url: env::string(e, "STT_BASE_URL")
                    .unwrap_or_else(|| "https://api.openai.com".into())
                    .trim_end_matches('/')
                    .to_string(),
                api_key: env::string(e, "STT_API_KEY"),
                model: env::string(e, "STT_MODEL").unwrap_or_else(|| "whisper-1".into()),
                timeout: Duration::from_secs_f64(env::float(e, "STT_TIMEOUT_SECONDS", 300.0)?.clamp(1.0, 3600.0)),
            }),
            _ => Err(EnvError { name: "STT_PROVIDER".into(), value: provider, expected: "openai or none" }),
        }
    }

    pub fn build(&self) -> Result<Box<dyn Transcriber>, SttError> {
        match self {
            Self::None => Ok(Box::new(NoProvider)),
            Self::OpenAi { base_url, api_key, model, timeout } => {
                Ok(Box::new(OpenAiCompatible::new(base_url, api_key.clone(), model, *timeout)?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_settings() {
        assert_eq!(SttConfig::from_env(&[]).unwrap(), SttConfig::None);
        let c = SttConfig::from_env(&[
            ("STT_PROVIDER", "OpenAI"),
            ("STT_BASE_URL", "http://127.0.0.1:9/"),
            ("STT_MODEL", "large-v3"),
        ]);
        assert_eq!(
            c.unwrap(),
            SttConfig::OpenAi {
                base_url: "http://127.0.0.1:9".into(),
                api_key: None,
                model: "large-v3".into(),
                timeout: Duration::from_secs(300)
            }
        );
        assert_eq!(SttConfig::from_env(&[("STT_PROVIDER", "magic")]).unwrap_err().name, "STT_PROVIDER");
    }
}
