//! The AudioHook service as a whole: spool recovery, the session pipeline, the server, a heartbeat every
//! few seconds through the heartbeat port, and the graceful stop (refuse new sessions, let open ones
//! finish, deliver or spool what they produced, report `stopped`).

use super::config::{AUTH_FAILURE_DELAY, AudiohookConfig};
use super::pipeline::{Pipeline, SessionStats};
use super::server::{self, Config};
use super::session::Settings;
use crate::forward::{Courier, ForwardStats, Ingest, SpoolBudget, recover};
use serde_json::{Value, json};
use shared::health::GENESYS_AUDIOHOOK;
use shared::ports::{BlobStore, Heartbeat, Heartbeats};
use shared::timestamps::{Timestamp, iso};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Where the service keeps recordings and reports health.
pub struct Ports {
    pub blobs: Arc<dyn BlobStore>,
    pub heartbeats: Arc<dyn Heartbeats>,
}

/// What the heartbeat and `/healthz` report.
struct Status {
    state: Mutex<&'static str>,
    started_at: Timestamp,
    cfg: AudiohookConfig,
    dry_run: bool,
    sessions: Arc<SessionStats>,
    forward: Arc<ForwardStats>,
    budget: Arc<SpoolBudget>,
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
        let (s, f) = (&self.sessions, &self.forward);
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let last_error = f
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .or_else(|| s.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone());
        json!({
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
            "recordings_written": n(&s.recordings_written),
            "recording_failures": n(&s.recording_failures),
            "forwarded_chunks": n(&f.forwarded_chunks),
            "forwarded_events": n(&f.forwarded_events),
            "forward_failures": n(&f.forward_failures),
            "rejected": n(&f.rejected),
            "dropped": n(&f.dropped),
            "spool_bytes": self.budget.used(),
            "last_error": last_error,
        })
    }

    async fn beat(&self, heartbeats: &dyn Heartbeats) {
        let hb =
            Heartbeat { component: GENESYS_AUDIOHOOK.into(), updated_at: chrono::Utc::now(), status: self.document() };
        if let Err(e) = heartbeats.put(&hb).await {
            tracing::warn!(error = %e, "audiohook: heartbeat not written");
        }
    }
}

/// Runs until `stop` resolves, then stops gracefully. `ingest` is where audio and events go.
pub async fn run(
    cfg: AudiohookConfig,
    listener: TcpListener,
    ingest: Arc<dyn Ingest>,
    ports: Ports,
    dry_run: bool,
    stop: impl Future<Output = ()>,
) {
    let (stopping_tx, stopping) = watch::channel(false);
    let budget = Arc::new(SpoolBudget::new(cfg.forward.spool_dir.clone(), cfg.forward.spool_max_bytes));
    let forward = Arc::new(ForwardStats::default());
    let courier = Arc::new(Courier {
        ingest,
        budget: budget.clone(),
        stats: forward.clone(),
        memory_limit: cfg.forward.stream_memory_bytes,
        backoff: cfg.forward.backoff,
        stopping: stopping.clone(),
    });
    let recovered = recover(&courier);
    let pipeline = Arc::new(Pipeline::new(courier, (!dry_run).then(|| ports.blobs.clone()), cfg.pipeline.clone()));
    let status = Arc::new(Status {
        state: Mutex::new("starting"),
        started_at: chrono::Utc::now(),
        cfg: cfg.clone(),
        dry_run,
        sessions: pipeline.stats.clone(),
        forward,
        budget,
    });
    let health_status = status.clone();
    let server_cfg = Arc::new(Config {
        path: cfg.path.clone(),
        credentials: cfg.credentials.clone(),
        session: Settings { supported_languages: cfg.supported_languages.clone() },
        auth_failure_delay: AUTH_FAILURE_DELAY,
        health: Arc::new(move || (health_status.state() == "running", health_status.document())),
    });
    status.set("running");
    status.beat(ports.heartbeats.as_ref()).await;
    let heartbeat = {
        let (status, heartbeats, every) = (status.clone(), ports.heartbeats.clone(), cfg.heartbeat_every);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                status.beat(heartbeats.as_ref()).await;
            }
        })
    };
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
    status.set("stopped");
    status.beat(ports.heartbeats.as_ref()).await;
    tracing::info!(spooled_bytes = status.budget.used(), "audiohook: stopped");
}
