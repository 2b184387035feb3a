//! Housekeeping: end calls nobody closed (no activity for `REALTIME_CALL_IDLE_MINUTES`) through the normal
//! event path, so supervisors see the end pushed like any other; and delete calls inactive for
//! `REALTIME_RETENTION_DAYS`, with their live-audio blobs. The seed did neither.

use super::{RealtimeService, ServiceError};
use crate::ports::{BlobStore, StoreError};
use crate::realtime::normalize::NormalizedEvent;
use crate::values::timestamps::iso;
use serde_json::json;

/// Calls handled per step of a sweep; a sweep repeats steps until a step finds fewer.
const SWEEP_BATCH: usize = 200;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub ended: usize,
    pub purged: usize,
}

fn idle_end(call_id: String, idle_minutes: u64, now: &str) -> NormalizedEvent {
    let metadata = json!({"end_reason": "idle_timeout", "idle_minutes": idle_minutes});
    NormalizedEvent {
        event_id: Some(format!("idle-timeout:{now}")),
        call_id,
        provider: None,
        event_type: "call_end".into(),
        speaker: String::new(),
        text: String::new(),
        sentiment: None,
        confidence: None,
        status: "ended".into(),
        agent_id: String::new(),
        customer_id: String::new(),
        occurred_at: None,
        metadata: metadata.as_object().cloned().unwrap_or_default(),
    }
}

/// Deletes every live-audio blob of a call, by its folder rather than by the window's entries: that also
/// removes what no entry points to (a chunk whose append lost a race to the same chunk, the blobs of a window
/// kept by a release before 2026-12).
pub async fn delete_live_blobs(blobs: &dyn BlobStore, call_id: &str) -> Result<(), StoreError> {
    for key in blobs.list(&format!("live/{call_id}/")).await? {
        blobs.delete(&key).await?;
    }
    Ok(())
}

impl RealtimeService {
    /// One housekeeping pass; safe to run from several processes at once (ends are idempotent per pass
    /// time, deletes are idempotent).
    pub async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let mut report = SweepReport::default();
        let now = self.now();
        let idle = self.config.call_idle_minutes;
        if idle > 0 {
            let before = now - chrono::Duration::minutes(idle as i64);
            loop {
                let ids = self.store.idle_calls(before, SWEEP_BATCH).await?;
                for id in &ids {
                    self.ingest_normalized(&idle_end(id.clone(), idle, &iso(&now))).await?;
                }
                report.ended += ids.len();
                if ids.len() < SWEEP_BATCH {
                    break;
                }
            }
        }
        if self.config.retention_days > 0 {
            let before = now - chrono::Duration::days(self.config.retention_days as i64);
            loop {
                let purged = self.store.purge_calls(before, SWEEP_BATCH).await?;
                for p in &purged {
                    if let Err(e) = delete_live_blobs(self.blobs.as_ref(), &p.call_id).await {
                        tracing::warn!(call_id = %p.call_id, error = %e, "could not delete expired live audio");
                    }
                }
                report.purged += purged.len();
                if purged.len() < SWEEP_BATCH {
                    break;
                }
            }
        }
        if report != SweepReport::default() {
            tracing::info!(ended = report.ended, purged = report.purged, "housekeeping");
        }
        Ok(report)
    }
}
