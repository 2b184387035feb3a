//! The production `SessionSink`: per opened session, a task that cuts the audio into ingest chunks (with
//! dead air per channel), records it to blob storage, queues utterances for live transcription, and hands
//! chunks, transcripts and the end-of-call event to the session's forwarding stream. The socket reader only
//! sends into a channel, so it never waits on any of it; the channel holds at most `queue_seconds` of audio
//! (beyond, new audio is dropped and counted, and the hole is a gap on the timeline), and every storage call
//! the worker makes has a time limit, so a hung store cannot grow it either.

use super::backlog::Backlog;
use super::chunker::{Chunk, Chunker, FlushRules};
use super::connector_languages::Languages;
use super::media::Frames;
use super::metrics::{AudioSeconds, OpenSession};
use super::recording::{DiskWriter, Recorder};
use super::server::{Reply, SessionHandle, SessionSink};
use super::session::Opened;
use super::transcription::{ConnectorSide, LiveTranscription};
use super::transcripts::SessionInfo;
use super::upgrade::Ids;
use crate::forward::{Courier, Outgoing, object};
use serde_json::{Map, Value, json};
use shared::ports::BlobStore;
use shared::values::timestamps::{Timestamp, iso};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The `provider` of everything the AudioHook listener sends.
pub(super) const PROVIDER: &str = "genesys_audiohook";

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSettings {
    pub rules: FlushRules,
    /// `REALTIME_DEAD_AIR_RMS_THRESHOLD` (200).
    pub rms_threshold: f64,
    /// `GENESYS_AUDIOHOOK_RECORDING_PART_SECONDS` (10): how much audio losing the local disk can cost the
    /// recording.
    pub recording_part_seconds: u32,
    /// `GENESYS_AUDIOHOOK_RECORDING_DIR` (`<spool dir>-recordings`): the parts being filled, one file per
    /// session, so no session holds its audio in memory.
    pub recording_dir: std::path::PathBuf,
    /// `GENESYS_AUDIOHOOK_SESSION_QUEUE_SECONDS` (30): audio waiting for a session's worker.
    pub queue_seconds: u32,
    /// `GENESYS_AUDIOHOOK_STORAGE_TIMEOUT_SECONDS` (10): one recording write or read.
    pub storage_timeout: std::time::Duration,
}

