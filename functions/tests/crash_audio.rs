//! A crash under live-audio load loses no acknowledged chunk: the real `call-analytics serve` process takes
//! audio chunks for several calls (each call's chunks in order, as a provider streams them), is killed with
//! SIGKILL mid-load and started again on the same data dir. Every call's live window then plays exactly the
//! chunks acknowledged before the kill, byte for byte, plus at most the one that was in flight; sending every
//! chunk again stores none twice, and the window's bytes sit in one file per call, not one per chunk.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{INGEST, SUPERVISOR};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CALLS: usize = 12;
/// Chunks per call: 60 of 100 ms, well inside the default 300 s window.
const PER_CALL: usize = 60;
/// 100 ms of 8 kHz mono 16-bit PCM.
const CHUNK_BYTES: usize = 1_600;
/// Acknowledged chunks (all calls) before the kill.
const KILL_AFTER: usize = 250;

/// Chunk `k` of call `c`: every sample says which chunk it is, so the window can be read back chunk by chunk.
fn pcm(c: usize, k: usize) -> Vec<u8> {
    let sample = (1_000 + c * 100 + k) as i16;
    (0..CHUNK_BYTES / 2).flat_map(|_| sample.to_le_bytes()).collect()
}

fn chunk(c: usize, k: usize) -> Value {
    let at = chrono::DateTime::parse_from_rfc3339("2026-02-10T10:00:00Z").unwrap()
        + chrono::Duration::milliseconds(100 * k as i64);
    json!({"call_id": format!("crash-audio-{c}"), "chunk_id": format!("c{c}-{k}"), "timestamp": at.to_rfc3339(),
        "sample_rate": 8000, "channels": 1, "audio_b64": STANDARD.encode(pcm(c, k))})
}

/// Streams call `c`'s chunks in order until the server stops answering; counts each acknowledged one in
/// `acked[c]` and `total`.
async fn stream(base: String, c: usize, acked: Arc<Mutex<Vec<usize>>>, total: Arc<AtomicUsize>) {
    let http = reqwest::Client::new();
    for k in 0..PER_CALL {
        let sent =
            http.post(format!("{base}/api/realtime/audio/chunk")).header("X-Cloud-Token", INGEST).json(&chunk(c, k));
        match sent.timeout(Duration::from_secs(10)).send().await {
            Ok(r) if r.status().is_success() => {
                acked.lock().unwrap()[c] = k + 1;
                total.fetch_add(1, Ordering::SeqCst);
            }
            Ok(r) => panic!("chunk {c}-{k}: {}", r.status()),
            Err(_) => return, // the server is gone
        }
    }
}

/// The chunks call `c`'s whole live window plays, in order, each checked to be one chunk's exact bytes.
async fn window(base: &str, c: usize) -> Vec<usize> {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/realtime/calls/crash-audio-{c}/audio"))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "call {c}: {}", r.status());
    let wav = r.bytes().await.unwrap();
    let samples: Vec<i16> =
        hound::WavReader::new(std::io::Cursor::new(wav)).unwrap().into_samples().map(Result::unwrap).collect();
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    assert_eq!(bytes.len() % CHUNK_BYTES, 0, "call {c}: whole chunks");
    bytes
        .chunks(CHUNK_BYTES)
        .map(|b| {
            let k = i16::from_le_bytes([b[0], b[1]]) as usize - 1_000 - c * 100;
            assert_eq!(b, pcm(c, k), "call {c}: chunk {k} byte-exact");
            k
        })
        .collect()
}

/// The files under the call's live-audio folder.
fn live_files(dir: &std::path::Path, c: usize) -> usize {
    let folder = dir.join("blobs/live").join(format!("crash-audio-{c}"));
    std::fs::read_dir(folder).map_or(0, |d| d.flatten().filter(|e| e.path().is_file()).count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_no_acknowledged_audio_chunk() {
    let dir = tempfile::TempDir::new().unwrap();
    let (mut server, base) = common::serve_binary(dir.path(), &[]);
    let (acked, total) = (Arc::new(Mutex::new(vec![0; CALLS])), Arc::new(AtomicUsize::new(0)));
    let streams: Vec<_> =
        (0..CALLS).map(|c| tokio::spawn(stream(base.clone(), c, acked.clone(), total.clone()))).collect();
    while total.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(streams.iter().any(|s| !s.is_finished()), "load ended before the kill");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap(); // SIGKILL: no shutdown path runs
    server.wait().unwrap();
    for s in streams {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.iter().sum::<usize>() < CALLS * PER_CALL, "killed mid-load: {acked:?}");

    let (mut server, base) = common::serve_binary(dir.path(), &[]);
    for (c, &n) in acked.iter().enumerate() {
        let played = window(&base, c).await;
        assert!(played.len() == n || played.len() == n + 1, "call {c}: {n} acknowledged, {} kept", played.len());
        assert_eq!(played, (0..played.len()).collect::<Vec<_>>(), "call {c}: each chunk once, in order");
    }

    // A provider sends again what it does not know the fate of (here: every chunk of every call).
    let http = reqwest::Client::new();
    for c in 0..CALLS {
        let kept = window(&base, c).await.len();
        for k in 0..PER_CALL {
            let r = http
                .post(format!("{base}/api/realtime/audio/chunk"))
                .header("X-Cloud-Token", INGEST)
                .json(&chunk(c, k))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["duplicate"] == json!(true), k < kept, "chunk {c}-{k}: duplicate exactly when kept");
        }
        assert_eq!(window(&base, c).await, (0..PER_CALL).collect::<Vec<_>>(), "call {c}: every chunk once");
        assert_eq!(live_files(dir.path(), c), 1, "call {c}: its {PER_CALL} chunks in one file");
    }
    common::process::terminate(&mut server);
}
