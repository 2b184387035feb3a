//! The Genesys notifications connector: topics (manual and discovered, refreshed), sharded into channels
//! of at most 900 topics with one socket each, every message mapped to realtime events and forwarded in
//! order through the same outbox and spool as AudioHook, and a heartbeat every few seconds (state and
//! counters only: no channel URIs, names or e-mails).

use super::api::{Api, ApiSettings};
use super::channel::{ChannelRunner, ChannelSettings, ChannelStats};
use super::discovery;
use super::topics::{TopicSettings, shard};
use crate::forward::{Courier, Delivery, Ingest, Kind, Outgoing, recover};
use serde_json::{Value, json};
use shared::genesys::mapping::map_message;
use shared::ports::Heartbeats;
use shared::process::health::GENESYS_CONNECTOR;
use shared::settings::env::{self, EnvError, EnvSource};
use shared::values::timestamps::iso;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    pub api: ApiSettings,
    pub topics: TopicSettings,
    pub channel: ChannelSettings,
    /// `GENESYS_TARGET_INGEST_URL` (`REALTIME_INGEST_URL` + `/api/realtime/events`).
    pub ingest_url: String,
    /// `GENESYS_TARGET_INGEST_TOKEN`, else `REALTIME_INGEST_TOKEN`.
    pub ingest_token: String,
    /// `GENESYS_CONNECTOR_SPOOL_DIR` (`DATA_DIR/spool/connector`), `GENESYS_CONNECTOR_SPOOL_MAX_BYTES` (256 MiB).
    pub spool_dir: PathBuf,
    pub spool_max_bytes: u64,
    /// `GENESYS_CONNECTOR_HEARTBEAT_SECONDS` (15).
    pub heartbeat_every: Duration,
}

/// Events kept in memory before spooling.
const MEMORY_BYTES: usize = 4 << 20;

impl ConnectorConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let data_dir = PathBuf::from(env::string(e, "DATA_DIR").unwrap_or_else(|| "data".into()));
        let base = env::string(e, "REALTIME_INGEST_URL").unwrap_or_else(|| "http://127.0.0.1:8009".into());
        Ok(Self {
            api: ApiSettings::from_env(e)?,
            topics: TopicSettings::from_env(e)?,
            channel: ChannelSettings {
                reconnect_delay: Duration::from_secs_f64(
                    env::float(e, "GENESYS_RECONNECT_DELAY_SECONDS", 5.0)?.clamp(2.0, 300.0),
                ),
                ..ChannelSettings::default()
            },
            ingest_url: env::string(e, "GENESYS_TARGET_INGEST_URL")
                .unwrap_or_else(|| format!("{}/api/realtime/events", base.trim_end_matches('/'))),
            ingest_token: env::string(e, "GENESYS_TARGET_INGEST_TOKEN")
                .or_else(|| env::string(e, "REALTIME_INGEST_TOKEN"))
                .unwrap_or_default(),
            spool_dir: env::string(e, "GENESYS_CONNECTOR_SPOOL_DIR")
                .map_or_else(|| data_dir.join("spool").join("connector"), PathBuf::from),
            spool_max_bytes: env::parsed(e, "GENESYS_CONNECTOR_SPOOL_MAX_BYTES", 256 << 20, "whole number")?,
            heartbeat_every: Duration::from_secs_f64(
                env::float(e, "GENESYS_CONNECTOR_HEARTBEAT_SECONDS", 15.0)?.max(1.0),
            ),
        })
    }
}

/// State and counters for the heartbeat.
struct Status {
    state: Mutex<&'static str>,
    started_at: String,
    dry_run: bool,
    mode: String,
    topics: Mutex<usize>,
    channels: Mutex<usize>,
    stats: Arc<ChannelStats>,
    courier: Arc<Courier>,
}

impl Status {
    fn set(&self, state: &'static str) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    async fn beat(&self, heartbeats: &dyn Heartbeats) {
        crate::heartbeat::beat(heartbeats, GENESYS_CONNECTOR, self.document()).await;
    }

    fn document(&self) -> Value {
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.stats;
        let (forwarding, forward_error) = self.courier.counters();
        let last_error = forward_error.or_else(|| s.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone());
        let mut doc = json!({
            "state": *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            "started_at": self.started_at,
            "pid": std::process::id(),
            "dry_run": self.dry_run,
            "topic_builder_mode": self.mode,
            "topics_count": *self.topics.lock().unwrap_or_else(|p| p.into_inner()),
            "channels": *self.channels.lock().unwrap_or_else(|p| p.into_inner()),
            "channels_created": n(&s.channels_created),
            "reconnect_count": n(&s.reconnects),
            "pings": n(&s.pings),
            "notifications": n(&s.messages),
            "last_error": last_error,
        });
        if let Value::Object(m) = &mut doc {
            m.extend(forwarding);
        }
        doc
    }
}

