//! Processing one batch call: claim it, get a transcript (import, or audio → speech to text per channel
//! and piece), analyse it and store the seed's artifacts, publishing `call_update` at each stage.
//! Failures say whether trying again can help.

use super::digest::digest;
use super::record::{BatchCall, BatchStatus};
use super::service::{BatchService, GLOSSARY_KEY, output_key, parse_transcript};
use crate::analysis::engine::{Analysis, AnalysisInput, analyze};
use crate::analysis::glossary;
use crate::analysis::llm;
use crate::analysis::llm_prompt::{Prompt, PromptInput};
use crate::audio::{self, AudioError};
use crate::ports::{StoreError, Versioned};
use crate::process::metrics::names::BATCH_STAGE_DURATION;
use crate::realtime::ServiceError;
use crate::speech::transcript::{self, Entry};
use crate::speech::{Segment, SttError};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::watch;

/// Records the time a call spent in `stage` (one of `names::STAGES`).
fn stage_took(stage: &'static str, took: Duration) {
    metrics::histogram!(BATCH_STAGE_DURATION, "stage" => stage).record(took.as_secs_f64());
}

#[derive(Debug, Error)]
pub enum ProcessError {
    /// Trying again later may work (storage or provider trouble).
    #[error("{0}")]
    Retry(String),
    /// The call cannot be processed as it is; it is marked failed with this reason.
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        Self::Retry(e.to_string())
    }
}

impl From<SttError> for ProcessError {
    fn from(e: SttError) -> Self {
        match e {
            SttError::Unavailable(_) => Self::Retry(e.to_string()),
            _ => Self::Permanent(e.to_string()),
        }
    }
}

impl From<AudioError> for ProcessError {
    fn from(e: AudioError) -> Self {
        Self::Permanent(e.to_string())
    }
}

impl From<ServiceError> for ProcessError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(s) => s.into(),
            other => Self::Permanent(other.to_string()),
        }
    }
}

/// What became of a processing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    Completed,
    /// Nothing to do: the call is gone or already finished.
    Skipped,
}

/// A claimed call and the version its next save must match.
struct Claim {
    call: BatchCall,
    version: u64,
}

impl BatchService {
    async fn stage(&self, claim: &mut Claim, stage: &str, progress: u8, meta: Value) -> Result<(), ProcessError> {
        claim.call.advance(BatchStatus::Processing, stage, progress, self.now());
        if !self.ports.store.save_batch_call(&claim.call, claim.version).await? {
            return Err(ProcessError::Retry(format!("call {} was changed by someone else", claim.call.id)));
        }
        claim.version += 1;
        self.announce(&claim.call, meta).await;
        Ok(())
    }

    /// Takes the call for processing unless it is finished. A `processing` call is taken too: its job came
    /// back, so the worker that had it died or gave up. Two workers holding one call cannot both finish:
    /// every save is conditional on the version the saver last wrote.
    async fn claim(&self, id: &str) -> Result<Option<Claim>, ProcessError> {
        let Some(Versioned { value: mut call, version }) = self.ports.store.get_batch_call(id).await? else {
            return Ok(None);
        };
        if matches!(call.status, BatchStatus::Completed | BatchStatus::Failed) {
            return Ok(None);
        }
        call.attempts += 1;
        let attempt = json!({"attempt": call.attempts});
        let mut claim = Claim { call, version };
        self.stage(&mut claim, "processing", 10, attempt).await?;
        Ok(Some(claim))
    }

    /// Processes call `id`; on a permanent failure the call is marked failed before the error returns.
    pub async fn process(&self, id: &str) -> Result<Processed, ProcessError> {
        let Some(mut claim) = self.claim(id).await? else { return Ok(Processed::Skipped) };
        match self.run_pipeline(&mut claim).await {
            Ok(()) => Ok(Processed::Completed),
            Err(ProcessError::Permanent(reason)) => {
                self.mark_failed(id, &reason).await?;
                Err(ProcessError::Permanent(reason))
            }
            Err(retry) => {
                tracing::warn!(call_id = %id, error = %retry, "batch call will be retried");
                // Back to the queue with the reason showing; a worker that lost the call to another
                // changes nothing here (its version is stale).
                claim.call.advance(BatchStatus::Queued, "retrying", 0, self.now());
                claim.call.error_message = Some(retry.to_string());
                if self.ports.store.save_batch_call(&claim.call, claim.version).await.unwrap_or(false) {
                    self.announce(&claim.call, json!({})).await;
                }
                Err(retry)
            }
        }
    }

