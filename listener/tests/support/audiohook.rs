//! The whole AudioHook service on loopback for end-to-end tests: settings for the simulator's credentials,
//! a SQLite heartbeat store and a blob folder in a temporary directory, any ingest, and what the listener
//! should have forwarded for a simulated call.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use listener::audiohook::config::AudiohookConfig;
use listener::audiohook::nonces::NonceCache;
use listener::audiohook::service::{self, Ports};
use listener::forward::{Delivery, HttpIngest, Ingest};
use listener::simulate::{Audio, Options};
use serde_json::Value;
use shared::adapters::embedded::{FolderBlobStore, SqliteStore};
use shared::ports::Heartbeats;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub const API_KEY: &str = "sim-key";
pub const SECRET_B64: &str = "YSB0ZXN0IGNsaWVudCBzZWNyZXQgb2YgMzIgYnl0ZXM=";

pub struct Running {
    pub uri: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    pub store: Arc<SqliteStore>,
    pub blobs: Arc<FolderBlobStore>,
}

/// Settings for a service in `dir` forwarding to `ingest_url`, with `extra` on top.
pub fn config(dir: &Path, ingest_url: &str, extra: &[(&str, &str)]) -> AudiohookConfig {
    let spool = dir.join("spool").display().to_string();
    let mut env: HashMap<String, String> = [
        ("GENESYS_AUDIOHOOK_API_KEY", API_KEY),
        ("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET_B64),
        ("REALTIME_INGEST_URL", ingest_url),
        ("REALTIME_INGEST_TOKEN", "ingest-token"),
        ("GENESYS_AUDIOHOOK_SPOOL_DIR", &spool),
        ("GENESYS_AUDIOHOOK_RETRY_BACKOFF_SECONDS", "0.05"),
        ("GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS", "1"),
        ("GENESYS_AUDIOHOOK_RECORDING_PART_SECONDS", "2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    AudiohookConfig::from_env(&env).unwrap()
}

/// Runs the service forwarding over HTTP to `ingest_url`.
pub async fn start(dir: &Path, ingest_url: &str, extra: &[(&str, &str)]) -> Running {
    let cfg = config(dir, ingest_url, extra);
    let f = &cfg.forward;
    let ingest: Arc<dyn Ingest> = Arc::new(HttpIngest::new(f.urls.clone(), f.token.clone(), f.http_timeout).unwrap());
    start_with(dir, cfg, |_, _| ingest).await
}

/// Runs the service with the ingest `ingest` builds from the store and blob folder it will use.
pub async fn start_with(
    dir: &Path,
    cfg: AudiohookConfig,
    ingest: impl FnOnce(&Arc<SqliteStore>, &Arc<FolderBlobStore>) -> Arc<dyn Ingest>,
) -> Running {
    let store = Arc::new(SqliteStore::open(&dir.join("call_analytics.db")).unwrap());
    let blobs = Arc::new(FolderBlobStore::new(dir.join("blobs")));
    let ingest = ingest(&store, &blobs);
    let ports = Ports {
        blobs: blobs.clone(),
        heartbeats: store.clone(),
        nonces: Arc::new(NonceCache::default()),
        transcriber: None,
    };
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("ws://{}/audiohook/ws", socket.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(service::run(cfg, socket, ingest, ports, Delivery::Forward, async {
        let _ = stopped.await;
    }));
    Running { uri, stop, task, store, blobs }
}

impl Running {
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("stops").unwrap();
    }

    /// The AudioHook heartbeat once `ready` holds for it (beats come every second); panics after 6 s.
    pub async fn heartbeat(&self, ready: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..60 {
            if let Some(hb) =
                self.store.list("genesys_audiohook").await.unwrap().into_iter().next().filter(|h| ready(&h.status))
            {
                return hb.status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no heartbeat as expected within a few seconds");
    }
}

/// The simulator's options for `uri`, streaming as fast as the socket takes it.
pub fn options(uri: &str) -> Options {
    Options { speed: 0.0, ..Options::new(uri, API_KEY, SECRET_B64) }
}

/// The PCM of the chunks among `accepted` for `session`, checking their order and uniqueness on the way.
pub fn chunk_pcm(accepted: &[Value], session: &str) -> Vec<u8> {
    let chunks: Vec<&Value> = accepted.iter().filter(|b| b["chunk_id"].is_string()).collect();
    let ids: Vec<String> = chunks.iter().map(|c| c["chunk_id"].as_str().unwrap().to_string()).collect();
    let expected: Vec<String> = (0..ids.len()).map(|i| format!("{session}-{i}")).collect();
    assert_eq!(ids, expected, "every chunk once, in order");
    chunks.iter().flat_map(|c| STANDARD.decode(c["audio_b64"].as_str().unwrap()).unwrap()).collect()
}

/// Interleaved s16le PCM of `audio`.
pub fn interleaved(audio: &Audio) -> Vec<u8> {
    (0..audio.channels[0].len()).flat_map(|f| audio.channels.iter().flat_map(move |c| c[f].to_le_bytes())).collect()
}

/// What the listener should have sent: the simulator's audio after a μ-law round trip.
pub fn through_ulaw(audio: &Audio) -> Audio {
    use shared::audio::g711::{linear_to_ulaw, ulaw_to_linear};
    Audio {
        channels: audio
            .channels
            .iter()
            .map(|c| c.iter().map(|s| ulaw_to_linear(linear_to_ulaw(*s))).collect())
            .collect(),
    }
}
