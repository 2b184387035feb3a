//! What a live AudioHook session costs in memory, from outside: the real `listener audiohook` process,
//! N simulated stereo calls streaming at real-time pace, and the growth of its resident set (`VmRSS` in
//! `/proc`) per session while they stream, against the bound of issue 18 (64 KiB per session). A recorder
//! that holds each session's audio until a part is full (320 KiB per 10 s) is far above it.

#[path = "support/mod.rs"]
mod support;

use axum::routing::post;
use listener::simulate::{self, Audio, Options};
use std::sync::Arc;
use std::time::Duration;
use support::process::Audiohook;

const KEY: &str = "memory-key";
const SECRET_B64: &str = "bWVtb3J5IHNlY3JldA==";
/// Sessions streaming at once: enough that their memory stands out from the process's own.
const SESSIONS: usize = 60;
/// Audio per session; RSS is read from `MEASURE_FROM` on, when every session holds several seconds.
const SECONDS: usize = 9;
const MEASURE_FROM: Duration = Duration::from_secs(5);
/// The bound holds for the optimised build. An unoptimised one (plain `cargo test`) keeps larger
/// task state machines and buffers per session, and on a busy machine it falls behind the ingest, so more
/// sessions hold a chunk in flight (the chunk and its JSON body, up to about 150 KiB at the longest chunk):
/// quiet it measures 51–61 KiB, with both cores busy and the disk writing 53–84 KiB, and a CI run measured
/// 99 KiB. It gets twice the bound: still well under what the recorder that held its part in memory took
/// (about 320 KiB either way), which is what this test is here to catch.
const MAX_BYTES_PER_SESSION: u64 = if cfg!(debug_assertions) { 128 * 1024 } else { 64 * 1024 };

/// Resident bytes of `pid` now (`VmRSS`, which Linux reports in KiB).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_session_holds_at_most_64_kib_resident() {
    let dir = tempfile::tempdir().unwrap();
    // The fake ingest reads each request whole (answering before the body is read can break the client's
    // pipe) and keeps nothing: only the listener's memory is measured.
    let app = axum::Router::new()
        .route("/api/realtime/audio/chunk", post(|_chunk: axum::body::Bytes| async { "{}" }))
        .route("/api/realtime/events", post(|_event: axum::body::Bytes| async { "{}" }));
    let ingest = support::serve(app).await;
    // Another build may be measured the same way (before/after a change): `LISTENER_BIN=path`.
    let binary = std::env::var("LISTENER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_listener").into());
    let listener = Audiohook::start(&binary, dir.path(), (KEY, SECRET_B64), &ingest, &[]).await;
    let (port, pid) = (listener.port, listener.child.id());
    let idle = rss(pid);

    let tone: Vec<i16> = (0..8000 * SECONDS).map(|i| if (i / 8) % 2 == 0 { 2500 } else { -2500 }).collect();
    let audio = Arc::new(Audio { channels: vec![tone.clone(), tone] });
    let opts = Arc::new(Options::new(&format!("ws://127.0.0.1:{port}/audiohook/ws"), KEY, SECRET_B64));
    let run = tokio::spawn(simulate::sessions(opts, audio, SESSIONS, Duration::from_millis(5)));
    tokio::time::sleep(MEASURE_FROM).await;
    let mut streaming = 0;
    for _ in 0..10 {
        streaming = streaming.max(rss(pid));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let results = run.await.unwrap();
    assert!(results.iter().all(|r| r.outcome.is_ok()), "every session streamed: {:?}", results[0].outcome);
    let per_session = streaming.saturating_sub(idle) / SESSIONS as u64;
    println!("{} KiB resident per streaming session", per_session / 1024);
    assert!(
        per_session <= MAX_BYTES_PER_SESSION,
        "{} KiB resident per streaming session (idle {} MiB, streaming {} MiB)",
        per_session / 1024,
        idle >> 20,
        streaming >> 20
    );
}
