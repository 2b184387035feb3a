//! Batch calls that cannot run now, on the real SQLite queue and folder: with the provider down
//! (`ProviderDownForRetries`, a Transcriber that always answers "unavailable") a delivery backs off with
//! the reason showing, and the last attempt fails the call with the reason and dead-letters the job;
//! housekeeping leaves no call without a job, nor `processing` after its worker was stopped; and the local
//! process, as it starts, takes up what its previous run left processing and holds its jobs back a while.

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::Value;
use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::audio::AudioConfig;
use shared::batch::worker::JobOutcome;
use shared::batch::{
    BatchCall, BatchConfig, BatchPorts, BatchService, BatchStatus, BatchSweep, CallOptions, Upload, UploadsQueued,
};
use shared::ports::{BatchStore, JobQueue, ReceivedJob};
use shared::speech::{Segment, SttError, Transcriber};
use std::sync::Arc;
use std::time::Duration;

struct ProviderDownForRetries;

#[async_trait]
impl Transcriber for ProviderDownForRetries {
    async fn transcribe(&self, _: Vec<u8>, _: Option<&str>) -> Result<Vec<Segment>, SttError> {
        Err(SttError::Unavailable("503 Service Unavailable".into()))
    }
}

/// The batch service on a real SQLite file and folder in `dir`, with the provider down and `settings`.
fn embedded(
    dir: &tempfile::TempDir,
    settings: &dyn shared::settings::env::EnvSource,
) -> (Arc<SqliteStore>, BatchService) {
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite")).unwrap());
    let ports = BatchPorts {
        store: store.clone(),
        blobs: Arc::new(FolderBlobStore::new(dir.path().join("blobs"))),
        queue: store.clone(),
        push: Arc::new(BroadcastPush::new(16)),
        calls: store.clone(),
        stt: Arc::new(ProviderDownForRetries),
    };
    let service = BatchService::new(
        ports,
        AudioConfig::from_env(settings).unwrap(),
        BatchConfig::from_env(settings).unwrap(),
        UploadsQueued::ByService,
    );
    (store, service)
}

