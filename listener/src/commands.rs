//! The `listener` subcommands behind the thin `main.rs`: settings from the environment, flags on top.

use crate::audiohook::config::{AudiohookConfig, normalize_path};
use crate::audiohook::service::{self, Ports};
use crate::forward::{Delivery, DryRun, HttpIngest, Ingest, IngestUrls, ServiceIngest};
use crate::genesys::{
    self,
    api::{Api, ApiSettings},
    connector::ConnectorConfig,
    topics::{Mode, TopicSettings},
};
use crate::simulate::{self as sim, Audio, Options};
use crate::storage::Storage;
use crate::supervise::{Failure, Stopper, supervise};
use shared::ports::Heartbeats;
use shared::process::metrics::{self, Installed, MetricsConfig};
use shared::realtime::RealtimeService;
use shared::settings::env::{EnvError, ProcessEnv};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where AudioHook listens: flags over `GENESYS_AUDIOHOOK_HOST`, `_PORT` and `_PATH`.
#[derive(Debug, clap::Args)]
pub struct Listen {
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long)]
    pub path: Option<String>,
}

/// Where the connector forwards: a flag over `GENESYS_TARGET_INGEST_URL`.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Events ingest URL (default `GENESYS_TARGET_INGEST_URL`, else `REALTIME_INGEST_URL`/api/realtime/events).
    #[arg(long)]
    pub target_ingest_url: Option<String>,
}

fn audiohook_config(listen: Listen) -> Result<AudiohookConfig, BoxError> {
    let mut cfg = AudiohookConfig::from_env(&ProcessEnv)?;
    cfg.host = listen.host.unwrap_or(cfg.host);
    cfg.port = listen.port.unwrap_or(cfg.port);
    cfg.path = listen.path.map_or(cfg.path, |p| normalize_path(&p));
    Ok(cfg)
}

/// The connector's settings, and whether the flag named an ingest URL (which then wins over in-process).
fn connector_config(target: Target) -> Result<(ConnectorConfig, bool), BoxError> {
    let mut cfg = ConnectorConfig::from_env(&ProcessEnv)?;
    let flagged = target.target_ingest_url.is_some();
    cfg.ingest_url = target.target_ingest_url.unwrap_or(cfg.ingest_url);
    Ok((cfg, flagged))
}

/// Where a service forwards, and its name for the logs: nowhere on a dry run; into `realtime`, this
/// process's realtime service, when storage built one (on AWS with no ingest URL set); else over HTTP, as
/// `http` builds it.
fn ingest_target(
    dry_run: bool,
    realtime: Option<&Arc<RealtimeService>>,
    http: impl FnOnce() -> Result<HttpIngest, reqwest::Error>,
) -> Result<(Arc<dyn Ingest>, &'static str), BoxError> {
    Ok(match (dry_run, realtime) {
        (true, _) => (Arc::new(DryRun), "none"),
        (false, Some(r)) => (Arc::new(ServiceIngest(r.clone())), "in_process"),
        (false, None) => (Arc::new(http()?), "http"),
    })
}

/// The AudioHook server with its forwarding and its socket bound: ready to serve.
struct Audiohook {
    cfg: AudiohookConfig,
    socket: TcpListener,
    ingest: Arc<dyn Ingest>,
    ports: Ports,
    dry_run: bool,
}

impl Audiohook {
    async fn bind(cfg: AudiohookConfig, storage: Storage, dry_run: bool) -> Result<Self, BoxError> {
        let f = &cfg.forward;
        let (ingest, forwarding) = ingest_target(dry_run, storage.realtime.as_ref(), || {
            HttpIngest::new(f.urls.clone(), f.token.clone(), f.http_timeout)
        })?;
        let ports = storage.ports;
        let socket = TcpListener::bind((cfg.host.as_str(), cfg.port))
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", cfg.host, cfg.port))?;
        tracing::info!(addr = %socket.local_addr()?, path = %cfg.path, dry_run, forwarding, "audiohook: listening");
        Ok(Self { cfg, socket, ingest, ports, dry_run })
    }

