//! Batch jobs off the queue: what one delivery leads to (done, try again after a backoff, or dead-letter
//! with the reason on the call), and the local worker loop that runs deliveries with bounded concurrency,
//! renewing each job's lease while it runs.

use super::job::{self, JobTarget, split_upload_key};
use super::process::{ProcessError, Processed};
use super::record::BatchCall;
use super::service::BatchService;
use crate::ports::{ReceivedJob, StoreError};
use crate::values::ids::validate_call_id;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// What to do with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Deliver again after this long.
    RetryAfter(Duration),
    /// Out of attempts: the call is failed with the reason; the message goes to the dead letters.
    DeadLetter,
}

/// The longest wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(900);

/// How many leases SQS hides a delivered job for: the template's `VisibilityTimeout` is six times the
/// worker function's `Timeout` (which must not exceed the lease), as AWS advises for Lambda event sources,
/// so a delivery the Lambda service has to retry is not handed to a second worker meanwhile (a template
/// test pins the ratio). The local queue hides a job for one lease, renewed while it runs. Housekeeping
/// waits this many leases before taking up a call a stopped worker left `processing`.
pub const VISIBILITY_LEASES: u32 = 6;

/// Backoff before attempt `attempts + 1`: 30 s doubling, at most `MAX_BACKOFF`.
pub fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(30u64 << attempts.saturating_sub(1).min(5)).min(MAX_BACKOFF)
}

/// How long a job that a dead run of the local process held waits at the next start, after `attempts`
/// deliveries: the worker's backoff, so a job that killed the process (out of memory) does not kill the
/// next run as it starts and other jobs go first, but no longer than a lease, when the queue would have
/// delivered it again anyway.
pub fn restart_pause(attempts: u32, lease: Duration) -> Duration {
    backoff(attempts).min(lease)
}

/// How often the local worker looks for jobs when the queue was empty.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Counts a job reaching `state` (one of `names::JOB_STATES`).
pub(super) fn job_state(state: &'static str) {
    metrics::counter!(crate::process::metrics::names::BATCH_JOBS, "state" => state).increment(1);
}

impl BatchService {
    /// Handles one delivery of a job message.
    pub async fn handle(&self, job: &ReceivedJob) -> JobOutcome {
        let targets = match job::parse(&job.body) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "dropping a message that is not a batch job");
                return JobOutcome::Done;
            }
        };
        for target in targets {
            let id = match target {
                JobTarget::Call(id) => id,
                JobTarget::Object(key) => match self.call_for_object(&key).await {
                    Ok(Some(id)) => id,
                    Ok(None) => continue,
                    Err(e) => return self.retry_or_give_up(job, None, &e.to_string()).await,
                },
            };
            match self.process(&id).await {
                Ok(Processed::Completed) => job_state("completed"),
                Ok(Processed::Skipped) => {}
                Err(ProcessError::Permanent(_)) => job_state("failed"),
                Err(ProcessError::Retry(reason)) => return self.retry_or_give_up(job, Some(&id), &reason).await,
            }
        }
        JobOutcome::Done
    }

    async fn retry_or_give_up(&self, job: &ReceivedJob, id: Option<&str>, reason: &str) -> JobOutcome {
        if job.attempts < self.config.max_attempts {
            job_state("retried");
            return JobOutcome::RetryAfter(backoff(job.attempts));
        }
        job_state("failed");
        if let Some(id) = id {
            let why = format!("{reason} (gave up after {} attempts)", job.attempts);
            if let Err(e) = self.mark_failed(id, &why).await {
                tracing::error!(call_id = %id, error = %e, "could not record the failure");
            }
        }
        JobOutcome::DeadLetter
    }

    /// The call an object under `uploads/` belongs to. An object nobody announced (copied straight into
    /// the bucket) becomes a new call; the transcript beside an audio upload waits for the audio's event.
    async fn call_for_object(&self, key: &str) -> Result<Option<String>, StoreError> {
        let Some((id, file)) = split_upload_key(key) else { return Ok(None) };
        if validate_call_id(id).is_err() {
            tracing::warn!(key, "ignoring an upload whose folder is not a call id");
            return Ok(None);
        }
        if let Some(existing) = self.ports.store.get_batch_call(id).await? {
            let c = existing.value;
            let audio_follows = c.transcript_key.as_deref() == Some(key) && !c.upload_key.is_empty();
            let known = c.upload_key == key || c.transcript_key.as_deref() == Some(key);
            return Ok((known && !audio_follows).then(|| id.to_string()));
        }
        let options = super::settings::call_options(&Default::default(), &self.config)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut call = BatchCall::new(id.to_string(), file.to_string(), key.to_string(), options, self.now());
        if file.to_lowercase().ends_with(".json") {
            call.upload_key.clear();
            call.transcript_key = Some(key.to_string());
        }
        self.ports.store.create_batch_call(&call).await?;
        tracing::info!(call_id = %id, key, "batch call created from an upload");
        Ok(Some(id.to_string()))
    }
}

/// Runs one delivery while renewing its lease, then acknowledges it as the outcome says.
async fn run_one(service: Arc<BatchService>, job: ReceivedJob) {
    let lease = service.config.lease;
    let work = service.handle(&job);
    tokio::pin!(work);
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + lease / 3, lease / 3);
    let outcome = loop {
        tokio::select! {
            outcome = &mut work => break outcome,
            _ = renew.tick() => {
                if let Err(e) = service.ports.queue.retry_later(&job.receipt, lease).await {
                    tracing::warn!(error = %e, "could not renew a job's lease");
                }
            }
        }
    };
    let acked = match outcome {
        JobOutcome::Done => service.ports.queue.complete(&job.receipt).await,
        JobOutcome::RetryAfter(delay) => service.ports.queue.retry_later(&job.receipt, delay).await,
        JobOutcome::DeadLetter => service.ports.queue.retry_later(&job.receipt, Duration::ZERO).await,
    };
    if let Err(e) = acked {
        tracing::warn!(error = %e, "could not acknowledge a job; it will come back after its lease");
    }
}

/// The local worker: takes jobs while `WORKER_CONCURRENCY` allows until `stop` resolves, then lets the
/// running ones finish. A job cut off by a crash comes back when its lease ends.
pub async fn run(service: Arc<BatchService>, stop: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(service.config.concurrency));
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let jobs = match service.ports.queue.receive(1, service.config.lease).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "job queue unavailable");
                Vec::new()
            }
        };
        let Some(job) = jobs.into_iter().next() else {
            drop(permit);
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(IDLE_POLL) => continue,
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            run_one(service, job).await;
            drop(permit);
        });
    }
    let _ = slots.acquire_many(service.config.concurrency as u32).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let b: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(b, [30, 60, 120, 240, 480, 900, 900, 900]);
    }
}
