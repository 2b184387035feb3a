//! Every provider's requests timed and their failures counted, by provider, in one place: the providers
//! stay about their protocols, and a new one is measured by being built through `SttConfig`.

use super::{Progress, Segment, SttError, Transcriber};
use crate::process::metrics::names::{STT_DURATION, STT_FAILURES};
use async_trait::async_trait;
use std::time::Instant;

/// A provider, measured under `provider` (`SttConfig::provider`).
pub struct Measured<T: ?Sized> {
    pub provider: &'static str,
    pub inner: Box<T>,
}

impl<T: Transcriber + ?Sized> Measured<T> {
    fn note(&self, started: Instant, result: &Result<Vec<Segment>, SttError>) {
        metrics::histogram!(STT_DURATION, "provider" => self.provider).record(started.elapsed().as_secs_f64());
        if result.is_err() {
            metrics::counter!(STT_FAILURES, "provider" => self.provider).increment(1);
        }
    }
}

#[async_trait]
impl<T: Transcriber + ?Sized> Transcriber for Measured<T> {
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError> {
        let started = Instant::now();
        let result = self.inner.transcribe(wav, language).await;
        self.note(started, &result);
        result
    }

    async fn transcribe_reporting(
        &self,
        wav: Vec<u8>,
        language: Option<&str>,
        progress: Progress,
    ) -> Result<Vec<Segment>, SttError> {
        let started = Instant::now();
        let result = self.inner.transcribe_reporting(wav, language, progress).await;
        self.note(started, &result);
        result
    }

    fn languages(&self) -> Option<Vec<String>> {
        self.inner.languages()
    }

    fn runs_at_once(&self) -> Option<usize> {
        self.inner.runs_at_once()
    }
}
