//! What a batch job's delivery leads to when the provider is down (`ProviderDownForRetries`, a Transcriber
//! that always answers "unavailable"): try again after a backoff with the reason showing, and after the last
//! attempt fail the call with the reason and send the message to the dead letters. On the real SQLite
//! queue and folder.

use async_trait::async_trait;
use serde_json::Value;
use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::audio::AudioConfig;
use shared::batch::worker::JobOutcome;
use shared::batch::{BatchConfig, BatchService, Upload};
use shared::ports::{JobQueue, ReceivedJob};
use shared::stt::{Segment, SttError, Transcriber};
use std::sync::Arc;
use std::time::Duration;

struct ProviderDownForRetries;

#[async_trait]
impl Transcriber for ProviderDownForRetries {
    async fn transcribe(&self, _: Vec<u8>, _: Option<&str>) -> Result<Vec<Segment>, SttError> {
        Err(SttError::Unavailable("503 Service Unavailable".into()))
    }
}

fn wav() -> Vec<u8> {
    let format = shared::live_audio::AudioFormat { sample_rate: 8000, channels: 1, sample_width: 2 };
    let pcm: Vec<u8> = (0..8000i16).flat_map(|i| ((i % 50) * 300).to_le_bytes()).collect();
    shared::wav::encode(&format, &pcm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_outages_back_off_then_fail_the_call_with_the_reason() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite")).unwrap());
    let config = BatchConfig::from_env(&[("BATCH_MAX_ATTEMPTS", "3")]).unwrap();
    let audio = AudioConfig { noise_suppression: false, ..AudioConfig::default() };
    let service = BatchService::new(
        store.clone(),
        Arc::new(FolderBlobStore::new(dir.path().join("blobs"))),
        store.clone(),
        Arc::new(BroadcastPush::new(16)),
        store.clone(),
        Arc::new(ProviderDownForRetries),
        audio,
        config,
        false,
    );
    let call =
        service.submit(Upload { filename: "a.wav".into(), audio: Some(wav()), ..Upload::default() }).await.unwrap();

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
