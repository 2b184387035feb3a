//! Housekeeping for batch calls, so nothing stays stuck: a call recorded as queued whose job never made it
//! into the queue (the process died between the two) is queued again, a direct upload whose file never
//! arrived fails with that reason, and a call left `processing` by a worker that was stopped (a Lambda
//! killed at its time limit, a crashed process) is queued again or, out of attempts, failed with a reason
//! a person can act on: otherwise its job lands in the dead letters and the call shows `processing`
//! forever. A job sent twice is harmless: the second finds the call finished, and two running at once
//! cannot both save (see `process`).

use super::record::{BatchCall, BatchStatus};
use super::service::{BatchService, UPLOAD_URL_LIFETIME};
use super::worker::{MAX_BACKOFF, VISIBILITY_LEASES, backoff};
use crate::realtime::ServiceError;
use crate::values::timestamps::Timestamp;
use serde_json::json;
use std::time::Duration;

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSweep {
    pub requeued: usize,
    pub expired_uploads: usize,
    /// Calls left processing by a stopped worker, queued again.
    pub stalled_requeued: usize,
    /// Calls left processing by a stopped worker with no attempts left, failed.
    pub stalled_failed: usize,
}

/// What to do with a call left `processing`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stalled {
    Requeue,
    Fail(String),
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Whether a `processing` call has been abandoned, and what to do. Every stage a worker reaches saves the
/// call, so a quiet call has no worker once its job's delivery could no longer be running or come back:
/// the queue hides a delivery for `VISIBILITY_LEASES` leases, and the worker would wait `backoff` before
/// the next attempt. Waiting that long also keeps the sweep from racing the queue's own redelivery.
fn stalled(call: &BatchCall, now: Timestamp, lease: Duration, max_attempts: u32) -> Option<Stalled> {
    let held = lease.saturating_mul(VISIBILITY_LEASES) + backoff(call.attempts);
    if call.status != BatchStatus::Processing || now - call.updated_at <= to_chrono(held) {
        return None;
    }
    if call.attempts < max_attempts {
        return Some(Stalled::Requeue);
    }
    Some(Stalled::Fail(format!(
        "processing stopped after {} attempts (the worker was stopped before it finished; the recording may be \
         too long for one run)",
        call.attempts
    )))
}

/// Why a call out of attempts and still `processing` when the one local process starts fails: its last
/// attempt died with the process that ran it (the OOM killer, a crash, a restart).
fn died_with_the_process(attempts: u32) -> String {
    format!(
        "processing stopped after {attempts} attempts: the process running it was stopped before it finished \
         (killed, for example out of memory, or restarted); the recording may be too large or too long to process \
         here"
    )
}

impl BatchService {
    /// At the start of the one local process, which alone works its queue: a call still `processing` was
    /// left by a worker that died with the previous run. Out of attempts it fails now with the reason, so
    /// a recording that kills the process every time ends `failed` after `BATCH_MAX_ATTEMPTS` runs, not
    /// `processing` until the dead letter and housekeeping's long wait; otherwise it shows `queued`
    /// (`interrupted`, attempts kept) until its job, which the queue holds back for a pause, comes back.
    pub async fn take_up_interrupted(&self) -> Result<BatchSweep, ServiceError> {
        let now = self.now();
        let mut report = BatchSweep::default();
        for call in self.all().await?.into_iter().filter(|c| c.status == BatchStatus::Processing) {
            if call.attempts >= self.config.max_attempts {
                let reason = died_with_the_process(call.attempts);
                if let Some(failed) = self.save_if_unchanged(&call, |c| c.fail(&reason, now)).await? {
                    self.announce(&failed, json!({})).await;
                    tracing::warn!(call_id = %call.id, reason, "interrupted batch call failed");
                    report.stalled_failed += 1;
                }
                continue;
            }
            let interrupted = |c: &mut BatchCall| {
                c.advance(BatchStatus::Queued, "interrupted", 0, now);
                c.error_message = Some("The last attempt stopped before it finished (the process was stopped)".into());
            };
            if let Some(queued) = self.save_if_unchanged(&call, interrupted).await? {
                self.announce(&queued, json!({})).await;
                tracing::warn!(call_id = %call.id, attempts = call.attempts, "batch call interrupted by a stop; it runs again");
                report.stalled_requeued += 1;
            }
        }
        Ok(report)
    }

