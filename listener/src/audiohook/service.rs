//! The AudioHook service as a whole: spool recovery, live transcription, the session pipeline, the server,
//! a heartbeat every few seconds through the heartbeat port, and the graceful stop (refuse new sessions, let
//! open ones finish, deliver or spool what they produced, report `stopped`).

use super::admission::Refusals;
use super::config::{AUTH_FAILURE_DELAY, AudiohookConfig};
use super::connector_languages::Languages;
use super::pipeline::{Pipeline, SessionStats};
use super::server::{self, Config, ConnectorRoute};
use super::session::Settings;
use super::transcription::{LiveConfig, LiveTranscription};
use crate::forward::{Courier, Delivery, Ingest, recover};
use serde_json::{Value, json};
use shared::ports::{BlobStore, Heartbeats, Nonces};
use shared::process::health::GENESYS_AUDIOHOOK;
use shared::speech::Transcriber;
use shared::values::timestamps::{Timestamp, iso};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where the service keeps recordings, reports health and spends signature nonces, and a speech-to-text
/// engine it may share.
pub struct Ports {
    pub blobs: Arc<dyn BlobStore>,
    pub heartbeats: Arc<dyn Heartbeats>,
    /// In memory ([`super::nonces::NonceCache`]) in one process; the table on AWS, shared by every task.
    pub nonces: Arc<dyn Nonces>,
    /// An engine this process already runs for `cfg.live.stt`, used instead of building a second one: the
    /// one local process passes a handle on its batch engine's model (one whisper model in memory).
    pub transcriber: Option<Arc<dyn Transcriber>>,
}

/// What the heartbeat and `/healthz` report.
struct Status {
    state: Mutex<&'static str>,
    started_at: Timestamp,
    cfg: AudiohookConfig,
    dry_run: bool,
    sessions: Arc<SessionStats>,
    courier: Arc<Courier>,
    live: Option<Arc<LiveTranscription>>,
    refusals: Arc<Refusals>,
}