fn wav() -> Vec<u8> {
    let format = shared::realtime::live_audio::AudioFormat { sample_rate: 8000, channels: 1, sample_width: 2 };
    let pcm: Vec<u8> = (0..8000i16).flat_map(|i| ((i % 50) * 300).to_le_bytes()).collect();
    shared::audio::wav::encode(&format, &pcm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_outages_back_off_then_fail_the_call_with_the_reason() {
    let dir = tempfile::TempDir::new().unwrap();
    let (store, service) = embedded(&dir, &[("BATCH_MAX_ATTEMPTS", "3"), ("ENABLE_NOISE_SUPPRESSION", "false")]);
    let staged = service.stage_audio(futures_util::stream::iter([Ok(wav().into())]).boxed()).await.unwrap();
    let call =
        service.submit(Upload { filename: "a.wav".into(), audio: Some(staged), ..Upload::default() }).await.unwrap();

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let job: ReceivedJob = store.receive(1, Duration::from_secs(60)).await.unwrap().remove(0);
        let outcome = service.handle(&job).await;
        outcomes.push(outcome);
        let status: Value = service.get(&call.id).await.unwrap().value.status_json();
        if outcome != JobOutcome::DeadLetter {
            assert_eq!((status["status"].as_str(), status["stage"].as_str()), (Some("queued"), Some("retrying")));
            assert!(status["error_message"].as_str().unwrap().contains("503"), "{status}");
        }
        store.retry_later(&job.receipt, Duration::ZERO).await.unwrap();
    }
    assert_eq!(
        outcomes,
        [
            JobOutcome::RetryAfter(Duration::from_secs(30)),
            JobOutcome::RetryAfter(Duration::from_secs(60)),
            JobOutcome::DeadLetter
        ]
    );
    let failed = service.get(&call.id).await.unwrap().value;
    assert_eq!(failed.status_json()["status"], "failed");
    assert_eq!(
        failed.error_message.as_deref(),
        Some("speech-to-text provider unavailable: 503 Service Unavailable (gave up after 3 attempts)")
    );
    assert_eq!(failed.attempts, 3);
}

/// A call recorded as queued whose job never reached the queue (the process died in between) is queued
/// again once it has been quiet for a lease plus the longest backoff; a direct upload that never arrived
/// fails with that reason. A second pass does nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_requeues_calls_left_without_a_job() {
    let dir = tempfile::TempDir::new().unwrap();
    let (store, service) = embedded(&dir, &[]);
    let start = chrono::Utc::now();
    let clock = Arc::new(std::sync::Mutex::new(start));
    let c = clock.clone();
    let service = service.with_clock(Arc::new(move || *c.lock().unwrap()));
    let orphan = BatchCall::new(
        "20260210101520000001".into(),
        "a.wav".into(),
        "uploads/x/a.wav".into(),
        CallOptions::default(),
        start,
    );
    let mut never_put = BatchCall::new(
        "20260210101520000002".into(),
        "b.wav".into(),
        "uploads/y/b.wav".into(),
        CallOptions::default(),
        start,
    );
    never_put.stage = "awaiting_upload".into();
    for c in [&orphan, &never_put] {
        assert!(store.create_batch_call(c).await.unwrap());
    }
    assert_eq!(service.sweep().await.unwrap(), BatchSweep::default(), "fresh calls are left alone");
    *clock.lock().unwrap() += chrono::Duration::minutes(31);
    assert_eq!(service.sweep().await.unwrap(), BatchSweep { requeued: 1, expired_uploads: 1, ..BatchSweep::default() });
    let jobs = store.receive(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.body.as_str()).collect::<Vec<_>>(), [r#"{"call_id":"20260210101520000001"}"#]);
    let expired = service.get(&never_put.id).await.unwrap().value;
    assert_eq!(expired.error_message.as_deref(), Some("The upload never arrived; please upload the file again"));
    assert_eq!(service.sweep().await.unwrap(), BatchSweep::default(), "requeued calls wait for their job");
}

/// What a worker does when it takes a call up (or reports progress): `processing`, saved at `at`, with
/// `attempts` started. A worker stopped right after (a Lambda killed at its time limit) leaves it so.
async fn hold(store: &SqliteStore, id: &str, attempts: u32, at: chrono::DateTime<chrono::Utc>) {
    let current = store.get_batch_call(id).await.unwrap().unwrap();
    let mut call = current.value;
    call.advance(BatchStatus::Processing, "transcription_start", 20, at);
    call.attempts = attempts;
    assert!(store.save_batch_call(&call, current.version).await.unwrap());
}

/// A call left `processing` by a stopped worker is queued again once its delivery can no longer be running
/// or come back (six leases, the queue's visibility, plus the worker's backoff), and failed with a reason a
/// person can act on once it is out of attempts; a call whose worker still reports progress is left alone,
/// and a second pass changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_takes_up_calls_a_stopped_worker_left_processing() {
    let dir = tempfile::TempDir::new().unwrap();
    let (store, service) = embedded(&dir, &[("BATCH_MAX_ATTEMPTS", "2"), ("BATCH_JOB_TIMEOUT_SECONDS", "900")]);
    let start = chrono::Utc::now();
    let clock = Arc::new(std::sync::Mutex::new(start));
    let c = clock.clone();
    let service = service.with_clock(Arc::new(move || *c.lock().unwrap()));
    let new = |id: &str| {
        BatchCall::new(id.into(), "a.wav".into(), format!("uploads/{id}/a.wav"), CallOptions::default(), start)
    };
    let (stopped, live) = (new("20260210101520000001"), new("20260210101520000002"));
    for c in [&stopped, &live] {
        assert!(store.create_batch_call(c).await.unwrap());
    }
    hold(&store, &stopped.id, 1, start).await;
    // Six 900 s leases plus the 30 s backoff after a first attempt, and a second more.
    let first = start + chrono::Duration::seconds(6 * 900 + 30 + 1);
    hold(&store, &live.id, 1, first - chrono::Duration::minutes(10)).await;
    *clock.lock().unwrap() = first - chrono::Duration::seconds(2);
    assert_eq!(service.sweep().await.unwrap(), BatchSweep::default(), "the delivery may still come back");

    *clock.lock().unwrap() = first;
    assert_eq!(service.sweep().await.unwrap(), BatchSweep { stalled_requeued: 1, ..BatchSweep::default() });
    let requeued = service.get(&stopped.id).await.unwrap().value;
    assert_eq!((requeued.status, requeued.stage.as_str(), requeued.attempts), (BatchStatus::Queued, "requeued", 1));
    let left = service.get(&live.id).await.unwrap().value;
    assert_eq!((left.status, left.updated_at), (BatchStatus::Processing, first - chrono::Duration::minutes(10)));
    let jobs = store.receive(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.body.as_str()).collect::<Vec<_>>(), [r#"{"call_id":"20260210101520000001"}"#]);
    assert_eq!(service.sweep().await.unwrap(), BatchSweep::default(), "a second pass changes nothing");

    // The last attempt is stopped too; the live call's worker keeps reporting progress.
    hold(&store, &stopped.id, 2, first).await;
    let last = first + chrono::Duration::seconds(6 * 900 + 60 + 1);
    hold(&store, &live.id, 1, last - chrono::Duration::minutes(1)).await;
    *clock.lock().unwrap() = last;
    assert_eq!(service.sweep().await.unwrap(), BatchSweep { stalled_failed: 1, ..BatchSweep::default() });
    let failed = service.get(&stopped.id).await.unwrap().value;
    assert_eq!(failed.status, BatchStatus::Failed);
    assert_eq!(
        failed.error_message.as_deref(),
        Some(
            "processing stopped after 2 attempts (the worker was stopped before it finished; the recording may be \
             too long for one run)"
        )
    );
    assert_eq!(service.get(&live.id).await.unwrap().value.status, BatchStatus::Processing);
    assert_eq!(service.sweep().await.unwrap(), BatchSweep::default(), "a second pass changes nothing");
    assert!(store.receive(10, Duration::from_secs(60)).await.unwrap().is_empty(), "a failed call gets no job");
}

/// At the start of the local process, every call still `processing` was left by a worker that died with
/// the previous run: out of attempts it fails with the reason, otherwise it shows queued (`interrupted`)
/// with its attempts kept; other calls are left alone, and a second pass changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_takes_up_the_calls_the_previous_run_left_processing() {
    let dir = tempfile::TempDir::new().unwrap();
    let (store, service) = embedded(&dir, &[("BATCH_MAX_ATTEMPTS", "2")]);
    let now = chrono::Utc::now();
    let new = |id: &str| {
        BatchCall::new(id.into(), "a.wav".into(), format!("uploads/{id}/a.wav"), CallOptions::default(), now)
    };
    let (once, last, waiting) = (new("20260210101520000001"), new("20260210101520000002"), new("20260210101520000003"));
    for c in [&once, &last, &waiting] {
        assert!(store.create_batch_call(c).await.unwrap());
    }
    hold(&store, &once.id, 1, now).await;
    hold(&store, &last.id, 2, now).await;

    assert_eq!(
        service.take_up_interrupted().await.unwrap(),
        BatchSweep { stalled_requeued: 1, stalled_failed: 1, ..BatchSweep::default() }
    );
    let again = service.get(&once.id).await.unwrap().value;
    assert_eq!((again.status, again.stage.as_str(), again.attempts), (BatchStatus::Queued, "interrupted", 1));
    let failed = service.get(&last.id).await.unwrap().value;
    assert_eq!(failed.status, BatchStatus::Failed);
    assert!(failed.error_message.unwrap().starts_with("processing stopped after 2 attempts: the process running it"));
    assert_eq!(service.get(&waiting.id).await.unwrap().value.status, BatchStatus::Queued);
    assert_eq!(service.take_up_interrupted().await.unwrap(), BatchSweep::default(), "a second pass changes nothing");
}

/// A job a dead run held (its lease still running) comes back at the next start after the pause the
/// process chooses, not at once and not only when its lease ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_releases_held_jobs_after_a_pause() {
    let dir = tempfile::TempDir::new().unwrap();
    let (store, _) = embedded(&dir, &[]);
    store.enqueue(r#"{"call_id":"1"}"#).await.unwrap();
    assert_eq!(store.receive(1, Duration::from_secs(600)).await.unwrap().len(), 1);
    let pauses = std::sync::Mutex::new(Vec::new());
    let released = store.release_held_jobs(|attempts| {
        pauses.lock().unwrap().push(attempts);
        Duration::from_millis(300)
    });
    assert_eq!((released.unwrap(), pauses.into_inner().unwrap()), (1, vec![1]));
    assert!(store.receive(1, Duration::from_secs(60)).await.unwrap().is_empty(), "not at once");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let again = store.receive(1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.iter().map(|j| j.attempts).collect::<Vec<_>>(), [2]);
}
