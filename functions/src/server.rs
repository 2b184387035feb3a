//! The one local process: every handler on one port over the embedded adapters (SQLite file and folder
//! under `DATA_DIR`, in-process push), with the WebSocket push and graceful shutdown.

use crate::app::local_router;
use crate::auth::Credentials;
use crate::local_audiohook::{self, GeneratedKeys};
use crate::local_secrets::{SecretSource, resolve_credentials};
use crate::startup::{self, Backend, ServiceSettings, StartupError};
use crate::ws::WsState;
use listener::audiohook::config::AudiohookConfig;
use listener::audiohook::nonces::NonceCache;
use listener::audiohook::service::{self as audiohook, Ports};
use listener::forward::Delivery;
use listener::genesys::connector::ConnectorConfig;
use shared::adapters::embedded::BroadcastPush;
use shared::batch::BatchService;
use shared::ports::{Heartbeats, StoreError};
use shared::process::metrics::{self, MetricsConfig};
use shared::realtime::RealtimeService;
use shared::realtime::ingest::ServiceIngest;
use shared::settings::env::{self, EnvError, EnvSource};
use shared::speech::{SttConfig, Transcriber};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Messages buffered per WebSocket subscriber before a slow one starts missing them.
const PUSH_BUFFER: usize = 1024;
/// How long shutdown waits for running batch jobs.
const WORKER_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("HTTP_ADDR={0:?} is not a socket address like 127.0.0.1:8009")]
    BadAddr(String),
    #[error("refusing to listen on non-loopback {0} without SUPERVISOR_TOKEN and REALTIME_INGEST_TOKEN set")]
    InsecureBind(SocketAddr),
    #[error("credentials file {path}: {reason}")]
    Credentials { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audiohook(#[from] listener::audiohook::config::ConfigError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `HTTP_ADDR` (127.0.0.1:8009).
    pub http_addr: SocketAddr,
    /// `DATA_DIR` (data): the SQLite file, blobs and generated credentials live here.
    pub data_dir: PathBuf,
    /// `REALTIME_INGEST_TOKEN`; generated and kept in `DATA_DIR/credentials.json` when unset.
    pub ingest_token: Option<String>,
    /// `SUPERVISOR_TOKEN`; generated and kept in `DATA_DIR/credentials.json` when unset.
    pub supervisor_token: Option<String>,
    /// The services' settings; `STT_PROVIDER`, when unset, is the embedded whisper engine if a model is
    /// installed (see [`SttConfig::local_from_env`]), else none.
    pub services: ServiceSettings,
    /// `HOUSEKEEPING_INTERVAL_SECONDS` (60): how often idle calls are ended and expired ones deleted.
    pub housekeeping_interval_seconds: u64,
    /// `WEB_DIR` (web/dist): the built web UI.
    pub web_dir: PathBuf,
    /// `METRICS_*`: `/metrics` is always served; EMF lines too with `METRICS_EMF=true`.
    pub metrics: MetricsConfig,
}

impl ServeConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, ServeError> {
        let addr = env::string(e, "HTTP_ADDR").unwrap_or_else(|| "127.0.0.1:8009".into());
        Ok(Self {
            http_addr: addr.parse().map_err(|_| ServeError::BadAddr(addr))?,
            data_dir: PathBuf::from(env::string(e, "DATA_DIR").unwrap_or_else(|| "data".into())),
            ingest_token: env::string(e, "REALTIME_INGEST_TOKEN"),
            supervisor_token: env::string(e, "SUPERVISOR_TOKEN"),
            services: ServiceSettings::from_env(e, SttConfig::local_from_env(e)?)?,
            housekeeping_interval_seconds: env::parsed(e, "HOUSEKEEPING_INTERVAL_SECONDS", 60, "whole number")?.max(1),
            web_dir: PathBuf::from(env::string(e, "WEB_DIR").unwrap_or_else(|| "web/dist".into())),
            metrics: MetricsConfig::from_env(e, &metrics::binary_name())?,
        })
    }
}