    async fn serve(self, stop: impl Future<Output = ()>) {
        service::run(self.cfg, self.socket, self.ingest, self.ports, Delivery::from_dry_run(self.dry_run), stop).await;
    }
}

/// The connector with its forwarding: ready to run.
struct Connector {
    cfg: ConnectorConfig,
    ingest: Arc<dyn Ingest>,
    /// How it forwards (`in_process`, `http`, `none`), for the log.
    forwarding: &'static str,
    heartbeats: Arc<dyn Heartbeats>,
    dry_run: bool,
}

impl Connector {
    /// `realtime` is where storage says to forward (`None`: HTTP); `flagged_url` (the flag) overrides it.
    fn new((cfg, flagged_url): (ConnectorConfig, bool), storage: &Storage, dry_run: bool) -> Result<Self, BoxError> {
        let realtime = storage.realtime.as_ref().filter(|_| !flagged_url);
        let (ingest, forwarding) = ingest_target(dry_run, realtime, || {
            let urls = IngestUrls { audio: String::new(), events: cfg.ingest_url.clone() };
            HttpIngest::new(urls, cfg.ingest_token.clone(), cfg.api.timeout)
        })?;
        Ok(Self { cfg, ingest, forwarding, heartbeats: storage.ports.heartbeats.clone(), dry_run })
    }

    async fn serve(self, stop: impl Future<Output = ()>) -> Result<(), reqwest::Error> {
        tracing::info!(dry_run = self.dry_run, forwarding = self.forwarding, "genesys connector: starting");
        genesys::connector::run(self.cfg, self.ingest, self.heartbeats, Delivery::from_dry_run(self.dry_run), stop)
            .await
    }
}

/// Installs the listener's metrics: Prometheus for `/metrics`, and EMF lines on stdout every interval
/// with `METRICS_EMF=true` (see `shared::process::metrics`).
fn install_metrics() -> Result<&'static Installed, EnvError> {
    let cfg = MetricsConfig::from_env(&ProcessEnv, &metrics::binary_name())?;
    let installed = metrics::install(true, cfg.emf_target());
    installed.flush_emf_every(cfg.emf_interval);
    Ok(installed)
}

pub async fn audiohook(dry_run: bool, listen: Listen) -> Result<(), BoxError> {
    let stop = shared::process::shutdown::signal();
    let metrics = install_metrics()?;
    let cfg = audiohook_config(listen)?;
    let storage = crate::storage::from_env(&ProcessEnv).await?;
    Audiohook::bind(cfg, storage, dry_run).await?.serve(stop).await;
    // What happened since the last interval, before the process is gone.
    metrics.flush_emf();
    Ok(())
}

pub async fn connector(dry_run: bool, target: Target) -> Result<(), BoxError> {
    let stop = shared::process::shutdown::signal();
    let metrics = install_metrics()?;
    let cfg = connector_config(target)?;
    let storage = crate::storage::from_env(&ProcessEnv).await?;
    Connector::new(cfg, &storage, dry_run)?.serve(stop).await?;
    metrics.flush_emf();
    Ok(())
}

