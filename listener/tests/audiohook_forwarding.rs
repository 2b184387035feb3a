//! The AudioHook service end to end on loopback: the simulator streams a stereo call into the real
//! server, the session pipeline forwards to a fake ingest (an axum server in this test, named
//! `FakeIngest`) that is down for a while, and everything must arrive afterwards in order, once, with the
//! recording in the blob folder and the heartbeat in the SQLite file.

#[path = "support/mod.rs"]
mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use listener::audiohook::config::AudiohookConfig;
use listener::audiohook::service::{self, Ports};
use listener::forward::{HttpIngest, Ingest};
use listener::simulate::{self, Audio, Options};
use serde_json::Value;
use shared::adapters::embedded::{FolderBlobStore, SqliteStore};
use shared::ports::{BlobStore, Heartbeats};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::ingest::FakeIngest;

const SECRET_B64: &str = "YSB0ZXN0IGNsaWVudCBzZWNyZXQgb2YgMzIgYnl0ZXM=";

struct Running {
    uri: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    store: Arc<SqliteStore>,
    blobs: Arc<FolderBlobStore>,
}

async fn start(dir: &Path, ingest_url: &str, extra: &[(&str, &str)]) -> Running {
    let spool = dir.join("spool").display().to_string();
    let mut env: HashMap<String, String> = [
        ("GENESYS_AUDIOHOOK_API_KEY", "sim-key"),
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
    let cfg = AudiohookConfig::from_env(&env).unwrap();
    let store = Arc::new(SqliteStore::open(&dir.join("call_analytics.db")).unwrap());
    let blobs = Arc::new(FolderBlobStore::new(dir.join("blobs")));
    let ports = Ports { blobs: blobs.clone(), heartbeats: store.clone() };
    let f = &cfg.forward;
    let ingest: Arc<dyn Ingest> = Arc::new(HttpIngest::new(f.urls.clone(), f.token.clone(), f.http_timeout).unwrap());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("ws://{}/audiohook/ws", socket.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(service::run(cfg, socket, ingest, ports, false, async {
        let _ = stopped.await;
    }));
    Running { uri, stop, task, store, blobs }
}

impl Running {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("stops").unwrap();
    }
}

/// Two seconds of speech-like tone on both channels, then four seconds of near silence.
fn call_audio() -> Audio {
    let tone = |amp: i16| (0..16_000).map(move |i| if (i / 8) % 2 == 0 { amp } else { -amp });
    let channel = |amp| tone(amp).chain(std::iter::repeat_n(3, 32_000)).collect::<Vec<i16>>();
    Audio { channels: vec![channel(4000), channel(2500)] }
}

fn options(uri: &str) -> Options {
    Options { speed: 0.0, ..Options::new(uri, "sim-key", SECRET_B64) }
}

/// The PCM the fake ingest accepted for `session`, checking chunk order and uniqueness on the way.
fn accepted_pcm(fake: &FakeIngest, session: &str) -> (Vec<u8>, Vec<Value>) {
    let accepted = fake.accepted.lock().unwrap().clone();
    let chunks: Vec<&Value> = accepted.iter().filter(|b| b["chunk_id"].is_string()).collect();
    let ids: Vec<String> = chunks.iter().map(|c| c["chunk_id"].as_str().unwrap().to_string()).collect();
    let expected: Vec<String> = (0..ids.len()).map(|i| format!("{session}-{i}")).collect();
    assert_eq!(ids, expected, "every chunk once, in order");
    let pcm = chunks.iter().flat_map(|c| STANDARD.decode(c["audio_b64"].as_str().unwrap()).unwrap()).collect();
    (pcm, accepted)
}

fn interleaved(audio: &Audio) -> Vec<u8> {
    (0..audio.channels[0].len()).flat_map(|f| audio.channels.iter().flat_map(move |c| c[f].to_le_bytes())).collect()
}

/// What the listener should have sent: the simulator's audio after a μ-law round trip.
fn through_ulaw(audio: &Audio) -> Audio {
    use listener::audiohook::media::{linear_to_ulaw, ulaw_to_linear};
    Audio {
        channels: audio
            .channels
            .iter()
            .map(|c| c.iter().map(|s| ulaw_to_linear(linear_to_ulaw(*s))).collect())
            .collect(),
    }
}

#[tokio::test]
async fn an_ingest_outage_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, url) = support::ingest::start().await;
    fake.down.store(true, Ordering::SeqCst);
    // A small per-session memory so the outage also goes through the disk spool.
    let running = start(dir.path(), &url, &[("GENESYS_AUDIOHOOK_STREAM_MEMORY_BYTES", "20000")]).await;
    let audio = call_audio();
    let result = simulate::session(&options(&running.uri), &audio).await;
    assert_eq!(result.outcome, Ok(()));
    support::wait_for("a spool file during the outage", || {
        std::fs::read_dir(dir.path().join("spool")).is_ok_and(|mut d| d.next().is_some())
    })
    .await;
    support::wait_for("retries against the down ingest", || fake.refused.load(Ordering::SeqCst) >= 3).await;
    assert!(fake.accepted.lock().unwrap().is_empty());
    fake.down.store(false, Ordering::SeqCst);
    support::wait_for("the end-of-call event", || {
        fake.accepted.lock().unwrap().last().is_some_and(|b| b["event_type"] == "call_end")
    })
    .await;
    let (pcm, accepted) = accepted_pcm(&fake, &result.session_id);
    assert_eq!(pcm, interleaved(&through_ulaw(&audio)), "all audio, in order");
    let end = accepted.last().unwrap();
    assert_eq!(
        (end["status"].as_str(), end["call_id"].as_str()),
        (Some("ended"), Some(result.conversation_id.as_str()))
    );
    assert_eq!(accepted.iter().filter(|b| b["event_type"] == "call_end").count(), 1);
    // Dead air: the last chunks carry the silence that follows the talk.
    let dead_air = |b: &Value| b["metadata"]["metrics"]["dead_air_seconds"].as_f64().unwrap_or(0.0);
    let last_chunk = &accepted[accepted.len() - 2];
    assert!(dead_air(last_chunk) >= 3.5, "{}", last_chunk["metadata"]);
    assert_eq!(last_chunk["metadata"]["channel_roles"], serde_json::json!(["customer", "agent"]));
    assert_eq!(dead_air(&accepted[0]), 0.0);
    support::wait_for("the spool to empty", || std::fs::read_dir(dir.path().join("spool")).unwrap().next().is_none())
        .await;

    // The recording is the whole call as one stereo WAV.
    let wav = running.blobs.get(&format!("recordings/{}.wav", result.conversation_id)).await.unwrap().unwrap();
    let (format, recorded) = shared::wav::decode(&wav).unwrap();
    assert_eq!((format.sample_rate, format.channels), (8000, 2));
    assert_eq!(recorded, interleaved(&through_ulaw(&audio)));

    let store = running.store.clone();
    let chunks = accepted.len() as u64 - 1;
    let mut hb = None;
    for _ in 0..60 {
        hb = store.get("genesys_audiohook").await.unwrap().filter(|h| h.status["forwarded_chunks"] == chunks);
        if hb.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hb = hb.expect("a heartbeat with the counters within a few seconds");
    assert_eq!(hb.status["state"], "running");
    assert_eq!(hb.status["recordings_written"], 1);
    assert!(hb.status["forward_failures"].as_u64().unwrap() >= 3);
    assert!(!hb.status.to_string().contains("ingest-token") && !hb.status.to_string().contains(&url));
    running.stop().await;
    assert_eq!(store.get("genesys_audiohook").await.unwrap().unwrap().status["state"], "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_spooled_at_shutdown_is_delivered_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, url) = support::ingest::start().await;
    fake.down.store(true, Ordering::SeqCst);
    let running = start(dir.path(), &url, &[]).await;
    let audio = call_audio();
    let result = simulate::session(&options(&running.uri), &audio).await;
    assert_eq!(result.outcome, Ok(()));
    running.stop().await;
    let spooled: Vec<_> = std::fs::read_dir(dir.path().join("spool")).unwrap().flatten().collect();
    assert_eq!(spooled.len(), 1, "the session's backlog is on disk");
    assert!(fake.accepted.lock().unwrap().is_empty());

    fake.down.store(false, Ordering::SeqCst);
    let running = start(dir.path(), &url, &[]).await;
    support::wait_for("the replayed end-of-call event", || {
        fake.accepted.lock().unwrap().last().is_some_and(|b| b["event_type"] == "call_end")
    })
    .await;
    let (pcm, _) = accepted_pcm(&fake, &result.session_id);
    assert_eq!(pcm, interleaved(&through_ulaw(&audio)));
    running.stop().await;
    assert!(std::fs::read_dir(dir.path().join("spool")).unwrap().next().is_none());
}