/// Session counters for the heartbeat.
#[derive(Debug, Default)]
pub struct SessionStats {
    pub sessions_opened: AtomicU64,
    pub active_sessions: AtomicU64,
    /// Samples per channel received, over all sessions.
    pub audio_samples: AtomicU64,
    pub recordings_written: AtomicU64,
    pub recording_failures: AtomicU64,
    /// Samples per channel dropped because a session's queue was full (its worker was stalled).
    pub audio_dropped_samples: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

enum Msg {
    Audio(u64, Frames),
    Paused,
    Language(String),
    /// A Transcription Connector's client sent `close`: its last transcripts are due before `closed`.
    Closing,
    End(String),
}

pub struct Pipeline {
    courier: Arc<Courier>,
    /// `None` in dry-run, or when the writer thread could not start: nothing is recorded.
    blobs: Option<(Arc<dyn BlobStore>, Arc<DiskWriter>)>,
    /// `None` when live transcription is off.
    live: Option<Arc<LiveTranscription>>,
    /// What the Transcription Connector's engine can transcribe (set when the listener serves it).
    languages: Option<Arc<Languages>>,
    /// The pause that ends a connector session's utterance.
    connector_hangover_ms: u64,
    settings: PipelineSettings,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    pub stats: Arc<SessionStats>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Pipeline {
    pub fn new(
        courier: Arc<Courier>,
        blobs: Option<Arc<dyn BlobStore>>,
        live: Option<Arc<LiveTranscription>>,
        settings: PipelineSettings,
    ) -> Self {
        let (tasks, stats) = (Mutex::default(), Arc::default());
        let blobs = blobs.and_then(|b| match DiskWriter::start() {
            Ok(writer) => Some((b, Arc::new(writer))),
            Err(e) => {
                tracing::error!(error = %e, "audiohook: no recording, its writer thread cannot start");
                None
            }
        });
        Self { courier, blobs, live, languages: None, connector_hangover_ms: 0, settings, tasks, stats }
    }

    /// Serves Transcription Connector sessions too, in `languages`, ending utterances after `hangover_ms`.
    pub fn with_connector(self, languages: Arc<Languages>, hangover_ms: u64) -> Self {
        Self { languages: Some(languages), connector_hangover_ms: hangover_ms, ..self }
    }

    /// Waits until every session's audio, recording and forwarding is done (or spooled, when stopping).
    pub async fn drain(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// The socket task's end of a session: sends into the worker's queue, never waits.
struct Handle {
    tx: mpsc::UnboundedSender<Msg>,
    backlog: Arc<Backlog>,
    stats: Arc<SessionStats>,
    session_id: String,
    /// Audio is being dropped (logged once per run of drops).
    dropping: bool,
    /// A Transcription Connector's replies, until the socket task takes them.
    replies: Option<mpsc::UnboundedReceiver<Reply>>,
    audio_seconds: AudioSeconds,
}

impl SessionHandle for Handle {
    fn audio(&mut self, offset_samples: u64, frames: Frames) {
        let n = frames.len() as u64;
        self.stats.audio_samples.fetch_add(n, Ordering::Relaxed);
        self.audio_seconds.add(n);
        if !self.backlog.admit(n) {
            self.stats.audio_dropped_samples.fetch_add(n, Ordering::Relaxed);
            if !std::mem::replace(&mut self.dropping, true) {
                let error = "session queue full (worker stalled): audio dropped".to_string();
                tracing::warn!(session = %self.session_id, "audiohook: {error}");
                *self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
            }
            return;
        }
        self.dropping = false;
        let _ = self.tx.send(Msg::Audio(offset_samples, frames));
    }

    fn paused(&mut self) {
        let _ = self.tx.send(Msg::Paused);
    }

    fn ended(self: Box<Self>, reason: &str) {
        let _ = self.tx.send(Msg::End(reason.to_string()));
    }

    fn replies(&mut self) -> Option<mpsc::UnboundedReceiver<Reply>> {
        self.replies.take()
    }

    fn language(&mut self, language: &str) {
        let _ = self.tx.send(Msg::Language(language.to_string()));
    }

    fn closing(&mut self) {
        let _ = self.tx.send(Msg::Closing);
    }
}

impl SessionSink for Pipeline {
    fn opened(&self, ids: &Ids, opened: &Opened) -> Box<dyn SessionHandle> {
        let (tx, rx) = mpsc::unbounded_channel();
        let limit = u64::from(self.settings.queue_seconds) * u64::from(super::media::RATE);
        let backlog = Arc::new(Backlog::new(limit));
        let mut worker = Worker::new(self, ids, opened);
        // Only a connector session with a transcriber has anything to say back.
        let (replies_tx, replies) = match (opened.connector, &worker.live) {
            (true, Some(_)) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        worker.replies = replies_tx;
        let task = tokio::spawn(worker.run(rx, backlog.clone()));
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
        let session_id = ids.session_id.clone();
        let audio_seconds = AudioSeconds::new();
        Box::new(Handle { tx, backlog, stats: self.stats.clone(), session_id, dropping: false, replies, audio_seconds })
    }
}

/// One session's work, off the socket task.
struct Worker {
    courier: Arc<Courier>,
    stats: Arc<SessionStats>,
    /// Counts the session open until its work is handed off.
    open: Option<OpenSession>,
    session_id: String,
    call_id: String,
    labels: Vec<&'static str>,
    roles: Vec<&'static str>,
    format: &'static str,
    chunker: Chunker,
    recorder: Option<Recorder>,
    live: Option<Arc<LiveTranscription>>,
    language: Option<String>,
    started_at: Timestamp,
    /// A Transcription Connector session's way back to the client, and what its engine can transcribe.
    replies: Option<mpsc::UnboundedSender<Reply>>,
    languages: Option<Arc<Languages>>,
    hangover_ms: u64,
}

impl Worker {
    fn new(p: &Pipeline, ids: &Ids, opened: &Opened) -> Self {
        let channels: Vec<_> = opened.media.as_ref().map(|m| m.channels.clone()).unwrap_or_default();
        let width = channels.len().max(1);
        Self {
            courier: p.courier.clone(),
            stats: p.stats.clone(),
            open: Some(OpenSession::new(p.stats.clone())),
            session_id: ids.session_id.clone(),
            call_id: opened.conversation_id.clone(),
            labels: channels.iter().map(|c| c.label()).collect(),
            roles: channels.iter().map(|c| c.role()).collect(),
            format: opened.media.as_ref().map_or("none", |m| m.codec.name()),
            chunker: Chunker::new(p.settings.rules, width, p.settings.rms_threshold, now_ms()),
            recorder: p.blobs.as_ref().map(|(b, writer)| {
                Recorder::new(
                    b.clone(),
                    (&p.settings.recording_dir, writer),
                    &opened.conversation_id,
                    &ids.session_id,
                    width as u16,
                    p.settings.recording_part_seconds,
                    p.settings.storage_timeout,
                )
            }),
            live: p.live.clone(),
            language: opened.language.clone(),
            started_at: chrono::Utc::now(),
            replies: None,
            languages: p.languages.clone(),
            hangover_ms: p.connector_hangover_ms,
        }
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>, backlog: Arc<Backlog>) {
        // A stream name unique per run, so a reconnecting session never shares a spool file.
        let (out, pump) = self.courier.start(&format!("{}-{}", self.session_id, now_ms()));
        if let Some(language) = self.language.clone() {
            self.language_changed(&language);
        }
        let mut live = self.live.take().map(|l| {
            let info = SessionInfo {
                call_id: self.call_id.clone(),
                session_id: self.session_id.clone(),
                roles: self.roles.clone(),
                started_at: self.started_at,
            };
            let hangover_ms = self.hangover_ms;
            let connector = self.replies.clone().map(|replies| ConnectorSide { replies, hangover_ms });
            l.session(info, self.roles.len(), self.language.take(), out.clone(), connector)
        });
        let reason = loop {
            match rx.recv().await {
                Some(Msg::Audio(offset, frames)) => {
                    backlog.taken(frames.len() as u64);
                    if let Some(r) = self.recorder.as_mut()
                        && let Err(e) = r.push(offset, &frames).await
                    {
                        self.recording_failed(e.to_string());
                    }
                    for chunk in self.chunker.push(offset, &frames, now_ms()) {
                        let _ = out.send(self.audio_payload(chunk));
                    }
                    if let Some(l) = live.as_mut() {
                        l.push(offset, &frames);
                    }
                }
                Some(Msg::Paused) => {
                    for chunk in self.chunker.interrupt("paused") {
                        let _ = out.send(self.audio_payload(chunk));
                    }
                    if let Some(l) = live.as_mut() {
                        l.interrupt();
                    }
                }
                Some(Msg::Language(language)) => {
                    if let Some(l) = live.as_mut() {
                        l.set_language(&language);
                    }
                    self.language_changed(&language);
                }
                Some(Msg::Closing) => {
                    if let Some(l) = live.take() {
                        l.finish().await;
                    }
                    if let Some(replies) = &self.replies {
                        let _ = replies.send(Reply::Flushed);
                    }
                }
                Some(Msg::End(reason)) => break reason,
                None => break "dropped".to_string(),
            }
        };
        for chunk in self.chunker.finish(&reason) {
            let _ = out.send(self.audio_payload(chunk));
        }
        if let Some(l) = live {
            l.finish().await;
        }
        let _ = out.send(self.end_event(&reason));
        drop(out);
        if let Some(r) = self.recorder.take() {
            match r.finish().await {
                Ok(key) => {
                    self.stats.recordings_written.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(session = %self.session_id, key, "audiohook: recording stored");
                }
                Err(e) => self.recording_failed(e.to_string()),
            }
        }
        drop(self.open.take());
        let _ = pump.await;
    }

    /// A Transcription Connector asks the client to pause while its language cannot be transcribed, and
    /// to resume once it can; a Monitor session says nothing.
    fn language_changed(&self, language: &str) {
        if let (Some(replies), Some(languages)) = (&self.replies, &self.languages) {
            let supported = languages.supports(language);
            if !supported {
                tracing::info!(session = %self.session_id, language, "audiohook: language not supported, pausing");
            }
            let _ = replies.send(if supported { Reply::Resume } else { Reply::Pause });
        }
    }

    fn recording_failed(&self, error: String) {
        self.stats.recording_failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(session = %self.session_id, error, "audiohook: recording write failed");
        *self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
    }

    fn audio_payload(&self, chunk: Chunk) -> Outgoing {
        let silence: Map<String, Value> = self
            .roles
            .iter()
            .zip(&chunk.silence_ms)
            .map(|(r, ms)| (r.to_string(), json!(*ms as f64 / 1000.0)))
            .collect();
        let body = json!({
            "provider": PROVIDER,
            "call_id": self.call_id,
            "chunk_id": format!("{}-{}", self.session_id, chunk.index),
            "audio_encoding": "pcm_s16le",
            "sample_rate": super::media::RATE,
            "channels": self.labels.len().max(1),
            "status": "active",
            "timestamp": iso(&chrono::Utc::now()),
            "metadata": {
                "session_id": self.session_id,
                "channel_labels": self.labels,
                "channel_roles": self.roles,
                "media_format": self.format,
                "flush_reason": chunk.reason,
                "start_seconds": chunk.start_sample as f64 / f64::from(super::media::RATE),
                "metrics": {"dead_air_seconds": chunk.dead_air_ms() as f64 / 1000.0, "silence_seconds_by_role": silence},
            },
        });
        Outgoing::audio(object(body), chunk.pcm)
    }

    fn end_event(&self, reason: &str) -> Outgoing {
        let body = json!({
            "provider": PROVIDER,
            "call_id": self.call_id,
            "event_id": format!("audiohook:{}:end", self.session_id),
            "event_type": "call_end",
            "speaker": "",
            "text": "",
            "status": "ended",
            "timestamp": iso(&chrono::Utc::now()),
            "metadata": {"reason": reason, "session_id": self.session_id},
        });
        Outgoing::event(object(body))
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