    /// One pass over the calls the dashboard considers (`BATCH_LIST_LIMIT` newest).
    pub async fn sweep(&self) -> Result<BatchSweep, ServiceError> {
        let now = self.now();
        let quiet = to_chrono(self.config.lease + MAX_BACKOFF);
        let upload_window = to_chrono(UPLOAD_URL_LIFETIME * 2);
        let mut report = BatchSweep::default();
        for call in self.all().await? {
            match stalled(&call, now, self.config.lease, self.config.max_attempts) {
                Some(Stalled::Requeue) => {
                    if self.requeue(&call, "worker stopped before it finished; queued it again").await? {
                        report.stalled_requeued += 1;
                    }
                    continue;
                }
                Some(Stalled::Fail(reason)) => {
                    if let Some(failed) = self.save_if_unchanged(&call, |c| c.fail(&reason, now)).await? {
                        self.announce(&failed, json!({})).await;
                        tracing::warn!(call_id = %call.id, reason, "stalled batch call failed");
                        report.stalled_failed += 1;
                    }
                    continue;
                }
                None => {}
            }
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
            if self.requeue(&call, "queued call had no job; queued it again").await? {
                report.requeued += 1;
            }
        }
        Ok(report)
    }

    /// Records `call` as queued again (unless it changed since it was read) and sends its job. Attempts
    /// are kept, so a call that keeps stopping its worker still runs out of them.
    async fn requeue(&self, call: &BatchCall, why: &str) -> Result<bool, ServiceError> {
        let now = self.now();
        let Some(queued) = self.save_if_unchanged(call, |c| c.advance(BatchStatus::Queued, "requeued", 0, now)).await?
        else {
            return Ok(false);
        };
        self.queue_job(&call.id).await?;
        self.announce(&queued, json!({})).await;
        tracing::warn!(call_id = %call.id, attempts = queued.attempts, "{why}");
        Ok(true)
    }

    /// Applies `change` to the stored call and saves it, unless the call moved on since the sweep read it
    /// as `seen` (a worker took it up meanwhile): then nothing changes and `None` comes back.
    async fn save_if_unchanged(
        &self,
        seen: &BatchCall,
        change: impl FnOnce(&mut BatchCall),
    ) -> Result<Option<BatchCall>, ServiceError> {
        let Some(current) = self.ports.store.get_batch_call(&seen.id).await? else { return Ok(None) };
        if current.value.updated_at != seen.updated_at || current.value.status != seen.status {
            return Ok(None);
        }
        let mut changed = current.value;
        change(&mut changed);
        Ok(self.ports.store.save_batch_call(&changed, current.version).await?.then_some(changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::CallOptions;
    use crate::values::timestamps::parse_iso;

    #[test]
    fn only_processing_calls_quiet_past_the_queues_hold_are_stalled() {
        let start = parse_iso("2026-02-10T10:00:00Z").unwrap();
        let mut call =
            BatchCall::new("1".into(), "a.wav".into(), "uploads/1/a.wav".into(), CallOptions::default(), start);
        call.advance(BatchStatus::Processing, "transcription_start", 20, start);
        call.attempts = 2;
        let lease = Duration::from_secs(900);
        let held = chrono::Duration::seconds(6 * 900 + 60);
        assert_eq!(stalled(&call, start + held, lease, 3), None, "its delivery may still come back");
        let later = start + held + chrono::Duration::seconds(1);
        assert_eq!(stalled(&call, later, lease, 3), Some(Stalled::Requeue));
        call.attempts = 3;
        let Some(Stalled::Fail(reason)) = stalled(&call, later + chrono::Duration::minutes(5), lease, 3) else {
            panic!("out of attempts")
        };
        assert!(reason.starts_with("processing stopped after 3 attempts"), "{reason}");
        call.status = BatchStatus::Queued;
        assert_eq!(stalled(&call, later + chrono::Duration::days(1), lease, 3), None, "queued calls are not stalled");
    }
}
