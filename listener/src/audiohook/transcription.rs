//! Live transcription of AudioHook calls: each session's utterances (cut by `utterances`) go to a bounded
//! queue served by a few workers that call the speech-to-text provider, and the results travel as events on
//! the session's forwarding stream, so they survive ingest outages like the audio. Audio intake never waits
//! on the provider: when the queue is full an utterance is dropped, counted and reported as a gap.

use super::config::ConfigError;
use super::connector_events;
use super::media::{Frames, RATE};
use super::replies::Reply;
use super::transcripts::{Ledger, Outcome, SessionInfo, Span};
use super::utterances::{CutterSettings, Utterance, UtteranceCutter};
use crate::forward::Outgoing;
use futures_util::FutureExt;
use serde_json::{Map, Value, json};
use shared::process::metrics::names::{LIVE_DROPPED, LIVE_LATENCY};
use shared::realtime::live_audio::AudioFormat;
use shared::settings::env::{self, EnvSource};
use shared::speech::{Segment, SttConfig, SttError, Transcriber};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

/// First pause before retrying an unavailable provider (doubled for the second retry): live results are
/// worth little late, so retries are few and brief.
const RETRY_DELAY: Duration = Duration::from_millis(300);

/// Live transcription settings.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// `LIVE_TRANSCRIPTION_ENABLED` (true when `STT_PROVIDER` is not `none`).
    pub enabled: bool,
    pub stt: SttConfig,
    pub cutter: CutterSettings,
    /// `LIVE_TRANSCRIPTION_QUEUE` (64, 1–10000): utterances waiting for a worker, over all sessions.
    pub queue: usize,
    /// `LIVE_TRANSCRIPTION_CONCURRENCY` (4, 1–64): requests to the provider at once.
    pub concurrency: usize,
    /// `LIVE_TRANSCRIPTION_RETRIES` (2, at most 5): retries of an unavailable provider per utterance.
    pub retries: u32,
    /// `LIVE_TRANSCRIPTION_TIMEOUT_SECONDS` (20): one request's limit; also how long the end of a call
    /// waits for its last transcripts before `call_end` is sent.
    pub timeout: Duration,
}

impl LiveConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, ConfigError> {
        // Switched off, the provider's settings are not read at all: a batch-only provider (Sarvam with its
        // key given to the batch worker alone) must not stop the listener from starting.
        const ENABLED: &str = "LIVE_TRANSCRIPTION_ENABLED";
        let asked = env::string(e, ENABLED).map(|_| env::parsed(e, ENABLED, false, "true or false")).transpose()?;
        let stt = if asked == Some(false) { SttConfig::None } else { SttConfig::from_env(e)? };
        let enabled = asked.unwrap_or(stt != SttConfig::None);
        if enabled && stt == SttConfig::None {
            return Err(ConfigError::NoSttProvider);
        }
        let d = CutterSettings::default();
        let whole = |name, default| env::parsed(e, name, default, "whole number");
        Ok(Self {
            enabled,
            stt,
            cutter: CutterSettings {
                start_frames: env::parsed(e, "LIVE_TRANSCRIPTION_START_FRAMES", d.start_frames, "whole number")?,
                hangover_ms: whole("LIVE_TRANSCRIPTION_HANGOVER_MS", d.hangover_ms)?,
                min_ms: whole("LIVE_TRANSCRIPTION_MIN_UTTERANCE_MS", d.min_ms)?,
                max_ms: whole("LIVE_TRANSCRIPTION_MAX_UTTERANCE_MS", d.max_ms)?,
                pre_roll_ms: whole("LIVE_TRANSCRIPTION_PRE_ROLL_MS", d.pre_roll_ms)?,
                min_rms: env::float(e, "LIVE_TRANSCRIPTION_MIN_RMS", d.min_rms)?,
            },
            queue: env::parsed(e, "LIVE_TRANSCRIPTION_QUEUE", 64usize, "whole number")?.clamp(1, 10_000),
            concurrency: env::parsed(e, "LIVE_TRANSCRIPTION_CONCURRENCY", 4usize, "whole number")?.clamp(1, 64),
            retries: env::parsed(e, "LIVE_TRANSCRIPTION_RETRIES", 2u32, "whole number")?.min(5),
            timeout: Duration::from_secs_f64(
                env::float(e, "LIVE_TRANSCRIPTION_TIMEOUT_SECONDS", 20.0)?.clamp(1.0, 300.0),
            ),
        })
    }
}

