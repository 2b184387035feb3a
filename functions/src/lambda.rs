//! AWS Lambda entrypoints (feature `aws`): the same routers as the local process, on the AWS adapters
//! (DynamoDB, S3, push through the API Gateway WebSocket API). Each binary in `functions/lambda/` serves one
//! endpoint group with `serve`; everything else is here once.

use crate::auth::{Credentials, SupervisorAuth};
use crate::state::{AppState, HealthConfig};
use axum::Router;
use axum::extract::Request;
use lambda_http::request::RequestContext;
use shared::adapters::aws::{ApiGatewayPush, AwsSettings, DynamoStore, S3BlobStore, SqsJobQueue};
use shared::analysis::llm::LlmConfig;
use shared::audio::AudioConfig;
use shared::batch::{BatchConfig, BatchService};
use shared::config::RealtimeConfig;
use shared::env::{self, EnvError, EnvSource, ProcessEnv};
use shared::realtime::RealtimeService;
use shared::stt::SttConfig;
use std::sync::Arc;

/// Settings of every Lambda, from the environment the SAM template sets.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub aws: AwsSettings,
    pub realtime: RealtimeConfig,
    pub health: HealthConfig,
    /// `REALTIME_INGEST_TOKEN` (required on AWS).
    pub ingest_token: String,
    /// `WEBSOCKET_CALLBACK_URL`: the WebSocket API's connection endpoint, for push.
    pub websocket_callback_url: String,
    /// `JOB_QUEUE_URL`: the batch jobs queue (S3 upload notifications arrive there too).
    pub job_queue_url: String,
    pub batch: BatchConfig,
    pub audio: AudioConfig,
    pub stt: SttConfig,
    pub llm: LlmConfig,
}

impl LambdaConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        Ok(Self {
            aws: AwsSettings::from_env(e)?,
            realtime: RealtimeConfig::from_env(e)?,
            health: HealthConfig::from_env(e)?,
            ingest_token: env::required(e, "REALTIME_INGEST_TOKEN")?,
            websocket_callback_url: env::required(e, "WEBSOCKET_CALLBACK_URL")?,
            job_queue_url: env::required(e, "JOB_QUEUE_URL")?,
            batch: BatchConfig::from_env(e)?,
            audio: AudioConfig::from_env(e)?,
            stt: SttConfig::from_env(e)?,
            llm: LlmConfig::from_env(e)?,
        })
    }
}

/// The handlers' state on the AWS adapters. Uploads reach the queue through S3's notification, so the
/// upload path does not enqueue.
pub fn app_state(cfg: &LambdaConfig, sdk: &aws_config::SdkConfig) -> Result<AppState, lambda_http::Error> {
    let store = Arc::new(DynamoStore::new(sdk, &cfg.aws));
    let push = Arc::new(ApiGatewayPush::new(sdk, store.clone(), &cfg.websocket_callback_url));
    let blobs = Arc::new(S3BlobStore::new(sdk, &cfg.aws));
    let realtime = RealtimeService::new(store.clone(), blobs.clone(), push.clone(), cfg.realtime.clone());
    let batch = BatchService::new(
        store.clone(),
        blobs,
        Arc::new(SqsJobQueue::new(sdk, &cfg.job_queue_url)),
        push,
        store.clone(),
        Arc::from(cfg.stt.build()?),
        cfg.audio.clone(),
        cfg.batch.clone(),
        true,
    )
    .with_llm(cfg.llm.client()?);
    Ok(AppState {
        realtime: Arc::new(realtime),
        batch: Arc::new(batch),
        heartbeats: store.clone(),
        tickets: store,
        credentials: Arc::new(Credentials {
            ingest_token: cfg.ingest_token.clone(),
            supervisor: SupervisorAuth::ApiGatewayJwt,
        }),
        health: Arc::new(cfg.health.clone()),
    })
}

/// True when API Gateway's JWT authorizer verified the request (its claims are in the request context).
pub fn jwt_verified(req: &Request) -> bool {
    match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).is_some_and(|jwt| !jwt.claims.is_empty())
        }
        _ => false,
    }
}

/// What every function does once per container: JSON logs (same `LOG_LEVEL` / `RUST_LOG` as locally, to
/// stdout for CloudWatch, never files) and the SDK configuration.
pub async fn init() -> Result<aws_config::SdkConfig, lambda_http::Error> {
    let log = shared::logging::LogConfig { json: true, dir: None, ..shared::logging::LogConfig::from_env(&ProcessEnv) };
    shared::logging::init(&log)?;
    Ok(shared::adapters::aws::sdk_config().await)
}

/// Runs one endpoint group as a Lambda function: state built once per container, then `lambda_http::run`
/// for every invocation.
pub async fn serve(group: fn(&AppState) -> Router<AppState>) -> Result<(), lambda_http::Error> {
    let sdk = init().await?;
    let state = app_state(&LambdaConfig::from_env(&ProcessEnv)?, &sdk)?;
    lambda_http::run(group(&state).with_state(state)).await
}

