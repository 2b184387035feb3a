//! Speech to text behind one trait, chosen by configuration (`STT_PROVIDER`): an OpenAI-compatible
//! `/v1/audio/transcriptions` endpoint (OpenAI, Groq, self-hosted whisper servers), Sarvam's batch jobs
//! (the seed's provider, with diarization), the embedded whisper.cpp engine (feature `whisper`, offline), or
//! none, in which case a call fails with a clear reason.
//! Providers take one WAV and return timed segments; the batch worker assigns speakers from the channel,
//! or from the provider's diarized speaker ids when it gives them.

mod measured;
mod openai;
mod sarvam;
mod sarvam_output;
pub mod transcript;
#[cfg(feature = "whisper")]
mod whisper;
pub mod whisper_model;

pub use openai::OpenAiCompatible;
pub use sarvam::{Sarvam, SarvamSettings};
#[cfg(feature = "whisper")]
pub use whisper::{Whisper, WhisperSettings};

use crate::outbound::http_reply::ReplyError;
pub use crate::outbound::openai_api::OpenAiApi;
use crate::settings::env::{self, EnvError, EnvSource};
use async_trait::async_trait;
use std::sync::Arc;
use thiserror::Error;

/// A timed piece of recognised speech.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub text: String,
    /// 0–1 when the provider says.
    pub confidence: Option<f64>,
    /// The provider's raw diarized speaker id ("0", "1"), when it diarized; the worker maps it to a speaker.
    pub speaker: Option<String>,
    /// The words with their own times, when the provider gives them (the embedded engine does); empty
    /// otherwise. Genesys' Transcription Connector shows them as the transcript's tokens.
    pub words: Vec<Word>,
}

/// One recognised word, timed like its segment (seconds from the start of the audio given).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub text: String,
    /// 0–1: the mean probability of the word's tokens.
    pub confidence: f64,
}

#[cfg(feature = "whisper")]
const PROVIDERS: &str = "openai, sarvam, whisper or none";
#[cfg(not(feature = "whisper"))]
const PROVIDERS: &str = "openai, sarvam or none (whisper needs a build with the `whisper` feature)";

/// Most bytes of one transcription answer read from a provider.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

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
    /// The embedded engine could not load its model or run.
    #[error("speech-to-text engine failed: {0}")]
    Engine(String),
}

impl From<ReplyError> for SttError {
    fn from(e: ReplyError) -> Self {
        match e {
            ReplyError::Transient(why) => Self::Unavailable(why),
            ReplyError::Rejected(why) => Self::Refused(why),
            ReplyError::TooLarge(_) => Self::BadAnswer(e.to_string()),
        }
    }
}

#[async_trait]
pub trait Transcriber: Send + Sync {
    /// Transcribes one mono WAV; `language` is a BCP-47 code or ISO 639-1 code when known.
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError>;

    /// As [`Self::transcribe`], telling `progress` the share of the audio done (0 to 1) as it goes, so a long
    /// piece shows movement. A remote request is all or nothing, so by default nothing is reported.
    async fn transcribe_reporting(
        &self,
        wav: Vec<u8>,
        language: Option<&str>,
        progress: Progress,
    ) -> Result<Vec<Segment>, SttError> {
        drop(progress);
        self.transcribe(wav, language).await
    }

    /// The languages (ISO 639-1 codes such as `en`) this engine recognises, when it knows them: an
    /// English-only whisper model says `["en"]`. `None` for a remote provider, whose list is configured.
    fn languages(&self) -> Option<Vec<String>> {
        None
    }

    /// How many transcriptions this engine runs at once when it bounds them itself (the embedded one: what
    /// the cores serve), so a pool in front of it keeps the rest queued where it can see their age. `None`
    /// for a remote provider, which is bounded by its configured concurrency.
    fn runs_at_once(&self) -> Option<usize> {
        None
    }
}

