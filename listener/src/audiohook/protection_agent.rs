//! Keeps the task's ECS scale-in protection in step with its open AudioHook sessions (the decisions are
//! `protection.rs`'s) by asking the ECS agent (`PUT $ECS_AGENT_URI/task-protection/v1/state`), in a task of
//! its own: a slow or failing agent never holds up audio and never stops the listener; each failure is
//! logged and retried later.

use super::pipeline::SessionStats;
use super::protection::{Request, Settings, Tracker};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::task::JoinHandle;

/// How often the open sessions are looked at (an atomic read; a request only when something is due).
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// The agent is local to the task and answers once ECS has: longer means it is not answering.
const AGENT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum AgentError {
    #[error("the ECS agent did not answer: {0}")]
    Unreachable(#[from] reqwest::Error),
    /// ECS refused (200 with a `failure`, e.g. `DEPLOYMENT_BLOCKED`), or the agent failed (an error status
    /// with an `error`: no permission, throttled, ...).
    #[error("the ECS agent answered {status}: {detail}")]
    Refused { status: u16, detail: String },
}

/// Starts keeping protection in step with `sessions`' open count; runs until aborted.
pub fn spawn(settings: Settings, sessions: Arc<SessionStats>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(AGENT_TIMEOUT).build() {
            Ok(c) => c,
            Err(e) => return tracing::error!(error = %e, "audiohook: no scale-in protection, no HTTP client"),
        };
        tracing::info!(minutes = settings.policy.minutes, idle = ?settings.policy.idle, "audiohook: scale-in protection while sessions are open");
        let mut tracker = Tracker::new(settings.policy);
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let open = sessions.active_sessions.load(Ordering::Relaxed);
            let sent = Instant::now();
            let Some(request) = tracker.next(open, sent) else { continue };
            match ask(&client, &settings, request).await {
                Ok(()) => {
                    tracker.done(request, sent);
                    tracing::info!(?request, open, "audiohook: scale-in protection updated");
                }
                Err(e) => {
                    let retry_in = tracker.failed(Instant::now());
                    tracing::warn!(error = %e, ?request, ?retry_in, "audiohook: scale-in protection not updated");
                }
            }
        }
    })
}

/// One request to the agent: done only when it answers with the task's protection.
async fn ask(client: &reqwest::Client, settings: &Settings, request: Request) -> Result<(), AgentError> {
    let body = match request {
        Request::Protect => json!({"ProtectionEnabled": true, "ExpiresInMinutes": settings.policy.minutes}),
        Request::Clear => json!({"ProtectionEnabled": false}),
    };
    let response = client.put(&settings.url).json(&body).send().await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() && answer.get("protection").is_some() {
        return Ok(());
    }
    let detail = answer.get("failure").or_else(|| answer.get("error")).unwrap_or(&answer).to_string();
    Err(AgentError::Refused { status: status.as_u16(), detail })
}
