//! The one place services are wired, for every host: a backend's ports and the typed settings in, the
//! realtime and batch services and the handlers' [`AppState`] out. The local process (`server`, over the
//! embedded backend) and every Lambda (`lambda`, over the AWS backend) build their state here and nowhere
//! else, so what differs between the hosts is only which adapters fill the ports.

use crate::auth::Credentials;
use crate::state::{AppState, HealthConfig};
use shared::analysis::llm::{LlmConfig, LlmError};
use shared::audio::AudioConfig;
use shared::batch::{BatchConfig, BatchPorts, BatchService, UploadsQueued};
use shared::ports::{BatchStore, BlobStore, CallStore, Heartbeats, JobQueue, Push, Tickets};
use shared::realtime::RealtimeService;
use shared::realtime::config::RealtimeConfig;
use shared::settings::env::{EnvError, EnvSource};
use shared::speech::{SttConfig, SttError, Transcriber};
use std::sync::Arc;
use thiserror::Error;

/// The ports one backend provides. Named fields, because both backends put one store behind several.
pub struct Backend {
    /// Live calls, their events and alerts.
    pub calls: Arc<dyn CallStore>,
    /// Batch call records.
    pub batch_calls: Arc<dyn BatchStore>,
    pub heartbeats: Arc<dyn Heartbeats>,
    /// One-time WebSocket tickets.
    pub tickets: Arc<dyn Tickets>,
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Arc<dyn JobQueue>,
    pub push: Arc<dyn Push>,
    /// Whether the blob store queues an upload's job by itself.
    pub uploads: UploadsQueued,
}

#[cfg(feature = "local")]
impl Backend {
    /// The embedded backend under `data_dir`: one SQLite file, a blob folder and `push`, the in-process
    /// broadcast the local `/ws` also subscribes to. Jobs held by a worker of an earlier run of the process
    /// died with it, so they are released to be delivered again after a pause (`worker::restart_pause`
    /// with the batch `lease`): not at once, in case the job is what killed that run.
    pub fn embedded(
        data_dir: &std::path::Path,
        push: shared::adapters::embedded::BroadcastPush,
        lease: std::time::Duration,
    ) -> Result<Self, shared::ports::StoreError> {
        use shared::adapters::embedded::{BLOB_FOLDER, DATABASE_FILE, FolderBlobStore, SqliteStore};
        let store = Arc::new(SqliteStore::open(&data_dir.join(DATABASE_FILE))?);
        store.release_held_jobs(|attempts| shared::batch::worker::restart_pause(attempts, lease))?;
        Ok(Self {
            calls: store.clone(),
            batch_calls: store.clone(),
            heartbeats: store.clone(),
            tickets: store.clone(),
            jobs: store,
            blobs: Arc::new(FolderBlobStore::new(data_dir.join(BLOB_FOLDER))),
            push: Arc::new(push),
            uploads: UploadsQueued::ByService,
        })
    }
}

/// Where the AWS backend's resources are, from the environment the SAM template sets.
#[cfg(feature = "aws")]
#[derive(Debug, Clone)]
pub struct AwsBackendSettings {
    pub aws: shared::adapters::aws::AwsSettings,
    /// `WEBSOCKET_CALLBACK_URL`: the WebSocket API's connection endpoint, for push.
    pub websocket_callback_url: String,
    /// `JOB_QUEUE_URL`: the batch jobs queue (S3 upload notifications arrive there too).
    pub job_queue_url: String,
}

#[cfg(feature = "aws")]
impl AwsBackendSettings {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        Ok(Self {
            aws: shared::adapters::aws::AwsSettings::from_env(e)?,
            websocket_callback_url: shared::settings::env::required(e, "WEBSOCKET_CALLBACK_URL")?,
            job_queue_url: shared::settings::env::required(e, "JOB_QUEUE_URL")?,
        })
    }
}

#[cfg(feature = "aws")]
impl Backend {
    /// The AWS backend: one DynamoDB table, S3, SQS, and push through the API Gateway Management API.
    /// Uploads reach the queue through S3's notification, so the upload path does not enqueue.
    pub fn aws(sdk: &aws_config::SdkConfig, settings: &AwsBackendSettings) -> Self {
        use shared::adapters::aws::{ApiGatewayPush, DynamoStore, S3BlobStore, SqsJobQueue};
        let store = Arc::new(DynamoStore::new(sdk, &settings.aws));
        Self {
            push: Arc::new(ApiGatewayPush::new(sdk, store.clone(), &settings.websocket_callback_url)),
            calls: store.clone(),
            batch_calls: store.clone(),
            heartbeats: store.clone(),
            tickets: store,
            blobs: Arc::new(S3BlobStore::new(sdk, &settings.aws)),
            jobs: Arc::new(SqsJobQueue::new(sdk, &settings.job_queue_url)),
            uploads: UploadsQueued::ByStorageNotification,
        }
    }
}

/// The services' settings, the same on every host (docs/settings.md).
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub realtime: RealtimeConfig,
    pub health: HealthConfig,
    pub batch: BatchConfig,
    pub audio: AudioConfig,
    pub stt: SttConfig,
    pub llm: LlmConfig,
}

impl ServiceSettings {
    /// Everything from `e` but the speech-to-text provider, which is the host's choice (the local
    /// process picks whisper by itself when a model is installed, see [`SttConfig::local_from_env`]).
    pub fn from_env(e: &dyn EnvSource, stt: SttConfig) -> Result<Self, EnvError> {
        Ok(Self {
            realtime: RealtimeConfig::from_env(e)?,
            health: HealthConfig::from_env(e)?,
            batch: BatchConfig::from_env(e)?,
            audio: AudioConfig::from_env(e)?,
            stt,
            llm: LlmConfig::from_env(e)?,
        })
    }
}

#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Stt(#[from] SttError),
    #[error(transparent)]
    Llm(#[from] LlmError),
}

/// The wired services.
pub struct Services {
    pub state: AppState,
    /// The engine for live utterances: the batch one, or with whisper a second handle on the same loaded
    /// model (see [`SttConfig::build_batch_and_live`]). Only the local process's AudioHook uses it.
    pub live_stt: Arc<dyn Transcriber>,
}

/// Builds the services over `backend` with `settings`, the handlers' state with `credentials`.
pub fn wire(backend: Backend, settings: &ServiceSettings, credentials: Credentials) -> Result<Services, StartupError> {
    let engines = settings.stt.build_batch_and_live()?;
    let realtime = RealtimeService::new(
        backend.calls.clone(),
        backend.blobs.clone(),
        backend.push.clone(),
        settings.realtime.clone(),
    );
    let ports = BatchPorts {
        store: backend.batch_calls,
        blobs: backend.blobs,
        queue: backend.jobs,
        push: backend.push,
        calls: backend.calls,
        stt: engines.batch,
    };
    let batch = BatchService::new(ports, settings.audio.clone(), settings.batch.clone(), backend.uploads)
        .with_llm(settings.llm.client()?);
    let state = AppState {
        realtime: Arc::new(realtime),
        batch: Arc::new(batch),
        heartbeats: backend.heartbeats,
        tickets: backend.tickets,
        credentials: Arc::new(credentials),
        health: Arc::new(settings.health.clone()),
        response_limit: None,
    };
    Ok(Services { state, live_stt: engines.live })
}
