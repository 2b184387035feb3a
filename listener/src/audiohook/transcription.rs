//! Live transcription of AudioHook calls: each session's utterances (cut by `utterances`) go to a bounded
//! queue served by a few workers that call the speech-to-text provider, and the results travel as events on
//! the session's forwarding stream, so they survive ingest outages like the audio. Audio intake never waits
//! on the provider: when the queue is full an utterance is dropped, counted and reported as a gap, and one
//! that waited in the queue past `max_wait` is shed the same way by the worker that takes it
//! (`transcription_worker`), so an overloaded pool degrades to gaps instead of ever later transcripts.

use super::config::ConfigError;
use super::connector_events;
use super::media::{Frames, RATE};
use super::replies::Reply;
use super::transcription_worker::{Policy, dropped, lost, work};
use super::transcripts::{Ledger, Outcome, SessionInfo, Span};
use super::utterances::{CutterSettings, Utterance, UtteranceCutter};
use crate::forward::Outgoing;
use serde_json::{Map, Value, json};
use shared::settings::env::{self, EnvSource};
use shared::speech::{SttConfig, Transcriber};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

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
    /// `LIVE_TRANSCRIPTION_MAX_WAIT_SECONDS` (1.0, 0.1–300): how long an utterance may wait for a
    /// worker; one that waited longer is dropped with a gap instead of transcribed, so an overloaded pool
    /// spends its time on transcripts that still arrive in time instead of building a backlog.
    pub max_wait: Duration,
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
            max_wait: Duration::from_secs_f64(
                env::float(e, "LIVE_TRANSCRIPTION_MAX_WAIT_SECONDS", 1.0)?.clamp(0.1, 300.0),
            ),
        })
    }
}

/// Counters for the heartbeat.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub utterances: AtomicU64,
    pub transcribed: AtomicU64,
    /// Utterances dropped: the queue was full, they waited past the bound, or the service was stopping.
    pub dropped: AtomicU64,
    /// Utterances the provider did not transcribe after the retries.
    pub failures: AtomicU64,
    /// Audio left without transcript, in milliseconds.
    pub gap_ms: AtomicU64,
    /// Jobs that panicked (caught: the worker goes on).
    pub panics: AtomicU64,
    pub(super) busy: AtomicU64,
    /// The provider's last error: its status and message, never the key or URL.
    pub last_error: Mutex<Option<String>>,
}

pub(super) struct Job {
    pub(super) seq: u64,
    pub(super) utterance: Utterance,
    /// When the utterance ended and was queued: its transcript's latency and its wait run from here.
    pub(super) queued_at: Instant,
    /// The conversation's language when the utterance ended.
    pub(super) language: Option<String>,
    pub(super) session: Arc<Shared>,
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
    /// Starts `cfg.concurrency` workers, or fewer when the provider runs fewer at once (the embedded engine:
    /// one per core); they stop once this and every session are gone. While `stopping` is true, queued
    /// utterances are dropped rather than sent. A worker beyond what the provider runs would take an
    /// utterance out of the queue only to wait inside the provider, out of reach of the age bound.
    pub fn start(transcriber: Arc<dyn Transcriber>, cfg: &LiveConfig, stopping: watch::Receiver<bool>) -> Arc<Self> {
        let (jobs, rx) = mpsc::channel(cfg.queue.max(1));
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let stats = Arc::new(LiveStats::default());
        let policy = Policy { retries: cfg.retries, timeout: cfg.timeout, max_wait: cfg.max_wait };
        let workers = transcriber.runs_at_once().map_or(cfg.concurrency, |runs| runs.min(cfg.concurrency));
        for _ in 0..workers.max(1) {
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
pub(super) struct Shared {
    ledger: Mutex<Ledger>,
    out: mpsc::UnboundedSender<Outgoing>,
    /// A Transcription Connector's way back to the client: one `transcript` entity per utterance.
    replies: Option<mpsc::UnboundedSender<Reply>>,
}

impl Shared {
    /// Sends under the lock, so the stream and the client get events in the ledger's order.
    pub(super) fn send(&self, release: impl FnOnce(&mut Ledger) -> Vec<Outgoing>) {
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

pub(super) fn span(u: &Utterance) -> Span {
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
            lost(stats, job.utterance.samples.len());
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

#[cfg(test)]
#[path = "transcription_tests.rs"]
mod tests;
