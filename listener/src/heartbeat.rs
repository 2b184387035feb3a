//! Worker heartbeats through the heartbeat port: one now (on every state change) and one every interval,
//! so health sees a live worker even when nothing happens.

use serde_json::Value;
use shared::ports::{Heartbeat, Heartbeats};
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for one heartbeat write: a store that hangs must not hold up the beats after it, nor a
/// state change (a stop) that beats on its way.
const PUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes `status` for `component`; a failure or a timeout is logged, never fatal.
pub async fn beat(heartbeats: &dyn Heartbeats, component: &str, status: Value) {
    let instance = shared::process::instance::instance_id().into();
    let hb = Heartbeat { component: component.into(), instance, updated_at: chrono::Utc::now(), status };
    match tokio::time::timeout(PUT_TIMEOUT, heartbeats.put(&hb)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(component, error = %e, "heartbeat not written"),
        Err(_) => tracing::warn!(component, timeout = ?PUT_TIMEOUT, "heartbeat not written in time"),
    }
}

/// Beats every `every` with the document `status` returns, until the task is aborted.
pub fn every(
    heartbeats: Arc<dyn Heartbeats>,
    component: &'static str,
    every: Duration,
    status: impl Fn() -> Value + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            beat(heartbeats.as_ref(), component, status()).await;
        }
    })
}