/// Where a transcription reports how far it has got; dropping the receiver tells an engine that can stop
/// early (the embedded one) that nobody waits for the result any more.
pub type Progress = tokio::sync::watch::Sender<f32>;

/// `STT_PROVIDER=none`: every transcription fails with `NotConfigured`.
pub struct NoProvider;

#[async_trait]
impl Transcriber for NoProvider {
    async fn transcribe(&self, _: Vec<u8>, _: Option<&str>) -> Result<Vec<Segment>, SttError> {
        Err(SttError::NotConfigured)
    }
}

/// Provider settings. `Debug` never shows an API key (configs end up in logs).
#[derive(Debug, Clone, PartialEq)]
pub enum SttConfig {
    None,
    /// `STT_BASE_URL` (https://api.openai.com), `STT_API_KEY`, `STT_MODEL` (whisper-1),
    /// `STT_TIMEOUT_SECONDS` (300).
    OpenAi(OpenAiApi),
    /// `SARVAM_*` and `LANGUAGE_CODE`, see [`SarvamSettings`].
    Sarvam(SarvamSettings),
    /// `WHISPER_MODEL`, `WHISPER_THREADS`, see [`WhisperSettings`].
    #[cfg(feature = "whisper")]
    Whisper(WhisperSettings),
}

impl SttConfig {
    /// `STT_PROVIDER`: `openai`, `sarvam`, `whisper` (with the `whisper` feature) or `none` (the default).
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let provider = env::string(e, "STT_PROVIDER").unwrap_or_else(|| "none".into()).to_lowercase();
        match provider.as_str() {
            "none" => Ok(Self::None),
            "openai" => Ok(Self::OpenAi(OpenAiApi::from_env(e, "STT", "whisper-1", 300.0)?)),
            "sarvam" => Ok(Self::Sarvam(SarvamSettings::from_env(e)?)),
            #[cfg(feature = "whisper")]
            "whisper" => Ok(Self::Whisper(WhisperSettings::required(e)?)),
            _ => Err(EnvError { name: "STT_PROVIDER".into(), value: provider, expected: PROVIDERS }),
        }
    }

    /// The one local process's choice: as [`Self::from_env`], except that with `STT_PROVIDER` unset the
    /// embedded whisper engine is used whenever a model is present, so upload → transcript works with
    /// nothing configured and no audio leaving the machine.
    pub fn local_from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        #[cfg(feature = "whisper")]
        if env::string(e, "STT_PROVIDER").is_none()
            && let Some(settings) = WhisperSettings::from_env(e)?
        {
            return Ok(Self::Whisper(settings));
        }
        Self::from_env(e)
    }

    /// One line for the start-up banner: the provider, the model of the embedded one, and what to do when
    /// there is none.
    pub fn summary(&self) -> String {
        match self {
            Self::None => "none: audio calls fail until a model is installed (`call-analytics models install \
                           tiny.en`) or STT_PROVIDER is set"
                .into(),
            #[cfg(feature = "whisper")]
            Self::Whisper(s) => format!("whisper, offline ({})", s.model.display()),
            other => other.provider().into(),
        }
    }

    /// The `STT_PROVIDER` value that chooses this provider.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::OpenAi(_) => "openai",
            Self::Sarvam(_) => "sarvam",
            #[cfg(feature = "whisper")]
            Self::Whisper(_) => "whisper",
        }
    }

    pub fn build(&self) -> Result<Box<dyn Transcriber>, SttError> {
        let inner: Box<dyn Transcriber> = match self {
            Self::None => return Ok(Box::new(NoProvider)),
            Self::OpenAi(api) => Box::new(OpenAiCompatible::new(api.clone())?),
            Self::Sarvam(settings) => Box::new(Sarvam::new(settings.clone())?),
            #[cfg(feature = "whisper")]
            Self::Whisper(settings) => Box::new(Whisper::load(settings)?),
        };
        Ok(self.measured(inner))
    }

    /// The provider for live utterances alone (the `listener` process): the embedded engine's live handle
    /// (see [`Whisper::alongside`]: a window sized to each utterance), any other provider as [`Self::build`].
    pub fn build_live(&self) -> Result<Box<dyn Transcriber>, SttError> {
        #[cfg(feature = "whisper")]
        if let Self::Whisper(settings) = self {
            return Ok(self.measured(Box::new(Whisper::load(settings)?.alongside())));
        }
        self.build()
    }

    /// `inner` with its requests timed and failures counted under this provider's name.
    fn measured<T: Transcriber + ?Sized + 'static>(&self, inner: Box<T>) -> Box<dyn Transcriber> {
        Box::new(measured::Measured { provider: self.provider(), inner })
    }

    /// One provider for batch calls and one for live utterances, built once: the same object, except that
    /// the embedded engine gives live work its own handle on the one loaded model (see
    /// [`Whisper::alongside`]), so a live transcript never waits for a batch piece to finish.
    pub fn build_batch_and_live(&self) -> Result<BatchAndLive, SttError> {
        #[cfg(feature = "whisper")]
        if let Self::Whisper(settings) = self {
            let batch = Whisper::load(settings)?;
            let live = batch.alongside();
            let (batch, live) = (self.measured(Box::new(batch)), self.measured(Box::new(live)));
            return Ok(BatchAndLive { batch: Arc::from(batch), live: Arc::from(live) });
        }
        let shared: Arc<dyn Transcriber> = Arc::from(self.build()?);
        Ok(BatchAndLive { batch: shared.clone(), live: shared })
    }
}

