//! AWS Lambda entrypoints (feature `aws`): the same routers as the local process, on the AWS adapters
//! (DynamoDB, S3, push through the API Gateway WebSocket API). Each binary in `functions/lambda/` serves one
//! endpoint group with `serve`; everything else is here once.

use crate::auth::{Credentials, SupervisorAuth};
use crate::startup::{self, AwsBackendSettings, Backend, ServiceSettings};
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use lambda_http::request::RequestContext;
use shared::realtime::RealtimeService;
use shared::settings::env::{self, EnvError, EnvSource, ProcessEnv};
use shared::settings::secret::Secret;
use shared::speech::SttConfig;
use std::sync::Arc;

/// Settings of every Lambda, from the environment the SAM template sets.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub backend: AwsBackendSettings,
    pub services: ServiceSettings,
    /// `REALTIME_INGEST_TOKEN` (required on AWS; the template passes `REALTIME_INGEST_TOKEN_SECRET_ARN`).
    pub ingest_token: Secret,
}

impl LambdaConfig {
    /// The settings of a function that never transcribes (every one but the batch worker). The
    /// speech-to-text provider's settings are not read: a provider missing its key must not stop ingest,
    /// the supervisors' reads or housekeeping from starting; only the worker, which calls it, refuses.
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        Self::with_stt(e, SttConfig::None)
    }

    /// The batch worker's settings: also its speech-to-text provider, validated at its cold start, so a
    /// missing key fails there, naming the variable, instead of every job later.
    pub fn batch_worker_from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        Self::with_stt(e, SttConfig::from_env(e)?)
    }

    fn with_stt(e: &dyn EnvSource, stt: SttConfig) -> Result<Self, EnvError> {
        Ok(Self {
            backend: AwsBackendSettings::from_env(e)?,
            services: ServiceSettings::from_env(e, stt)?,
            ingest_token: env::required(e, "REALTIME_INGEST_TOKEN")?.into(),
        })
    }
}

/// Most bytes a response body may take in a function's answer: Lambda caps the response payload (the JSON
/// the function returns to API Gateway) at 6 MB; 64 KB of it are left for the status and headers.
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024 - 64 * 1024;

/// The handlers' state on the AWS backend; supervisors are authenticated by API Gateway's JWT authorizer.
pub fn app_state(cfg: &LambdaConfig, sdk: &aws_config::SdkConfig) -> Result<AppState, lambda_http::Error> {
    let credentials =
        Credentials { ingest_token: cfg.ingest_token.expose().to_string(), supervisor: SupervisorAuth::ApiGatewayJwt };
    let state = startup::wire(Backend::aws(sdk, &cfg.backend), &cfg.services, credentials)?.state;
    Ok(AppState { response_limit: Some(RESPONSE_LIMIT), ..state })
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
    let log = shared::process::logging::LogConfig {
        json: true,
        dir: None,
        ..shared::process::logging::LogConfig::from_env(&ProcessEnv)
    };
    shared::process::logging::init(&log)?;
    Ok(shared::adapters::aws::sdk_config().await)
}

/// The state of this container, built once at its cold start and used by every invocation it serves, with
/// the settings `config` reads ([`LambdaConfig::from_env`] unless the function transcribes), keys and
/// tokens read from Secrets Manager where the environment names them by ARN.
async fn container_state(
    config: fn(&dyn EnvSource) -> Result<LambdaConfig, EnvError>,
) -> Result<AppState, lambda_http::Error> {
    let sdk = init().await?;
    let env = crate::lambda_secrets::resolve(&ProcessEnv, &aws_sdk_secretsmanager::Client::new(&sdk)).await?;
    app_state(&config(&env)?, &sdk)
}

/// Runs one endpoint group as a Lambda function: `lambda_http::run` over the container's state.
pub async fn serve(group: fn(&AppState) -> Router<AppState>) -> Result<(), lambda_http::Error> {
    let state = container_state(LambdaConfig::from_env).await?;
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
/// without a job are queued again, direct uploads that never arrived fail, calls a stopped worker left
/// processing are queued again or, out of attempts, failed).
pub async fn serve_housekeeping() -> Result<(), lambda_http::Error> {
    let state = container_state(LambdaConfig::from_env).await?;
    let (realtime, batch) = (state.realtime.as_ref(), state.batch.as_ref());
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |_: lambda_http::LambdaEvent<serde_json::Value>| async move {
            let mut report = sweep(realtime).await?;
            let b = batch.sweep().await?;
            report["requeued"] = b.requeued.into();
            report["expired_uploads"] = b.expired_uploads.into();
            report["stalled_requeued"] = b.stalled_requeued.into();
            report["stalled_failed"] = b.stalled_failed.into();
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
    use shared::realtime::ingest::{DeliveryError, Ingest, Outgoing, ServiceIngest};
    let detail = event.get("detail").unwrap_or(&serde_json::Value::Null);
    let ingest = ServiceIngest(realtime.clone());
    let (mut ingested, mut rejected) = (0, 0);
    for body in shared::genesys::mapping::map_message(detail, chrono::Utc::now()) {
        match ingest.deliver(&Outgoing::event(body)).await {
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
    let state = container_state(LambdaConfig::from_env).await?;
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
        if let Err(e) = batch.ports.queue.retry_later(&job.receipt, delay).await {
            tracing::warn!(error = %e, "could not set the retry delay; the queue's visibility timeout applies");
        }
        failures.push(serde_json::json!({"itemIdentifier": r.message_id}));
    }
    Ok(serde_json::json!({"batchItemFailures": failures}))
}

/// Runs the batch worker function.
pub async fn serve_batch_worker() -> Result<(), lambda_http::Error> {
    let state = container_state(LambdaConfig::batch_worker_from_env).await?;
    let batch = &state.batch;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |e: lambda_http::LambdaEvent<serde_json::Value>| async move { batch_jobs(batch, e.payload).await },
    ))
    .await
}
