//! What a crash costs the recording, from outside: the real `listener audiohook` process is killed (SIGKILL)
//! while a stereo call streams at real-time pace, then started again on the same data folder. The part
//! being filled is found on local disk and joined into the call's recording, which must be exactly the
//! audio sent, cut short by no more than what was still in memory at the kill: the session's write buffer
//! (8 KiB, a quarter of a second of stereo audio) and the writer thread's queue (drained every 20 ms).

#[path = "support/mod.rs"]
mod support;

use listener::simulate::{self, Audio, Options};
use std::time::Duration;
use support::audiohook::{interleaved, through_ulaw};
use support::process::Audiohook;

const KEY: &str = "crash-key";
const SECRET_B64: &str = "Y3Jhc2ggc2VjcmV0";
/// Audio the recording may lack after the kill: the write buffer and a drain of the queue, with margin.
const MAX_LOST_SECONDS: f64 = 0.5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listener_loses_at_most_the_audio_it_held_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let app = axum::Router::new()
        .route("/api/realtime/audio/chunk", axum::routing::post(|_chunk: axum::body::Bytes| async { "{}" }))
        .route("/api/realtime/events", axum::routing::post(|_event: axum::body::Bytes| async { "{}" }));
    let ingest = support::serve(app).await;
    // Another build may be measured the same way (before/after a change): `LISTENER_BIN=path`.
    let binary = std::env::var("LISTENER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_listener").into());
    let creds = (KEY, SECRET_B64);
    let mut first = Audiohook::start(&binary, dir.path(), creds, &ingest, &[]).await;

    // Eight seconds of a tone that changes every sample pair, so a misplaced byte shows; killed after three.
    let channel = |k: i32| (0..64_000).map(move |i| (((i * k) % 4000) - 2000) as i16).collect::<Vec<i16>>();
    let audio = Audio { channels: vec![channel(7), channel(13)] };
    let opts = Options::new(&format!("ws://127.0.0.1:{}/audiohook/ws", first.port), KEY, SECRET_B64);
    let streaming = tokio::spawn({
        let audio = audio.clone();
        async move { simulate::session(&opts, &audio).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let result = streaming.await.unwrap();
    assert!(result.outcome.is_err(), "the session was cut by the kill");
    let sent_frames = result.frames_sent * 800; // 100 ms frames of 800 samples per channel

    let second = Audiohook::start(&binary, dir.path(), creds, &ingest, &[]).await;
    let joined = dir.path().join(format!("blobs/recordings/{}.wav", result.conversation_id));
    support::wait_for("the killed session's recording", || joined.exists()).await;
    let (format, recorded) = shared::audio::wav::decode(&std::fs::read(&joined).unwrap()).unwrap();
    assert_eq!((format.sample_rate, format.channels), (8000, 2));
    let expected = interleaved(&through_ulaw(&audio));
    assert!(!recorded.is_empty() && recorded.len() <= expected.len());
    assert!(recorded == expected[..recorded.len()], "the recording is the audio sent, byte for byte");
    let recorded_frames = (recorded.len() / 4) as u64;
    let lost = sent_frames.saturating_sub(recorded_frames) as f64 / 8000.0;
    println!("sent {sent_frames} frames, recorded {recorded_frames}: {lost:.3} s lost to the kill");
    assert!(lost <= MAX_LOST_SECONDS, "{lost:.3} s of audio sent before the kill is not in the recording");
    drop(second);
}