/// Counters for the heartbeat.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub utterances: AtomicU64,
    pub transcribed: AtomicU64,
    /// Utterances dropped because the queue was full (or the service was stopping).
    pub dropped: AtomicU64,
    /// Utterances the provider did not transcribe after the retries.
    pub failures: AtomicU64,
    /// Audio left without transcript, in milliseconds.
    pub gap_ms: AtomicU64,
    /// Jobs that panicked (caught: the worker goes on).
    pub panics: AtomicU64,
    busy: AtomicU64,
    /// The provider's last error: its status and message, never the key or URL.
    pub last_error: Mutex<Option<String>>,
}

struct Job {
    seq: u64,
    utterance: Utterance,
    /// When the utterance ended and was queued: its transcript's latency runs from here.
    queued_at: Instant,
    /// The conversation's language when the utterance ended.
    language: Option<String>,
    session: Arc<Shared>,
    /// Dropped when the job is done: the session waits for all of them at its end.
    _pending: mpsc::Sender<()>,
}

/// The worker pool, shared by every session of the service.
pub struct LiveTranscription {
    jobs: mpsc::Sender<Job>,
    cutter: CutterSettings,
    timeout: Duration,
    pub stats: Arc<LiveStats>,
}

impl LiveTranscription {
    /// Starts `cfg.concurrency` workers; they stop once this and every session are gone. While `stopping`
    /// is true, queued utterances are dropped rather than sent.
    pub fn start(transcriber: Arc<dyn Transcriber>, cfg: &LiveConfig, stopping: watch::Receiver<bool>) -> Arc<Self> {
        let (jobs, rx) = mpsc::channel(cfg.queue.max(1));
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let stats = Arc::new(LiveStats::default());
        let policy = Policy { retries: cfg.retries, timeout: cfg.timeout };
        for _ in 0..cfg.concurrency.max(1) {
            tokio::spawn(work(rx.clone(), transcriber.clone(), stats.clone(), policy, stopping.clone()));
        }
        Arc::new(Self { jobs, cutter: cfg.cutter, timeout: cfg.timeout, stats })
    }

    /// Utterances waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// The heartbeat's view: counters, queue depth and busy workers.
    pub fn counters(&self) -> Map<String, Value> {
        let s = &self.stats;
        let n = |c: &AtomicU64| Value::from(c.load(Ordering::Relaxed));
        let fields = [
            ("utterances", n(&s.utterances)),
            ("transcribed", n(&s.transcribed)),
            ("transcription_dropped", n(&s.dropped)),
            ("transcription_failures", n(&s.failures)),
            ("transcription_panics", n(&s.panics)),
            ("transcription_gap_seconds", json!(s.gap_ms.load(Ordering::Relaxed) as f64 / 1000.0)),
            ("queue_depth", json!(self.queue_depth())),
            ("busy_workers", n(&s.busy)),
            ("last_transcription_error", json!(*s.last_error.lock().unwrap_or_else(|p| p.into_inner()))),
        ];
        fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// A session's transcription; its events go to `out`, the session's forwarding stream, and for a
    /// Transcription Connector also back to the client.
    pub fn session(
        self: &Arc<Self>,
        info: SessionInfo,
        channels: usize,
        language: Option<String>,
        out: mpsc::UnboundedSender<Outgoing>,
        connector: Option<ConnectorSide>,
    ) -> LiveSession {
        let (pending, done) = mpsc::channel(1);
        let ledger = Ledger::new(info);
        let ledger = if connector.is_some() { ledger.keeping_released() } else { ledger };
        let mut cutter = self.cutter;
        if let Some(c) = &connector {
            cutter.hangover_ms = c.hangover_ms;
        }
        let replies = connector.map(|c| c.replies);
        LiveSession {
            pool: self.clone(),
            cutter: UtteranceCutter::new(&cutter, channels),
            shared: Arc::new(Shared { ledger: Mutex::new(ledger), out, replies }),
            language,
            next_seq: 0,
            pending,
            done,
        }
    }
}

/// A Transcription Connector session's side: where its transcripts go back to the client, and the pause
/// that ends an utterance there (`GENESYS_AUDIOHOOK_TRANSCRIPTION_HANGOVER_MS`).
pub struct ConnectorSide {
    pub replies: mpsc::UnboundedSender<Reply>,
    pub hangover_ms: u64,
}

/// What a session's jobs share.
struct Shared {
    ledger: Mutex<Ledger>,
    out: mpsc::UnboundedSender<Outgoing>,
    /// A Transcription Connector's way back to the client: one `transcript` entity per utterance.
    replies: Option<mpsc::UnboundedSender<Reply>>,
}

impl Shared {
    /// Sends under the lock, so the stream and the client get events in the ledger's order.
    fn send(&self, release: impl FnOnce(&mut Ledger) -> Vec<Outgoing>) {
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        for item in release(&mut ledger) {
            let _ = self.out.send(item);
        }
        let Some(replies) = &self.replies else { return };
        for (span, segments) in ledger.take_released() {
            let id = crate::simulate::uuid();
            if let Some(entity) = connector_events::transcript(&id, &span, &segments) {
                let _ = replies.send(Reply::Event(vec![entity]));
            }
        }
    }
}

fn span(u: &Utterance) -> Span {
    let seconds = |sample: u64| sample as f64 / f64::from(RATE);
    let voiced = (seconds(u.voiced.start), seconds(u.voiced.end));
    Span { channel: u.channel, start: u.start_seconds(), end: u.end_seconds(), voiced }
}

/// One session's side: cuts its audio and queues the utterances, never waiting.
pub struct LiveSession {
    pool: Arc<LiveTranscription>,
    cutter: UtteranceCutter,
    shared: Arc<Shared>,
    language: Option<String>,
    next_seq: u64,
    pending: mpsc::Sender<()>,
    done: mpsc::Receiver<()>,
}

impl LiveSession {
    pub fn push(&mut self, offset_samples: u64, frames: &Frames) {
        for u in self.cutter.push(offset_samples, frames) {
            self.submit(u);
        }
    }