/// The local process as `call-analytics serve` starts it: settings from the environment, the server built
/// and its sockets bound. The binary and the tests both start here, so the tests run what ships.
pub struct Bound {
    pub config: ServeConfig,
    pub server: LocalServer,
    /// The HTTP socket, for [`LocalServer::serve`].
    pub http: TcpListener,
    /// AudioHook's `ws://` URL, and where its keys came from; `None` with `GENESYS_AUDIOHOOK_ENABLED=false`.
    pub audiohook: Option<(String, SecretSource<GeneratedKeys>)>,
    /// The Genesys connector's settings when `GENESYS_CLIENT_ID` is set (it then runs in-process).
    pub connector: Option<ConnectorConfig>,
}

/// A built local server, ready to serve on a listener.
pub struct LocalServer {
    router: axum::Router,
    shutdown: watch::Sender<bool>,
    realtime: Arc<RealtimeService>,
    batch: Arc<BatchService>,
    heartbeats: Arc<dyn Heartbeats>,
    /// The batch worker's speech-to-text settings and the engine built with them for live utterances
    /// (sharing the batch's loaded model); AudioHook's live transcription uses it when configured alike.
    live_stt: (SttConfig, Arc<dyn Transcriber>),
    audiohook: Option<(AudiohookConfig, TcpListener)>,
    connector: Option<ConnectorConfig>,
    housekeeping_every: Duration,
    pub credentials: Credentials,
    /// Where the supervisor and ingest tokens came from (the tokens themselves only when generated now).
    pub credential_source: SecretSource<Credentials>,
}

impl LocalServer {
    /// Opens the embedded adapters under `DATA_DIR` and builds every route.
    pub fn build(cfg: &ServeConfig) -> Result<Self, ServeError> {
        if !cfg.http_addr.ip().is_loopback() && (cfg.ingest_token.is_none() || cfg.supervisor_token.is_none()) {
            return Err(ServeError::InsecureBind(cfg.http_addr));
        }
        let (credentials, credential_source) = resolve_credentials(cfg)?;
        let push = BroadcastPush::new(PUSH_BUFFER);
        let backend = Backend::embedded(&cfg.data_dir, push.clone(), cfg.services.batch.lease)?;
        let services = startup::wire(backend, &cfg.services, credentials.clone())?;
        let app = services.state;
        let (realtime, batch, heartbeats) = (app.realtime.clone(), app.batch.clone(), app.heartbeats.clone());
        let (shutdown, rx) = watch::channel(false);
        let router = local_router(WsState { app, push, shutdown: rx }, &cfg.web_dir);
        let housekeeping_every = Duration::from_secs(cfg.housekeeping_interval_seconds);
        Ok(Self {
            router,
            shutdown,
            realtime,
            batch,
            heartbeats,
            live_stt: (cfg.services.stt.clone(), services.live_stt),
            audiohook: None,
            connector: None,
            housekeeping_every,
            credentials,
            credential_source,
        })
    }

    /// Every route as served, for driving requests through it in-process (`tower::ServiceExt::oneshot`)
    /// without a socket: what the fuzz targets send to the handlers.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Reads the settings from `e`, builds the server and binds its sockets (see [`Bound`]).
    pub async fn bind(e: &dyn EnvSource) -> Result<Bound, ServeError> {
        let config = ServeConfig::from_env(e)?;
        // Before anything records: handles made earlier would record nowhere.
        metrics::install(true, config.metrics.emf_target()).flush_emf_every(config.metrics.emf_interval);
        let mut server = Self::build(&config)?;
        let supervisor_token = server.credentials.supervisor_token();
        let audiohook = local_audiohook::config(e, &config.data_dir, &config.services.stt, supervisor_token)?;
        let http = TcpListener::bind(config.http_addr).await?;
        let audiohook = match audiohook {
            Some((ah, keys)) => {
                let socket = TcpListener::bind((ah.host.as_str(), ah.port)).await?;
                let url = format!("ws://{}{}", socket.local_addr()?, ah.path);
                server.audiohook = Some((ah, socket));
                Some((url, keys))
            }
            None => None,
        };
        let connector = env::string(e, "GENESYS_CLIENT_ID").map(|_| ConnectorConfig::from_env(e)).transpose()?;
        server.connector = connector.clone();
        Ok(Bound { config, server, http, audiohook, connector })
    }