/// Runs until `stop` resolves: builds topics, keeps one channel per shard, maps and forwards, beats.
pub async fn run(
    cfg: ConnectorConfig,
    ingest: Arc<dyn Ingest>,
    heartbeats: Arc<dyn Heartbeats>,
    delivery: Delivery,
    stop: impl Future<Output = ()>,
) -> Result<(), reqwest::Error> {
    let dry_run = delivery == Delivery::DryRun;
    let api = Arc::new(Api::new(cfg.api.clone())?);
    let (stopping_tx, stopping) = watch::channel(false);
    let courier = Courier::new(
        ingest,
        cfg.spool_dir.clone(),
        cfg.spool_max_bytes,
        MEMORY_BYTES,
        cfg.api.backoff,
        stopping.clone(),
    );
    let recovered = recover(&courier);
    let status = Arc::new(Status {
        state: Mutex::new("starting"),
        started_at: iso(&chrono::Utc::now()),
        dry_run,
        mode: cfg.topics.mode_name.clone(),
        topics: Mutex::new(0),
        channels: Mutex::new(0),
        stats: Arc::new(ChannelStats::default()),
        courier: courier.clone(),
    });
    let beating = status.clone();
    let heartbeat =
        crate::heartbeat::every(heartbeats.clone(), GENESYS_CONNECTOR, cfg.heartbeat_every, move || beating.document());

    // Messages from every channel → events → one ordered forwarding stream.
    let (messages_tx, mut messages) = mpsc::unbounded_channel::<Value>();
    let (events, pump) = courier.start(&format!("connector-{}", chrono::Utc::now().timestamp_millis()));
    let mapper = tokio::spawn(async move {
        while let Some(m) = messages.recv().await {
            for body in map_message(&m, chrono::Utc::now()) {
                let _ = events.send(Outgoing { kind: Kind::Event, body });
            }
        }
    });

    let supervise = async {
        let mut current: Vec<String> = Vec::new();
        let mut runners: Vec<(watch::Sender<bool>, tokio::task::JoinHandle<()>)> = Vec::new();
        loop {
            status.set(if runners.is_empty() { "connecting" } else { "running" });
            status.beat(heartbeats.as_ref()).await;
            let wait = match discovery::build(&api, &cfg.topics).await {
                Ok(preview) if preview.topics.is_empty() => {
                    status.set("error");
                    *status.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(
                        "No Genesys topics configured: set GENESYS_SUBSCRIPTION_TOPICS, GENESYS_QUEUE_IDS, GENESYS_USER_IDS or GENESYS_TOPIC_BUILDER_MODE".into(),
                    );
                    cfg.channel.reconnect_delay * 12
                }
                Ok(preview) => {
                    if preview.topics != current {
                        for (stop, task) in runners.drain(..) {
                            let _ = stop.send(true);
                            let _ = task.await;
                        }
                        let shards = shard(&preview.topics);
                        tracing::info!(topics = preview.topics.len(), channels = shards.len(), "genesys: subscribing");
                        *status.topics.lock().unwrap_or_else(|p| p.into_inner()) = preview.topics.len();
                        *status.channels.lock().unwrap_or_else(|p| p.into_inner()) = shards.len();
                        for topics in shards {
                            let (stop, stopped) = watch::channel(false);
                            let runner = ChannelRunner {
                                api: api.clone(),
                                topics,
                                settings: cfg.channel.clone(),
                                stats: status.stats.clone(),
                                out: messages_tx.clone(),
                            };
                            runners.push((stop, tokio::spawn(runner.run(stopped))));
                        }
                        current = preview.topics;
                    }
                    status.set("running");
                    Duration::from_secs(cfg.topics.refresh_seconds)
                }
                Err(e) => {
                    status.set(if runners.is_empty() { "error" } else { "running" });
                    tracing::warn!(error = %e, "genesys: building topics failed");
                    *status.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    cfg.channel.reconnect_delay * 6
                }
            };
            status.beat(heartbeats.as_ref()).await;
            let mut stopping = stopping.clone();
            let stopped = async move {
                let _ = stopping.wait_for(|s| *s).await;
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped => {
                    for (stop, task) in runners.drain(..) {
                        let _ = stop.send(true);
                        let _ = task.await;
                    }
                    return;
                }
            }
        }
    };
    let stopper = async {
        stop.await;
        tracing::info!("genesys connector: stopping");
        status.set("stopping");
        status.beat(heartbeats.as_ref()).await;
        let _ = stopping_tx.send(true);
    };
    tokio::join!(supervise, stopper);
    drop(messages_tx);
    let _ = mapper.await;
    let _ = pump.await;
    for t in recovered {
        let _ = t.await;
    }
    heartbeat.abort();
    status.set("stopped");
    status.beat(heartbeats.as_ref()).await;
    Ok(())
}
