//! What one live-audio chunk costs on the AWS adapters as a call goes on: bytes sent to and read from
//! DynamoDB and S3 (moto behind counting proxies) per chunk, at AudioHook's cadence (750 ms of 8 kHz stereo),
//! through the realtime service as the listener feeds it. The window used to be one item listing every
//! chunk, read and rewritten per chunk: 84–210 KB a write once the 300 s window was full, and past
//! DynamoDB's 400 KB item limit with longer windows or shorter chunks.
#![cfg(feature = "aws")]

mod moto;

use moto::{CountingProxy, Moto, fixture, sdk};
use serde_json::json;
use shared::adapters::aws::{DynamoStore, S3BlobStore};
use shared::realtime::RealtimeService;
use shared::realtime::config::RealtimeConfig;
use shared::values::timestamps::{Timestamp, iso};
use std::sync::{Arc, Mutex};

/// Chunks in the simulated two-hour call. At AudioHook's cadence it has 9,600 (one every 750 ms), which take
/// moto about 25 minutes; by default the test sends 480, 15 s apart, so the call still spans two hours and
/// the default 300 s window (400 chunks of 750 ms) is full for its last 80. `LIVE_AUDIO_BYTES_CHUNKS=9600`
/// runs the real cadence.
const CHUNKS: u64 = 480;
const TWO_HOURS_MS: u64 = 2 * 3600 * 1000;
/// 750 ms of 8 kHz stereo 16-bit PCM.
const CHUNK_BYTES: usize = 6_000 * 4;
/// Most bytes one chunk may cost besides its PCM on its way to S3, two hours in: DynamoDB requests and
/// responses (the window's head and entry, the trim, the call's event path and the answer's snapshot) and
/// S3's own request and response overhead, headers included.
const MAX_OVERHEAD_PER_CHUNK: u64 = 24 * 1024;
/// How much more the last chunks may cost than the first ones: once the window is full each chunk also
/// reads the oldest entries (one more `Query`) and deletes one entry and its blob (an S3 `DELETE`), about
/// 3.8 KB with the requests' headers; the call's first 300 s need neither.
const MAX_GROWTH_PER_CHUNK: u64 = 6 * 1024;
/// Once the window is full, how much a later chunk may cost beyond one just after: nothing grows with the
/// call (a few bytes for wider numbers).
const MAX_DRIFT_PER_CHUNK: u64 = 256;
/// 300 s of 750 ms chunks: the default window is full from this chunk on.
const FULL_AT: usize = 400;

#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    dynamodb: (u64, u64),
    s3: (u64, u64),
}

impl Cost {
    fn total(&self) -> u64 {
        self.dynamodb.0 + self.dynamodb.1 + self.s3.0 + self.s3.1
    }
}

/// The mean cost of `chunks`, per chunk.
fn mean(chunks: &[Cost]) -> Cost {
    let n = chunks.len() as u64;
    let sum = |f: fn(&Cost) -> u64| chunks.iter().map(f).sum::<u64>() / n;
    Cost { dynamodb: (sum(|c| c.dynamodb.0), sum(|c| c.dynamodb.1)), s3: (sum(|c| c.s3.0), sum(|c| c.s3.1)) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_costs_the_same_bytes_two_hours_into_a_call() {
    let chunks: u64 = std::env::var("LIVE_AUDIO_BYTES_CHUNKS").ok().and_then(|v| v.parse().ok()).unwrap_or(CHUNKS);
    let spacing_ms = (TWO_HOURS_MS / chunks) as i64;
    let moto = Moto::start();
    let settings = fixture(&sdk(&moto.endpoint).await, &moto.endpoint, "two-hours").await;
    let (dynamodb, s3) = (CountingProxy::start(&moto.endpoint).await, CountingProxy::start(&moto.endpoint).await);
    let s3_settings =
        shared::adapters::aws::AwsSettings { endpoint_url: Some(s3.endpoint.clone()), ..settings.clone() };
    let start: Timestamp = "2026-02-10T10:00:00Z".parse().unwrap();
    let now = Arc::new(Mutex::new(start));
    let clock = now.clone();
    let service = RealtimeService::with_clock(
        Arc::new(DynamoStore::new(&sdk(&dynamodb.endpoint).await, &settings)),
        Arc::new(S3BlobStore::new(&sdk(&s3.endpoint).await, &s3_settings)),
        Arc::new(shared::adapters::embedded::BroadcastPush::new(8)),
        RealtimeConfig::default(),
        Arc::new(move || *clock.lock().unwrap()),
    );
    // A tone (speech-like level): no dead air, so every chunk is a bare one, as most of a call's are.
    let pcm: Vec<u8> = (0..CHUNK_BYTES / 2).flat_map(|i| (((i % 16) as i16 - 8) * 800).to_le_bytes()).collect();
    let mut costs = Vec::with_capacity(chunks as usize);
    let began = std::time::Instant::now();
    for i in 0..chunks {
        let at = start + chrono::Duration::milliseconds(spacing_ms * i as i64);
        *now.lock().unwrap() = at;
        let body = json!({"provider": "genesys", "call_id": "two-hours", "chunk_id": format!("session-{i}"),
            "audio_encoding": "pcm_s16le", "sample_rate": 8000, "channels": 2, "status": "active",
            "timestamp": iso(&at), "metadata": {"metrics": {"dead_air_seconds": 0.0}}});
        let (d0, s0) = (dynamodb.counts(), s3.counts());
        let out = service.ingest_audio_pcm(body.as_object().unwrap(), &pcm).await.unwrap();
        assert_eq!(out["ok"], true);
        let (d1, s1) = (dynamodb.counts(), s3.counts());
        costs.push(Cost { dynamodb: (d1.0 - d0.0, d1.1 - d0.1), s3: (s1.0 - s0.0, s1.1 - s0.1) });
        if i % 1000 == 999 {
            eprintln!("{} chunks in {:.0?}: last {:?}", i + 1, began.elapsed(), costs.last().unwrap());
        }
    }
    let meta = service.audio_meta("two-hours", false).await.unwrap();
    assert_eq!(meta["live_audio"]["duration_seconds"], 300.0, "the window is full: {meta}");
    // The first chunks after the call's first, and the last ones (window full, trimmed with every chunk).
    let (first, full, last) =
        (mean(&costs[1..41]), mean(&costs[FULL_AT + 1..FULL_AT + 41]), mean(&costs[costs.len() - 40..]));
    let pcm_bytes = CHUNK_BYTES as u64;
    eprintln!(
        "bytes per chunk (DynamoDB sent/received, S3 sent/received): first {first:?}, once the window is full \
         {full:?}, after {chunks} chunks {last:?}"
    );
    assert!(
        last.total() <= full.total() + MAX_DRIFT_PER_CHUNK,
        "a chunk two hours in costs {} bytes, one when the window was just full {}",
        last.total(),
        full.total()
    );
    assert!(
        last.total() <= first.total() + MAX_GROWTH_PER_CHUNK,
        "a chunk two hours in costs {} bytes, one at the start {}",
        last.total(),
        first.total()
    );
    assert!(
        last.total() <= pcm_bytes + MAX_OVERHEAD_PER_CHUNK,
        "{} bytes per chunk besides its {pcm_bytes} bytes of PCM",
        last.total() - pcm_bytes
    );
}