impl Status {
    fn set(&self, state: &'static str) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    fn state(&self) -> &'static str {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counters and state only: no credentials, tokens or ingest URLs.
    fn document(&self) -> Value {
        let s = &self.sessions;
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let (forwarding, forward_error) = self.courier.counters();
        let last_error = forward_error.or_else(|| s.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone());
        let mut doc = json!({
            "state": self.state(),
            "started_at": iso(&self.started_at),
            "pid": std::process::id(),
            "host": self.cfg.host,
            "port": self.cfg.port,
            "path": self.cfg.path,
            "dry_run": self.dry_run,
            "sessions_opened": n(&s.sessions_opened),
            "active_sessions": n(&s.active_sessions),
            "audio_seconds": n(&s.audio_samples) / u64::from(super::media::RATE),
            "audio_dropped_seconds": n(&s.audio_dropped_samples) / u64::from(super::media::RATE),
            "recordings_written": n(&s.recordings_written),
            "recording_failures": n(&s.recording_failures),
            "last_error": last_error,
            "live_transcription": self.live.is_some(),
            "refused": self.refusals.document(),
        });
        if let Value::Object(m) = &mut doc {
            m.extend(forwarding);
            m.extend(self.live.iter().flat_map(|l| l.counters()));
        }
        doc
    }

    async fn beat(&self, heartbeats: &dyn Heartbeats) {
        crate::heartbeat::beat(heartbeats, GENESYS_AUDIOHOOK, self.document()).await;
    }
}

/// Runs until `stop` resolves, then stops gracefully. `ingest` is where audio and events go.
pub async fn run(
    cfg: AudiohookConfig,
    listener: TcpListener,
    ingest: Arc<dyn Ingest>,
    ports: Ports,
    delivery: Delivery,
    stop: impl Future<Output = ()>,
) {
    let dry_run = delivery == Delivery::DryRun;
    let (stopping_tx, stopping) = watch::channel(false);
    let f = &cfg.forward;
    let courier = Courier::new(
        ingest,
        f.spool_dir.clone(),
        f.spool_max_bytes,
        f.stream_memory_bytes,
        f.backoff,
        stopping.clone(),
    );
    let recovered = recover(&courier);
    // A dry run sends nothing anywhere, the speech-to-text provider included.
    let live = if dry_run { None } else { live_transcription(&cfg.live, ports.transcriber.clone(), stopping.clone()) };
    // The Transcription Connector's path exists only while something can transcribe.
    let languages = live.as_ref().map(|(_, engine)| Arc::new(Languages::new(engine.clone(), &cfg.supported_languages)));
    let live = live.map(|(pool, _)| pool);
    let blobs = (!dry_run).then(|| ports.blobs.clone());
    if let Some(blobs) = &blobs {
        join_leftover_recordings(blobs.clone(), &cfg.pipeline).await;
    }
    let pipeline = Pipeline::new(courier.clone(), blobs, live.clone(), cfg.pipeline.clone());
    let pipeline = Arc::new(match &languages {
        Some(l) => pipeline.with_connector(l.clone(), cfg.transcription_hangover_ms),
        None => pipeline,
    });
    // On ECS, autoscaling may stop only a task without calls: this one protects itself while it has some.
    let protection = cfg.protection.clone().map(|p| super::protection_agent::spawn(p, pipeline.stats.clone()));
    let connector = languages.map(|l| ConnectorRoute {
        path: cfg.transcription_path.clone(),
        session: Settings { supported_languages: l.offered().to_vec(), connector: true },
    });
    if let Some(c) = &connector {
        tracing::info!(path = %c.path, languages = ?c.session.supported_languages, "audiohook: Transcription Connector on");
    }
    let status = Arc::new(Status {
        state: Mutex::new("starting"),
        started_at: chrono::Utc::now(),
        cfg: cfg.clone(),
        dry_run,
        sessions: pipeline.stats.clone(),
        courier,
        live,
        refusals: Arc::default(),
    });
    let health_status = status.clone();
    let server_cfg = Arc::new(Config {
        path: cfg.path.clone(),
        credentials: cfg.credentials.clone(),
        nonces: ports.nonces.clone(),
        session: Settings { supported_languages: cfg.supported_languages.clone(), connector: false },
        connector,
        auth_failure_delay: AUTH_FAILURE_DELAY,
        health: Arc::new(move || (health_status.state() == "running", health_status.document())),
        health_token: cfg.supervisor_token.clone(),
        limits: cfg.limits,
        refusals: status.refusals.clone(),
    });
    let _gauges = super::metrics::gauges(status.sessions.clone(), status.courier.budget.clone(), status.live.clone());
    status.set("running");
    status.beat(ports.heartbeats.as_ref()).await;
    let beating = status.clone();
    let heartbeat =
        crate::heartbeat::every(ports.heartbeats.clone(), GENESYS_AUDIOHOOK, cfg.heartbeat_every, move || {
            beating.document()
        });
    let serving = tokio::spawn(server::serve(listener, server_cfg, pipeline.clone(), stopping));
    stop.await;
    tracing::info!("audiohook: stopping; open sessions may finish");
    status.set("stopping");
    status.beat(ports.heartbeats.as_ref()).await;
    let _ = stopping_tx.send(true);
    let _ = serving.await;
    pipeline.drain().await;
    for t in recovered {
        let _ = t.await;
    }
    heartbeat.abort();
    protection.inspect(JoinHandle::abort);
    status.set("stopped");
    status.beat(ports.heartbeats.as_ref()).await;
    tracing::info!(spooled_bytes = status.courier.budget.used(), "audiohook: stopped");
}

/// Stores and joins the recording parts a crash left, before any session of this process can write its own.
async fn join_leftover_recordings(blobs: Arc<dyn BlobStore>, settings: &super::pipeline::PipelineSettings) {
    match super::recording::join_leftovers(blobs, &settings.recording_dir, settings.storage_timeout).await {
        Ok(keys) => {
            for key in keys {
                tracing::info!(key, "audiohook: a recording left by a crash joined");
            }
        }
        Err(e) => tracing::error!(error = %e, "audiohook: the recordings left by a crash could not be joined"),
    }
}

/// The transcription pool when configured, on `shared` or an engine built from `cfg.stt`, with the
/// engine's languages when it knows them; a provider that cannot be set up leaves it off, with a log.
fn live_transcription(
    cfg: &LiveConfig,
    shared: Option<Arc<dyn Transcriber>>,
    stopping: watch::Receiver<bool>,
) -> Option<(Arc<LiveTranscription>, Option<Vec<String>>)> {
    if !cfg.enabled {
        return None;
    }
    match shared.map_or_else(|| cfg.stt.build_live().map(Arc::from), Ok) {
        Ok(t) => {
            let provider = cfg.stt.provider();
            tracing::info!(
                provider,
                concurrency = cfg.concurrency,
                queue = cfg.queue,
                "audiohook: live transcription on"
            );
            let languages = t.languages();
            Some((LiveTranscription::start(t, cfg, stopping), languages))
        }
        Err(e) => {
            tracing::error!(error = %e, "audiohook: live transcription off, the provider cannot be set up");
            None
        }
    }
}
