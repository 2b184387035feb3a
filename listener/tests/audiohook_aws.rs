//! The AudioHook service on the AWS adapters (moto server on loopback for DynamoDB and S3): a simulated
//! session's recording lands in S3 as one WAV (parts removed), and the heartbeat in DynamoDB.

#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use async_trait::async_trait;
use listener::audiohook::config::AudiohookConfig;
use listener::audiohook::service::{self, Ports};
use listener::forward::{Delivery, DeliveryError, Ingest, Outgoing};
use listener::simulate::{self, Audio, Options};
use shared::adapters::aws::{DynamoStore, S3BlobStore};
use shared::ports::{BlobStore, Heartbeats};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A fake ingest that accepts everything and counts it.
#[derive(Default)]
struct CountingIngest(AtomicUsize);

#[async_trait]
impl Ingest for CountingIngest {
    async fn deliver(&self, _: &Outgoing) -> Result<(), DeliveryError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_and_heartbeat_on_s3_and_dynamodb() {
    let server = moto::Moto::start();
    let sdk = moto::sdk(&server.endpoint).await;
    let settings = moto::fixture(&sdk, &server.endpoint, "audiohook").await;
    let blobs = Arc::new(S3BlobStore::new(&sdk, &settings));
    let store = Arc::new(DynamoStore::new(&sdk, &settings));
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool").display().to_string();
    let cfg = AudiohookConfig::from_env(&[
        ("GENESYS_AUDIOHOOK_API_KEY", "k"),
        ("GENESYS_AUDIOHOOK_CLIENT_SECRET", "c2VjcmV0IHNlY3JldA=="),
        ("GENESYS_AUDIOHOOK_SPOOL_DIR", spool.as_str()),
        ("GENESYS_AUDIOHOOK_RECORDING_PART_SECONDS", "1"),
    ])
    .unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("ws://{}/audiohook/ws", socket.local_addr().unwrap());
    let ingest = Arc::new(CountingIngest::default());
    let ports = Ports { blobs: blobs.clone(), heartbeats: store.clone(), nonces: store.clone(), transcriber: None };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(service::run(cfg, socket, ingest.clone(), ports, Delivery::Forward, async {
        let _ = stopped.await;
    }));

    let tone: Vec<i16> = (0..20_000).map(|i| if (i / 8) % 2 == 0 { 2000 } else { -2000 }).collect();
    let audio = Audio { channels: vec![tone.clone(), tone] };
    let opts = Options { speed: 0.0, ..Options::new(&uri, "k", "c2VjcmV0IHNlY3JldA==") };
    let result = simulate::session(&opts, &audio).await;
    assert_eq!(result.outcome, Ok(()));
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), task).await.unwrap().unwrap();

    let key = format!("recordings/{}.wav", result.conversation_id);
    let (format, pcm) = shared::audio::wav::decode(&blobs.get(&key).await.unwrap().expect("the recording")).unwrap();
    assert_eq!((format.sample_rate, format.channels, pcm.len()), (8000, 2, 20_000 * 4));
    let part = format!("recordings/{}/{}/part-000000.wav", result.conversation_id, result.session_id);
    assert_eq!(blobs.get(&part).await.unwrap(), None, "parts are removed once joined");
    let hb = store.list("genesys_audiohook").await.unwrap().into_iter().next().expect("a heartbeat");
    assert_eq!((hb.status["state"].as_str(), hb.status["recordings_written"].as_u64()), (Some("stopped"), Some(1)));
    assert_eq!(hb.status["forwarded_chunks"].as_u64(), Some(ingest.0.load(Ordering::SeqCst) as u64 - 1));
}