    /// Marks the call failed with `reason` (also used when retries run out) and tells its followers.
    pub async fn mark_failed(&self, id: &str, reason: &str) -> Result<(), StoreError> {
        for _ in 0..5 {
            let Some(Versioned { value: mut call, version }) = self.ports.store.get_batch_call(id).await? else {
                return Ok(());
            };
            call.fail(reason, self.now());
            if self.ports.store.save_batch_call(&call, version).await? {
                tracing::warn!(call_id = %id, reason, "batch call failed");
                self.announce(&call, json!({})).await;
                return Ok(());
            }
        }
        Err(StoreError::Backend(format!("could not mark call {id} failed: it keeps changing")))
    }

    async fn run_pipeline(&self, claim: &mut Claim) -> Result<(), ProcessError> {
        let (entries, duration) = match claim.call.transcript_key.clone() {
            Some(key) => {
                let bytes = self
                    .ports
                    .blobs
                    .get(&key)
                    .await?
                    .ok_or_else(|| ProcessError::Permanent("The uploaded transcript is missing".into()))?;
                let entries = parse_transcript(&bytes)?;
                let spoken = entries.iter().map(|e| e.end_time_seconds).fold(0.0, f64::max);
                let duration = self.audio_duration(&claim.call).await?.or((spoken > 0.0).then_some(spoken));
                (entries, duration)
            }
            None => self.transcribe(claim).await?,
        };
        claim.call.duration_seconds = duration;
        let id = claim.call.id.clone();
        let storing = Instant::now();
        self.put_text(&id, "transcript.json", &transcript::to_json(&entries, self.now()).to_string()).await?;
        self.put_text(&id, "transcript.txt", &transcript::to_text(&entries)).await?;
        let cleaned = self.config.cleanup.apply(&entries);
        self.put_text(&id, "analysis_input.txt", &transcript::to_text(&cleaned)).await?;
        let mut stored = storing.elapsed();
        self.stage(claim, "analysis_start", 80, json!({"segments": cleaned.len()})).await?;
        let analysing = Instant::now();
        let glossary = self.glossary(&claim.call).await?;
        let mut analysis = analyze(&AnalysisInput {
            entries: &cleaned,
            duration_seconds: duration,
            prompt_pack: &claim.call.options.prompt_pack,
            glossary: &glossary,
            tags: &self.config.tags,
        });
        self.enrich(&claim.call, &cleaned, &glossary, &mut analysis).await?;
        stage_took("analyse", analysing.elapsed());
        let storing = Instant::now();
        self.put_text(&id, "analysis.json", &analysis.analysis.to_string()).await?;
        self.put_text(&id, "summary.json", &analysis.summary.to_string()).await?;
        self.put_text(&id, "qa.json", &analysis.qa.to_string()).await?;
        stored += storing.elapsed();
        stage_took("store", stored);
        self.stage(claim, "analysis_complete", 95, json!({})).await?;
        claim.call.digest = Some(digest(&analysis.analysis));
        claim.call.error_message = None; // an earlier attempt's reason no longer applies
        claim.call.advance(BatchStatus::Completed, "completed", 100, self.now());
        if !self.ports.store.save_batch_call(&claim.call, claim.version).await? {
            return Err(ProcessError::Retry(format!("call {id} was changed by someone else")));
        }
        self.announce(&claim.call, json!({})).await;
        tracing::info!(call_id = %id, entries = entries.len(), "batch call completed");
        Ok(())
    }

    /// Lets the LLM (when configured) replace the summary, topics, actions, Q&A and resolution. Its
    /// failure never fails the call: the embedded analysis stays, with the failure noted in it.
    async fn enrich(
        &self,
        call: &BatchCall,
        entries: &[Entry],
        glossary: &[String],
        a: &mut Analysis,
    ) -> Result<(), StoreError> {
        let Some(llm) = &self.llm else { return Ok(()) };
        let model = llm.settings().api.model.clone();
        let prompt = Prompt::new(&PromptInput {
            entries,
            prompt_pack: &call.options.prompt_pack,
            glossary,
            context: call.options.prompt.as_deref(),
            max_transcript_chars: llm.settings().max_transcript_chars,
        });
        match llm.complete(&prompt).await {
            Ok((reply, raw)) => {
                llm::enrich(&mut a.analysis, &mut a.summary, &mut a.qa, &reply, &model);
                self.put_text(&call.id, "analysis_raw.txt", &raw).await?;
            }
            Err(e) => {
                tracing::warn!(call_id = %call.id, error = %e, "LLM enrichment failed; keeping the embedded analysis");
                llm::note_failure(&mut a.analysis, &model, &e);
            }
        }
        Ok(())
    }

    async fn put_text(&self, id: &str, name: &str, text: &str) -> Result<(), StoreError> {
        self.ports.blobs.put(&output_key(id, name), text.as_bytes().to_vec()).await
    }

