//! The Genesys notifications connector: topics (manual and discovered, refreshed), sharded into channels
//! of at most 900 topics with one socket each, every message mapped to realtime events and forwarded in
//! order through the same outbox and spool as AudioHook, and a heartbeat every few seconds (state and
//! counters only: no channel URIs, names or e-mails).

use super::api::{Api, ApiSettings};
use super::channel::{ChannelRunner, ChannelSettings, ChannelStats};
use super::discovery;
use super::topics::{TopicSettings, shard};
use crate::forward::{Courier, Delivery, Ingest, Outgoing, recover};
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

/// Why the connector has nothing to subscribe to.
const NO_TOPICS: &str = "No Genesys topics configured: set GENESYS_SUBSCRIPTION_TOPICS, GENESYS_QUEUE_IDS, \
    GENESYS_USER_IDS or GENESYS_TOPIC_BUILDER_MODE";

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

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Status {
    fn new(cfg: &ConnectorConfig, delivery: Delivery, courier: Arc<Courier>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new("starting"),
            started_at: iso(&chrono::Utc::now()),
            dry_run: delivery == Delivery::DryRun,
            mode: cfg.topics.mode_name.clone(),
            topics: Mutex::new(0),
            channels: Mutex::new(0),
            stats: Arc::new(ChannelStats::default()),
            courier,
        })
    }

    fn set(&self, state: &'static str) {
        *locked(&self.state) = state;
    }

    fn failed(&self, why: String) {
        *locked(&self.stats.last_error) = Some(why);
    }

    async fn beat(&self, heartbeats: &dyn Heartbeats) {
        crate::heartbeat::beat(heartbeats, GENESYS_CONNECTOR, self.document()).await;
    }

    fn document(&self) -> Value {
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.stats;
        let (forwarding, forward_error) = self.courier.counters();
        let last_error = forward_error.or_else(|| locked(&s.last_error).clone());
        let mut doc = json!({
            "state": *locked(&self.state),
            "started_at": self.started_at,
            "pid": std::process::id(),
            "dry_run": self.dry_run,
            "topic_builder_mode": self.mode,
            "topics_count": *locked(&self.topics),
            "channels": *locked(&self.channels),
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

/// The open channels, one per shard of the current topics.
struct Channels {
    topics: Vec<String>,
    runners: Vec<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
}

impl Channels {
    /// Stops every channel and waits for each to close its socket.
    async fn stop_all(&mut self) {
        for (stop, task) in self.runners.drain(..) {
            let _ = stop.send(true);
            let _ = task.await;
        }
    }

    /// Subscribes to `topics` afresh when they changed: the old channels close first.
    async fn follow(&mut self, topics: Vec<String>, api: &Arc<Api>, cfg: &ConnectorConfig, status: &Status, out: &Out) {
        if topics == self.topics {
            return;
        }
        self.stop_all().await;
        let shards = shard(&topics);
        tracing::info!(topics = topics.len(), channels = shards.len(), "genesys: subscribing");
        *locked(&status.topics) = topics.len();
        *locked(&status.channels) = shards.len();
        for topics in shards {
            let (stop, stopped) = watch::channel(false);
            let runner = ChannelRunner {
                api: api.clone(),
                topics,
                settings: cfg.channel.clone(),
                stats: status.stats.clone(),
                out: out.clone(),
            };
            self.runners.push((stop, tokio::spawn(runner.run(stopped))));
        }
        self.topics = topics;
    }
}

/// Where every channel sends the notifications it receives.
type Out = mpsc::UnboundedSender<Value>;

/// Maps notifications to events in arrival order and hands them to the one forwarding stream.
fn spawn_mapper(
    mut messages: mpsc::UnboundedReceiver<Value>,
    events: mpsc::UnboundedSender<Outgoing>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(m) = messages.recv().await {
            for body in map_message(&m, chrono::Utc::now()) {
                let _ = events.send(Outgoing::event(body));
            }
        }
    })
}

/// The topic loop: (re)builds the topics, keeps the channels on them, and waits for the next refresh (or,
/// after a failure, a retry) until `stopping` turns true; then closes every channel.
async fn supervise(
    cfg: &ConnectorConfig,
    api: Arc<Api>,
    status: &Status,
    heartbeats: &dyn Heartbeats,
    out: Out,
    mut stopping: watch::Receiver<bool>,
) {
    let mut channels = Channels { topics: Vec::new(), runners: Vec::new() };
    loop {
        status.set(if channels.runners.is_empty() { "connecting" } else { "running" });
        status.beat(heartbeats).await;
        let wait = match discovery::build(&api, &cfg.topics).await {
            Ok(preview) if preview.topics.is_empty() => {
                status.set("error");
                status.failed(NO_TOPICS.into());
                cfg.channel.reconnect_delay * 12
            }
            Ok(preview) => {
                channels.follow(preview.topics, &api, cfg, status, &out).await;
                status.set("running");
                Duration::from_secs(cfg.topics.refresh_seconds)
            }
            Err(e) => {
                status.set(if channels.runners.is_empty() { "error" } else { "running" });
                tracing::warn!(error = %e, "genesys: building topics failed");
                status.failed(e.to_string());
                cfg.channel.reconnect_delay * 6
            }
        };
        status.beat(heartbeats).await;
        // The guard `wait_for` returns must not live across the channels' shutdown (it is not `Send`).
        let stopped = async {
            let _ = stopping.wait_for(|s| *s).await;
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped => {
                channels.stop_all().await;
                return;
            }
        }
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
    let status = Status::new(&cfg, delivery, courier.clone());
    let beating = status.clone();
    let heartbeat =
        crate::heartbeat::every(heartbeats.clone(), GENESYS_CONNECTOR, cfg.heartbeat_every, move || beating.document());
    // Messages from every channel → events → one ordered forwarding stream.
    let (messages_tx, messages) = mpsc::unbounded_channel::<Value>();
    let (events, pump) = courier.start(&format!("connector-{}", chrono::Utc::now().timestamp_millis()));
    let mapper = spawn_mapper(messages, events);
    let stopper = async {
        stop.await;
        tracing::info!("genesys connector: stopping");
        status.set("stopping");
        status.beat(heartbeats.as_ref()).await;
        let _ = stopping_tx.send(true);
    };
    tokio::join!(supervise(&cfg, api, &status, heartbeats.as_ref(), messages_tx, stopping), stopper);
    // The channels are closed and their senders dropped: the mapper ends, then the pump drains.
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
