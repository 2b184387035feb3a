//! The AudioHook service end to end on loopback: the simulator streams a stereo call into the real
//! server, the session pipeline forwards to a fake ingest (an axum server in this test, named
//! `FakeIngest`) that is down for a while, and everything must arrive afterwards in order, once, with the
//! recording in the blob folder and the heartbeat in the SQLite file.

#[path = "support/mod.rs"]
mod support;

use listener::simulate::{self, Audio};
use serde_json::Value;
use shared::ports::{BlobStore, Heartbeats};
use std::sync::atomic::Ordering;
use support::audiohook::{chunk_pcm, interleaved, options, start, through_ulaw};
use support::ingest::FakeIngest;

/// Two seconds of speech-like tone on both channels, then four seconds of near silence.
fn call_audio() -> Audio {
    let tone = |amp: i16| (0..16_000).map(move |i| if (i / 8) % 2 == 0 { amp } else { -amp });
    let channel = |amp| tone(amp).chain(std::iter::repeat_n(3, 32_000)).collect::<Vec<i16>>();
    Audio { channels: vec![channel(4000), channel(2500)] }
}

/// What the fake ingest accepted, and the PCM of `session`'s chunks in it.
fn accepted_pcm(fake: &FakeIngest, session: &str) -> (Vec<u8>, Vec<Value>) {
    let accepted = fake.accepted.lock().unwrap().clone();
    (chunk_pcm(&accepted, session), accepted)
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
    let (format, recorded) = shared::audio::wav::decode(&wav).unwrap();
    assert_eq!((format.sample_rate, format.channels), (8000, 2));
    assert_eq!(recorded, interleaved(&through_ulaw(&audio)));

    let store = running.store.clone();
    let chunks = accepted.len() as u64 - 1;
    let hb = running.heartbeat(|s| s["forwarded_chunks"] == chunks).await;
    assert_eq!(hb["state"], "running");
    assert_eq!((&hb["recordings_written"], &hb["audio_dropped_seconds"]), (&1.into(), &0.into()), "no audio dropped");
    assert!(hb["forward_failures"].as_u64().unwrap() >= 3);
    assert!(!hb.to_string().contains("ingest-token") && !hb.to_string().contains(&url));
    running.stop().await;
    assert_eq!(store.list("genesys_audiohook").await.unwrap().into_iter().next().unwrap().status["state"], "stopped");
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

#[tokio::test]
async fn the_parts_a_crash_left_are_joined_as_the_service_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (_fake, url) = support::ingest::start().await;
    let before = shared::adapters::embedded::FolderBlobStore::new(dir.path().join("blobs"));
    let format = shared::realtime::live_audio::AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 };
    let part = "recordings/conv-crashed/sess-1/part-000000.wav";
    before.put(part, shared::audio::wav::encode(&format, &[1, 0, 2, 0])).await.unwrap();
    let running = start(dir.path(), &url, &[]).await;
    let joined = dir.path().join("blobs/recordings/conv-crashed.wav");
    support::wait_for("the crashed session's recording", || joined.exists()).await;
    let wav = running.blobs.get("recordings/conv-crashed.wav").await.unwrap().unwrap();
    assert_eq!(shared::audio::wav::decode(&wav).unwrap(), (format, vec![1, 0, 2, 0]));
    assert!(!running.blobs.exists(part).await.unwrap(), "the part is joined once");
    running.stop().await;
}
