use super::*;
use crate::audiohook::chunker::FlushRules;
use crate::audiohook::media::Media;
use crate::forward::DryRun;
use async_trait::async_trait;
use shared::ports::{BlobVersion, StoreError};
use std::time::Duration;
use tokio::sync::watch;

/// A blob store that never answers.
struct HungBlobs;

#[async_trait]
impl BlobStore for HungBlobs {
    async fn put(&self, _key: &str, _bytes: Vec<u8>) -> Result<(), StoreError> {
        std::future::pending().await
    }
    async fn get(&self, _key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        std::future::pending().await
    }
    async fn get_versioned(&self, _key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, StoreError> {
        std::future::pending().await
    }
    async fn put_if(&self, _key: &str, _bytes: Vec<u8>, _: Option<&BlobVersion>) -> Result<bool, StoreError> {
        std::future::pending().await
    }
    async fn delete(&self, _key: &str) -> Result<(), StoreError> {
        std::future::pending().await
    }
}

fn opened() -> Opened {
    let offer = json!({"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000});
    Opened {
        conversation_id: "c0ffee00-0000-4000-8000-000000000001".into(),
        participant_id: "c0ffee00-0000-4000-8000-000000000002".into(),
        ani: String::new(),
        dnis: String::new(),
        language: None,
        media: Media::choose(&[offer]),
        probe: false,
        connector: false,
    }
}

#[tokio::test]
async fn a_hung_store_neither_grows_the_session_queue_nor_holds_up_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let (_stop, stopping) = watch::channel(false);
    let courier =
        Courier::new(Arc::new(DryRun), dir.path().into(), 1 << 20, 1 << 20, Duration::from_millis(50), stopping);
    let settings = PipelineSettings {
        rules: FlushRules::default(),
        rms_threshold: 200.0,
        recording_part_seconds: 1,
        recording_dir: dir.path().join("recordings"),
        queue_seconds: 2,
        storage_timeout: Duration::from_millis(200),
    };
    let pipeline = Pipeline::new(courier, Some(Arc::new(HungBlobs)), None, settings);
    let ids = Ids { organization_id: "o".into(), session_id: "s".into(), correlation_id: "c".into() };
    let mut handle = pipeline.opened(&ids, &opened());
    // Ten seconds of audio before the worker runs: two fit in the queue, the rest is dropped and counted.
    for n in 0..100 {
        handle.audio(n * 800, Frames { channels: 2, samples: vec![0; 1600] });
    }
    handle.ended("end");
    let drained = tokio::time::timeout(Duration::from_secs(10), pipeline.drain()).await;
    drained.expect("the session ends although every storage call hangs");
    let stats = &pipeline.stats;
    assert_eq!(stats.audio_dropped_samples.load(Ordering::Relaxed), 8 * 8000);
    assert_eq!(stats.recording_failures.load(Ordering::Relaxed), 2, "the first part, then the end");
    assert_eq!(stats.active_sessions.load(Ordering::Relaxed), 0);
}