/// See [`SttConfig::build_batch_and_live`].
pub struct BatchAndLive {
    pub batch: Arc<dyn Transcriber>,
    pub live: Arc<dyn Transcriber>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
            SttConfig::OpenAi(OpenAiApi {
                base_url: "http://127.0.0.1:9".into(),
                api_key: None,
                model: "large-v3".into(),
                timeout: Duration::from_secs(300)
            })
        );
        assert_eq!(SttConfig::from_env(&[("STT_PROVIDER", "magic")]).unwrap_err().name, "STT_PROVIDER");
        let keyed = SttConfig::from_env(&[("STT_PROVIDER", "openai"), ("STT_API_KEY", "sk-secret")]).unwrap();
        assert!(!format!("{keyed:?}").contains("sk-secret"), "{keyed:?}");
    }

    #[test]
    fn sarvam_settings() {
        let missing = SttConfig::from_env(&[("STT_PROVIDER", "sarvam")]).unwrap_err();
        assert_eq!(missing.name, "SARVAM_API_KEY", "a clear error, not a failing call later");
        let SttConfig::Sarvam(s) =
            SttConfig::from_env(&[("STT_PROVIDER", "sarvam"), ("SARVAM_API_KEY", "sk-1")]).unwrap()
        else {
            panic!("sarvam expected")
        };
        assert_eq!(
            (s.base_url.as_str(), s.model.as_str(), s.language_code.as_str()),
            ("https://api.sarvam.ai", "saaras:v2.5", "en-IN")
        );
        assert_eq!((s.diarization, s.num_speakers, s.poll_interval), (true, None, Duration::from_secs(5)));
        assert!(!format!("{s:?}").contains("sk-1"), "the key never reaches Debug output");
        let bad = [("STT_PROVIDER", "sarvam"), ("SARVAM_API_KEY", "k"), ("SARVAM_NUM_SPEAKERS", "40")];
        assert_eq!(SttConfig::from_env(&bad).unwrap_err().name, "SARVAM_NUM_SPEAKERS");
        let off = [
            ("STT_PROVIDER", "sarvam"),
            ("SARVAM_API_KEY", "k"),
            ("SARVAM_DIARIZATION", "false"),
            ("SARVAM_NUM_SPEAKERS", "2"),
        ];
        let SttConfig::Sarvam(s) = SttConfig::from_env(&off).unwrap() else { panic!("sarvam expected") };
        assert_eq!((s.diarization, s.num_speakers), (false, Some(2)));
    }
}