/// What stopped `listener all`: a service that could not start, or the ones that failed while running.
#[derive(Debug, Error)]
pub enum AllError {
    #[error("{service}: {error}")]
    Start { service: &'static str, error: BoxError },
    #[error("{}", .0.iter().map(Failure::to_string).collect::<Vec<_>>().join("; "))]
    Failed(Vec<Failure>),
}

/// `listener all`: AudioHook and the connector in this process, on one storage and one stop signal, each
/// with its own heartbeat (see `supervise` for what happens when one fails). Both configurations are
/// checked before either starts, so a missing setting of one never leaves the other running alone.
pub async fn all(dry_run: bool, listen: Listen, target: Target) -> Result<(), AllError> {
    let stop = shared::process::shutdown::signal();
    let start = |service| move |error| AllError::Start { service, error };
    let metrics = install_metrics().map_err(|e| start("metrics")(e.into()))?;
    let audiohook_cfg = audiohook_config(listen).map_err(start("audiohook"))?;
    let connector_cfg = connector_config(target).map_err(start("connector"))?;
    let storage = crate::storage::from_env(&ProcessEnv).await.map_err(|e| start("storage")(e.into()))?;
    let connector = Connector::new(connector_cfg, &storage, dry_run).map_err(start("connector"))?;
    let audiohook = Audiohook::bind(audiohook_cfg, storage, dry_run).await.map_err(start("audiohook"))?;
    let stopper = Stopper::default();
    let (audiohook_stop, connector_stop) = (stopper.stopped(), stopper.stopped());
    let services = vec![
        (
            "audiohook",
            tokio::spawn(async move {
                audiohook.serve(audiohook_stop).await;
                Ok(())
            }),
        ),
        ("connector", tokio::spawn(async move { connector.serve(connector_stop).await.map_err(|e| e.to_string()) })),
    ];
    let failures = supervise(stop, stopper, services).await;
    metrics.flush_emf();
    if failures.is_empty() { Ok(()) } else { Err(AllError::Failed(failures)) }
}

/// `build-topics` flags that override the topic settings from the environment.
pub struct TopicChoice {
    pub mode: Option<String>,
    pub queue_filter: Vec<String>,
    pub user_filter: Vec<String>,
    pub email_domain: Vec<String>,
    pub max_queues: Option<usize>,
    pub max_users: Option<usize>,
}

pub async fn build_topics(
    c: TopicChoice,
    as_env: bool,
    output_file: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let api = Api::new(ApiSettings::from_env(&ProcessEnv)?)?;
    let mut s = TopicSettings::from_env(&ProcessEnv)?;
    if let Some(mode) = c.mode {
        s.mode = Mode::parse(&mode);
        s.mode_name = mode.to_lowercase();
    }
    let lower =
        |v: Vec<String>| v.into_iter().map(|x| x.trim().to_lowercase()).filter(|x| !x.is_empty()).collect::<Vec<_>>();
    if !c.queue_filter.is_empty() {
        s.queue_filters = lower(c.queue_filter);
    }
    if !c.user_filter.is_empty() {
        s.user_filters = lower(c.user_filter);
    }
    if !c.email_domain.is_empty() {
        s.email_domains = lower(c.email_domain).into_iter().map(|d| d.trim_start_matches('@').to_string()).collect();
    }
    s.max_queues = c.max_queues.unwrap_or(s.max_queues);
    s.max_users = c.max_users.unwrap_or(s.max_users);
    let preview = genesys::discovery::build(&api, &s).await?;
    if let Some(path) = output_file {
        std::fs::write(&path, serde_json::to_string_pretty(&preview.file())?)?;
    }
    if as_env {
        println!("GENESYS_SUBSCRIPTION_TOPICS={}", preview.topics.join(","));
    } else {
        println!("{}", serde_json::to_string_pretty(&preview.summary())?);
    }
    Ok(())
}

pub async fn simulate(opts: Options, wav: PathBuf, count: usize, stagger: Duration) -> Result<bool, sim::SimError> {
    let audio = Arc::new(Audio::from_wav(&wav)?);
    let results = sim::sessions(Arc::new(opts), audio, count, stagger).await;
    let mut ok = true;
    for r in &results {
        let opened = r.opened_after.map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0));
        match &r.outcome {
            Ok(()) => println!(
                "ok     session {} conversation {} opened {opened} frames {}",
                r.session_id, r.conversation_id, r.frames_sent
            ),
            Err(e) => {
                ok = false;
                println!(
                    "FAILED session {} conversation {} opened {opened} frames {}: {e}",
                    r.session_id, r.conversation_id, r.frames_sent
                );
            }
        }
    }
    let passed = results.iter().filter(|r| r.outcome.is_ok()).count();
    println!("{passed}/{} sessions succeeded", results.len());
    Ok(ok)
}
