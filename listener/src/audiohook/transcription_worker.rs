//! The live transcription pool's workers: each takes the oldest queued utterance, sheds it when it has
//! waited past the bound (its transcript would come too late to be of use, and decoding it would make
//! every later one later still), and otherwise asks the provider, with brief retries while it is
//! unavailable. Oldest first: a session's transcripts are released in utterance order, so a newer utterance
//! served first would wait in the ledger for the older ones anyway; served in order and shed by age, every
//! transcript's wait is bounded.

use super::media::RATE;
use super::transcription::{Job, LiveStats, span};
use super::transcripts::Outcome;
use futures_util::FutureExt;
use shared::process::metrics::names::{LIVE_DROPPED, LIVE_LATENCY};
use shared::realtime::live_audio::AudioFormat;
use shared::speech::{Segment, SttError, Transcriber};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// First pause before retrying an unavailable provider (doubled for the second retry): live results are
/// worth little late, so retries are few and brief.
const RETRY_DELAY: Duration = Duration::from_millis(300);

#[derive(Clone, Copy)]
pub(super) struct Policy {
    pub retries: u32,
    pub timeout: Duration,
    /// How long an utterance may wait for a worker before it is shed rather than transcribed.
    pub max_wait: Duration,
}

/// An utterance dropped instead of transcribed.
pub(super) fn dropped(stats: &LiveStats) {
    stats.dropped.fetch_add(1, Ordering::Relaxed);
    metrics::counter!(LIVE_DROPPED).increment(1);
}

/// Audio left without transcript.
pub(super) fn lost(stats: &LiveStats, samples: usize) {
    stats.gap_ms.fetch_add(samples as u64 * 1000 / u64::from(RATE), Ordering::Relaxed);
}

pub(super) async fn work(
    jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    transcriber: Arc<dyn Transcriber>,
    stats: Arc<LiveStats>,
    policy: Policy,
    stopping: watch::Receiver<bool>,
) {
    loop {
        let Some(job) = jobs.lock().await.recv().await else { return };
        // Nothing restarts a worker, so a panic in one job (the provider's client, the ledger) is caught
        // here: the job is lost and counted, and the worker goes on with the next.
        let outcome = AssertUnwindSafe(outcome(transcriber.as_ref(), &job, &stats, policy, &stopping))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| panicked(&stats));
        if matches!(outcome, Outcome::Lost(_)) {
            lost(&stats, job.utterance.samples.len());
        }
        let settle = || job.session.send(|l| l.settle(job.seq, span(&job.utterance), outcome));
        if std::panic::catch_unwind(AssertUnwindSafe(settle)).is_err() {
            panicked(&stats);
        }
    }
}

fn panicked(stats: &LiveStats) -> Outcome {
    stats.panics.fetch_add(1, Ordering::Relaxed);
    tracing::error!("live transcription: a job panicked; its utterance is lost, the worker goes on");
    Outcome::Lost("panic")
}

/// One job's result: transcribed, failed, or dropped because it waited too long or the service is stopping.
async fn outcome(
    transcriber: &dyn Transcriber,
    job: &Job,
    stats: &LiveStats,
    policy: Policy,
    stopping: &watch::Receiver<bool>,
) -> Outcome {
    if *stopping.borrow() {
        dropped(stats);
        return Outcome::Lost("stopping");
    }
    if job.queued_at.elapsed() > policy.max_wait {
        dropped(stats);
        return Outcome::Lost("stale");
    }
    stats.busy.fetch_add(1, Ordering::Relaxed);
    let result = AssertUnwindSafe(transcribe(transcriber, job, policy, stopping)).catch_unwind().await;
    stats.busy.fetch_sub(1, Ordering::Relaxed);
    match result {
        Err(_) => panicked(stats),
        Ok(Ok(segments)) => {
            stats.transcribed.fetch_add(1, Ordering::Relaxed);
            metrics::histogram!(LIVE_LATENCY).record(job.queued_at.elapsed().as_secs_f64());
            Outcome::Transcribed(segments)
        }
        Ok(Err(e)) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "live transcription: utterance not transcribed");
            *stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            Outcome::Lost(reason(&e))
        }
    }
}

fn reason(e: &SttError) -> &'static str {
    match e {
        SttError::NotConfigured => "not_configured",
        SttError::Unavailable(_) => "unavailable",
        SttError::Refused(_) => "refused",
        SttError::BadAnswer(_) => "bad_answer",
        SttError::Engine(_) => "engine",
    }
}

/// One utterance as a mono WAV at the session's rate (whisper-style APIs resample themselves), with a
/// couple of brief retries while the provider is unavailable.
async fn transcribe(
    t: &dyn Transcriber,
    job: &Job,
    policy: Policy,
    stopping: &watch::Receiver<bool>,
) -> Result<Vec<Segment>, SttError> {
    let pcm: Vec<u8> = job.utterance.samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let wav = shared::audio::wav::encode(&AudioFormat { sample_rate: RATE, channels: 1, sample_width: 2 }, &pcm);
    let language = job.language.as_deref();
    let mut attempt = 0;
    loop {
        let result = tokio::time::timeout(policy.timeout, t.transcribe(wav.clone(), language)).await;
        match result.unwrap_or_else(|_| Err(SttError::Unavailable(format!("no answer in {:?}", policy.timeout)))) {
            Err(SttError::Unavailable(_)) if attempt < policy.retries && !*stopping.borrow() => {
                attempt += 1;
                tokio::time::sleep(RETRY_DELAY * attempt).await;
            }
            done => return done,
        }
    }
}
