//! Housekeeping for batch calls, so nothing stays stuck: a call recorded as queued whose job never made it
//! into the queue (the process died between the two) is queued again, and a direct upload whose file never
//! arrived fails with that reason. A job sent twice is harmless: the second finds the call finished, and
//! two running at once cannot both save (see `process`).

use super::job::call_job;
use super::record::BatchStatus;
use super::service::{BatchService, UPLOAD_URL_LIFETIME};
use super::worker::MAX_BACKOFF;
use crate::realtime::ServiceError;
use serde_json::json;

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSweep {
    pub requeued: usize,
    pub expired_uploads: usize,
}

impl BatchService {
    /// One pass over the calls the dashboard considers (`BATCH_LIST_LIMIT` newest).
    pub async fn sweep(&self) -> Result<BatchSweep, ServiceError> {
        let now = self.now();
        let quiet = chrono::Duration::from_std(self.config.lease + MAX_BACKOFF).unwrap_or(chrono::Duration::MAX);
        let upload_window = chrono::Duration::from_std(UPLOAD_URL_LIFETIME * 2).unwrap_or(chrono::Duration::MAX);
        let mut report = BatchSweep::default();
        for call in self.all().await? {
            if call.status != BatchStatus::Queued || now - call.updated_at < quiet {
                continue;
            }
            if call.stage == "awaiting_upload" {
                if now - call.created_at > upload_window {
                    self.mark_failed(&call.id, "The upload never arrived; please upload the file again").await?;
                    report.expired_uploads += 1;
                }
                continue;
            }
            let Ok(current) = self.get(&call.id).await else { continue };
            let mut touched = current.value;
            touched.advance(BatchStatus::Queued, "requeued", 0, now);
            if self.ports.store.save_batch_call(&touched, current.version).await? {
                self.ports.queue.enqueue(&call_job(&call.id)).await?;
                self.announce(&touched, json!({})).await;
                tracing::warn!(call_id = %call.id, "queued call had no job; queued it again");
                report.requeued += 1;
            }
        }
        Ok(report)
    }
}