/// One housekeeping pass (what the local process does every `HOUSEKEEPING_INTERVAL_SECONDS`): ends calls
/// left idle and deletes expired ones. A failure fails the invocation, so the schedule retries it.
pub async fn sweep(realtime: &RealtimeService) -> Result<serde_json::Value, lambda_http::Error> {
    let report = realtime.sweep().await?;
    tracing::info!(ended = report.ended, purged = report.purged, "housekeeping pass");
    Ok(serde_json::json!({"ended": report.ended, "purged": report.purged}))
}

/// Runs the scheduled housekeeping function: the realtime pass, then the batch one (calls left queued
/// without a job are queued again, direct uploads that never arrived fail).
pub async fn serve_housekeeping() -> Result<(), lambda_http::Error> {
    let sdk = init().await?;
    let state = app_state(&LambdaConfig::from_env(&ProcessEnv)?, &sdk)?;
    let (realtime, batch) = (state.realtime.as_ref(), state.batch.as_ref());
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |_: lambda_http::LambdaEvent<serde_json::Value>| async move {
            let mut report = sweep(realtime).await?;
            let b = batch.sweep().await?;
            report["requeued"] = b.requeued.into();
            report["expired_uploads"] = b.expired_uploads.into();
            Ok::<_, lambda_http::Error>(report)
        },
    ))
    .await
}

/// One Genesys notification from the Amazon EventBridge source integration (`detail` is the notification
/// the WebSocket would carry): the connector's mapping, then the realtime ingest. Replays are applied once
/// (event ids come from the notification); an invalid event is logged and skipped; a storage failure fails
/// the invocation so EventBridge retries it.
pub async fn genesys_events(
    realtime: &Arc<RealtimeService>,
    event: &serde_json::Value,
) -> Result<serde_json::Value, lambda_http::Error> {
    use shared::realtime::ingest::{DeliveryError, Ingest, Kind, Outgoing, ServiceIngest};
    let detail = event.get("detail").unwrap_or(&serde_json::Value::Null);
    let ingest = ServiceIngest(realtime.clone());
    let (mut ingested, mut rejected) = (0, 0);
    for body in shared::genesys::mapping::map_message(detail, chrono::Utc::now()) {
        match ingest.deliver(&Outgoing { kind: Kind::Event, body }).await {
            Ok(()) => ingested += 1,
            Err(DeliveryError::Rejected(why)) => {
                rejected += 1;
                tracing::warn!(error = %why, "genesys event rejected");
            }
            Err(e @ DeliveryError::Unavailable(_)) => return Err(e.into()),
        }
    }
    Ok(serde_json::json!({"ingested": ingested, "rejected": rejected}))
}

/// Runs the Genesys EventBridge function.
pub async fn serve_genesys_events() -> Result<(), lambda_http::Error> {
    let sdk = init().await?;
    let state = app_state(&LambdaConfig::from_env(&ProcessEnv)?, &sdk)?;
    let realtime = &state.realtime;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |e: lambda_http::LambdaEvent<serde_json::Value>| async move { genesys_events(realtime, &e.payload).await },
    ))
    .await
}

/// One message of an SQS event (the fields the worker reads).
#[derive(serde::Deserialize)]
struct SqsRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(rename = "receiptHandle")]
    receipt_handle: String,
    body: String,
    #[serde(default)]
    attributes: std::collections::HashMap<String, String>,
}

#[derive(serde::Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records", default)]
    records: Vec<SqsRecord>,
}

/// Batch jobs from SQS (our `{"call_id"}` messages and S3 upload notifications). Reports partial batch
/// failures: a job to retry gets its backoff as the message's visibility and is listed as failed, so SQS
/// delivers it again then (and to the dead-letter queue after the receive limit, the call already failed
/// with the reason); the others are deleted.
pub async fn batch_jobs(
    batch: &shared::batch::BatchService,
    event: serde_json::Value,
) -> Result<serde_json::Value, lambda_http::Error> {
    use shared::batch::worker::JobOutcome;
    let event: SqsEvent = serde_json::from_value(event)?;
    let mut failures = Vec::new();
    for r in event.records {
        let attempts = r.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
        let job = shared::ports::ReceivedJob { receipt: r.receipt_handle, body: r.body, attempts };
        let delay = match batch.handle(&job).await {
            JobOutcome::Done => continue,
            JobOutcome::RetryAfter(delay) => delay,
            JobOutcome::DeadLetter => std::time::Duration::ZERO,
        };
        if let Err(e) = batch.queue.retry_later(&job.receipt, delay).await {
            tracing::warn!(error = %e, "could not set the retry delay; the queue's visibility timeout applies");
        }
        failures.push(serde_json::json!({"itemIdentifier": r.message_id}));
    }
    Ok(serde_json::json!({"batchItemFailures": failures}))
}

/// Runs the batch worker function.
pub async fn serve_batch_worker() -> Result<(), lambda_http::Error> {
    let sdk = init().await?;
    let state = app_state(&LambdaConfig::from_env(&ProcessEnv)?, &sdk)?;
    let batch = &state.batch;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |e: lambda_http::LambdaEvent<serde_json::Value>| async move { batch_jobs(batch, e.payload).await },
    ))
    .await
}