    /// Ends the utterances under way (the stream paused, or the language changed): nobody is heard across
    /// a hold, and each piece is transcribed in the language it was said in.
    pub fn interrupt(&mut self) {
        for u in self.cutter.finish() {
            self.submit(u);
        }
    }

    /// The conversation's language from now on (`update`); what was said before is transcribed as before.
    pub fn set_language(&mut self, language: &str) {
        self.interrupt();
        self.language = Some(language.to_string());
    }

    fn submit(&mut self, utterance: Utterance) {
        let stats = &self.pool.stats;
        stats.utterances.fetch_add(1, Ordering::Relaxed);
        let seq = self.next_seq;
        self.next_seq += 1;
        let language = self.language.clone();
        let (session, _pending, queued_at) = (self.shared.clone(), self.pending.clone(), Instant::now());
        let job = Job { seq, utterance, queued_at, language, session, _pending };
        if let Err(TrySendError::Full(job) | TrySendError::Closed(job)) = self.pool.jobs.try_send(job) {
            dropped(stats);
            lost(stats, &job.utterance);
            tracing::warn!(seq, "live transcription: queue full, utterance dropped");
            job.session.send(|l| l.settle(seq, span(&job.utterance), Outcome::Lost("queue_full")));
        }
    }

    /// The end of the call: queues the last utterances, waits (at most one request timeout) for the
    /// session's transcripts, then closes an open gap. Later results, and gaps for later losses, still
    /// follow on the stream.
    pub async fn finish(mut self) {
        self.interrupt();
        let Self { pool, shared, pending, mut done, next_seq, .. } = self;
        drop(pending);
        let _ = tokio::time::timeout(pool.timeout, done.recv()).await;
        shared.send(|l| l.finish(next_seq));
    }
}

/// An utterance dropped instead of transcribed.
fn dropped(stats: &LiveStats) {
    stats.dropped.fetch_add(1, Ordering::Relaxed);
    metrics::counter!(LIVE_DROPPED).increment(1);
}

fn lost(stats: &LiveStats, u: &Utterance) {
    stats.gap_ms.fetch_add(u.samples.len() as u64 * 1000 / u64::from(RATE), Ordering::Relaxed);
}

#[derive(Clone, Copy)]
struct Policy {
    retries: u32,
    timeout: Duration,
}

async fn work(
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
            lost(&stats, &job.utterance);
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

/// One job's result: transcribed, failed, or dropped because the service is stopping.
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

#[cfg(test)]
#[path = "transcription_tests.rs"]
mod tests;