    /// The call's terms merged with the glossary file's.
    async fn glossary(&self, call: &BatchCall) -> Result<Vec<String>, ProcessError> {
        let file = match self.ports.blobs.get(GLOSSARY_KEY).await? {
            Some(bytes) => glossary::parse_file(&String::from_utf8_lossy(&bytes)).unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(glossary::merge(&glossary::split_terms(&call.options.glossary_terms), &file, &self.config.glossary_fallback))
    }

    /// The length of the call's audio, when it has audio beside an uploaded transcript (read from the
    /// header where the format has one); `None` without audio or when it cannot be read.
    async fn audio_duration(&self, call: &BatchCall) -> Result<Option<f64>, StoreError> {
        if call.upload_key.is_empty() {
            return Ok(None);
        }
        let Some(bytes) = self.ports.blobs.get(&call.upload_key).await? else { return Ok(None) };
        let (filename, cfg) = (call.filename.clone(), self.audio.clone());
        let probed = tokio::task::spawn_blocking(move || audio::probe_duration(&bytes, Some(&filename), &cfg)).await;
        Ok(probed.ok().and_then(Result::ok))
    }

    /// Decodes the upload and transcribes each speaker's pieces; returns the entries in time order and
    /// the duration.
    async fn transcribe(&self, claim: &mut Claim) -> Result<(Vec<Entry>, Option<f64>), ProcessError> {
        let bytes = self
            .ports
            .blobs
            .get(&claim.call.upload_key)
            .await?
            .ok_or_else(|| ProcessError::Permanent("The uploaded audio is missing".into()))?;
        let (filename, cfg) = (claim.call.filename.clone(), self.audio.clone());
        let decoding = Instant::now();
        let prepared = tokio::task::spawn_blocking(move || audio::prepare(&bytes, Some(&filename), &cfg))
            .await
            .map_err(|e| ProcessError::Retry(format!("audio preparation stopped: {e}")))??;
        stage_took("decode", decoding.elapsed());
        let total: usize = prepared.tracks.iter().map(|t| t.pieces.len()).sum();
        self.stage(claim, "chunking_complete", 10, json!({"chunks": total, "tracks": prepared.tracks.len()})).await?;
        let language = (!claim.call.options.language_code.is_empty()).then(|| claim.call.options.language_code.clone());
        let mut entries = Vec::new();
        let mut done = 0;
        let transcribing = Instant::now();
        for track in prepared.tracks {
            for piece in track.pieces {
                let meta = json!({"chunk": done + 1, "total_chunks": total});
                self.stage(claim, "transcription_start", progress(done as f32, total), meta.clone()).await?;
                let segments = self.transcribe_piece(claim, piece.wav, language.as_deref(), done, total).await?;
                entries.extend(segments.into_iter().filter(|s| !s.text.trim().is_empty()).map(|s| Entry {
                    speaker_id: track.speaker.clone().or(s.speaker).unwrap_or_else(|| "speaker".into()),
                    start_time_seconds: piece.offset_seconds + s.start_seconds.max(0.0),
                    end_time_seconds: piece.offset_seconds + s.end_seconds.max(s.start_seconds).max(0.0),
                    transcript: s.text.trim().to_string(),
                    confidence: s.confidence,
                }));
                done += 1;
                self.stage(claim, "transcription_progress", progress(done as f32, total), meta).await?;
            }
        }
        stage_took("transcribe", transcribing.elapsed());
        entries.sort_by(|a, b| a.start_time_seconds.total_cmp(&b.start_time_seconds));
        Ok((entries, Some(prepared.duration_seconds)))
    }

    /// Transcribes piece `done` (of `total`), publishing what the provider reports of its progress inside
    /// the piece as `transcription_progress` whenever the call's percentage moves (at most 60 times a call).
    async fn transcribe_piece(
        &self,
        claim: &mut Claim,
        wav: Vec<u8>,
        language: Option<&str>,
        done: usize,
        total: usize,
    ) -> Result<Vec<Segment>, ProcessError> {
        let (report, mut reported) = watch::channel(0.0);
        let transcription = self.ports.stt.transcribe_reporting(wav, language, report);
        tokio::pin!(transcription);
        let mut shown = progress(done as f32, total);
        loop {
            tokio::select! {
                segments = &mut transcription => return Ok(segments?),
                Ok(()) = reported.changed() => {
                    let share = *reported.borrow_and_update();
                    let now = progress(done as f32 + share, total);
                    if now > shown {
                        shown = now;
                        let meta = json!({"chunk": done + 1, "total_chunks": total, "chunk_progress": share});
                        self.stage(claim, "transcription_progress", now, meta).await?;
                    }
                }
            }
        }
    }
}

/// The seed's transcription progress: 10 + done/total · 60, `done` counting pieces and parts of one.
fn progress(done: f32, total: usize) -> u8 {
    (10.0 + done.clamp(0.0, total as f32) * 60.0 / total.max(1) as f32) as u8
}