    /// Serves until `stop` resolves, then closes WebSocket sessions and drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let shutdown = self.shutdown;
        let stopped = |shutdown: &watch::Sender<bool>| {
            let mut stopping = shutdown.subscribe();
            async move {
                let _ = stopping.wait_for(|s| *s).await;
            }
        };
        let ingest = Arc::new(ServiceIngest(self.realtime.clone()));
        let connector = self.connector.map(|cfg| {
            let (ingest, heartbeats, stop) = (ingest.clone(), self.heartbeats.clone(), stopped(&shutdown));
            tokio::spawn(async move {
                if let Err(e) =
                    listener::genesys::connector::run(cfg, ingest, heartbeats, Delivery::Forward, stop).await
                {
                    tracing::error!(error = %e, "genesys connector could not start");
                }
            })
        });
        let audiohook = self.audiohook.map(|(cfg, socket)| {
            let (stt, engine) = self.live_stt;
            let transcriber = (cfg.live.stt == stt).then_some(engine);
            let ports = Ports {
                blobs: self.realtime.blobs.clone(),
                heartbeats: self.heartbeats,
                nonces: Arc::new(NonceCache::default()),
                transcriber,
            };
            tokio::spawn(audiohook::run(cfg, socket, ingest, ports, Delivery::Forward, stopped(&shutdown)))
        });
        take_up_what_a_stop_left(&self.batch).await;
        let housekeeping = tokio::spawn(housekeeping(self.realtime, self.batch.clone(), self.housekeeping_every));
        let worker = tokio::spawn(shared::batch::worker::run(self.batch, stopped(&shutdown)));
        let served = axum::serve(listener, self.router)
            .with_graceful_shutdown(async move {
                stop.await;
                tracing::info!("shutting down: closing push sessions, draining requests");
                let _ = shutdown.send(true);
            })
            .await;
        for task in [audiohook, connector].into_iter().flatten() {
            let _ = task.await;
        }
        // A job still running after the grace period is cut off; it is delivered again at the next start.
        let worker_abort = worker.abort_handle();
        if tokio::time::timeout(WORKER_GRACE, worker).await.is_err() {
            tracing::warn!("batch jobs still running at shutdown; they will run again at the next start");
            worker_abort.abort();
        }
        housekeeping.abort();
        if let Some(m) = metrics::installed() {
            m.flush_emf();
        }
        served
    }
}

/// Before the batch worker starts: what the previous run was doing when it stopped is over. Its staged
/// uploads are deleted and the calls it left `processing` are taken up (failed when out of attempts).
async fn take_up_what_a_stop_left(batch: &BatchService) {
    match batch.clear_staged_uploads().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(uploads = n, "deleted uploads an earlier run left unfinished"),
        Err(e) => tracing::warn!(error = %e, "could not delete unfinished uploads"),
    }
    match batch.take_up_interrupted().await {
        Ok(report) if report != Default::default() => {
            tracing::info!(
                requeued = report.stalled_requeued,
                failed = report.stalled_failed,
                "took up interrupted batch calls"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not take up interrupted batch calls; housekeeping will"),
    }
}

/// Ends idle calls, deletes expired ones and requeues batch calls left without a job, every `every`, for
/// as long as the server runs.
async fn housekeeping(realtime: Arc<RealtimeService>, batch: Arc<BatchService>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = realtime.sweep().await {
            tracing::warn!(error = %e, "housekeeping failed; retrying next interval");
        }
        if let Err(e) = batch.sweep().await {
            tracing::warn!(error = %e, "batch housekeeping failed; retrying next interval");
        }
    }
}
