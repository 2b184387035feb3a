//! AudioHook load benchmark: `listener audiohook` as a real process pinned to core 0, fed by the simulator
//! with concurrent stereo PCMU sessions at real-time pace (100 ms frames), forwarding to a fake ingest in
//! this process (an axum server that counts audio per session; this process runs on core 1). For each
//! session count it prints: sessions that completed with every sample delivered, `opened` p50/p99, CPU
//! (share of the one core) and RSS per session, and the simulator's own lag. Ratios are against the
//! one-session baseline measured first in the same run.
//!
//! `cargo bench -p listener --bench audiohook_load [-- --sessions 250,500,1000,2000 --seconds 20 | --smoke]
//! [--listener PATH]`: `--listener` measures another build of the binary (before/after comparisons).

#[path = "../tests/support/mod.rs"]
mod support;

use axum::extract::State;
use axum::routing::post;
use listener::simulate::{self, Audio, Options};
use std::collections::HashMap;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "bench-key";
const SECRET_B64: &str = "YmVuY2ggc2VjcmV0";

struct Args {
    steps: Vec<usize>,
    seconds: u32,
    /// The listener binary measured: this build's unless `--listener` names another.
    listener: String,
}

fn args() -> Args {
    let mut a =
        Args { steps: vec![250, 500, 1000, 2000], seconds: 20, listener: env!("CARGO_BIN_EXE_listener").into() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => (a.steps, a.seconds) = (vec![5], 2),
            "--listener" => a.listener = it.next().unwrap_or(a.listener),
            "--sessions" => {
                a.steps = it.next().unwrap_or_default().split(',').filter_map(|n| n.trim().parse().ok()).collect()
            }
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.seconds).max(1),
            _ => {} // cargo passes --bench
        }
    }
    a
}

/// Samples per channel received per session id (from `chunk_id` = `<session>-<n>`).
#[derive(Default)]
struct FakeIngest {
    samples: Mutex<HashMap<String, u64>>,
}

/// Borrowed, so counting a chunk copies none of its audio (this process must keep up with the listener).
#[derive(serde::Deserialize)]
struct ChunkBody<'a> {
    chunk_id: Option<&'a str>,
    audio_b64: Option<&'a str>,
    channels: Option<u64>,
}

async fn accept(State(f): State<Arc<FakeIngest>>, body: axum::body::Bytes) -> &'static str {
    if let Ok(c) = serde_json::from_slice::<ChunkBody>(&body)
        && let (Some(id), Some(b64)) = (c.chunk_id, c.audio_b64)
    {
        let bytes = b64.len() / 4 * 3 - b64.bytes().rev().take_while(|b| *b == b'=').count();
        let session = id.rsplit_once('-').map_or(id, |(s, _)| s).to_string();
        *f.samples.lock().unwrap().entry(session).or_default() += (bytes / 2) as u64 / c.channels.unwrap_or(1).max(1);
    }
    "{}"
}

fn pin_self_to(core: &str) {
    let ok = Command::new("taskset")
        .args(["-a", "-p", "-c", core, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("taskset failed: the figures are not per core");
    }
}

struct Proc {
    child: Child,
}

impl Proc {
    /// (CPU seconds used so far, resident MiB).
    fn usage(&self) -> (f64, f64) {
        let pid = self.child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(") ").map_or("", |(_, r)| r).split(' ').collect();
        let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        (ticks / 100.0, rss_kib / 1024.0)
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn start_listener(binary: &str, dir: &std::path::Path, port: u16, ingest: &str) -> Proc {
    let child = Command::new("taskset")
        .args(["-c", "0", binary, "audiohook", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--log-level", "warn"])
        .env("DATA_DIR", dir)
        .env("GENESYS_AUDIOHOOK_API_KEY", KEY)
        .env("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET_B64)
        .env("REALTIME_INGEST_URL", ingest)
        .env_remove("TABLE_NAME")
        .stdout(Stdio::null())
        .spawn()
        .expect("taskset (util-linux) and the listener binary");
    Proc { child }
}

struct Figures {
    sessions: usize,
    complete: usize,
    lost_samples: u64,
    opened_p50_ms: f64,
    opened_p99_ms: f64,
    cpu_share: f64,
    rss_mib: f64,
    idle_rss_mib: f64,
    max_lag_ms: f64,
}

async fn step(a: &Args, sessions: usize, ingest: &Arc<FakeIngest>, ingest_url: &str) -> Figures {
    let seconds = a.seconds;
    ingest.samples.lock().unwrap().clear();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proc = start_listener(&a.listener, dir.path(), port, ingest_url);
    support::wait_healthy(port).await;
    let idle_rss_mib = proc.usage().1;
    let tone: Vec<i16> = (0..8000 * seconds as usize).map(|i| if (i / 8) % 2 == 0 { 2500 } else { -2500 }).collect();
    let audio = Arc::new(Audio { channels: vec![tone.clone(), tone] });
    let opts = Arc::new(Options::new(&format!("ws://127.0.0.1:{port}/audiohook/ws"), KEY, SECRET_B64));
    // Sessions start over the first quarter of the run, as calls arrive; measure once all are streaming.
    let ramp = Duration::from_secs(u64::from(seconds)) / 4;
    let stagger = ramp / sessions.max(1) as u32;
    let run = tokio::spawn(simulate::sessions(opts, audio, sessions, stagger));
    tokio::time::sleep(ramp + Duration::from_millis(500)).await;
    let (cpu0, _) = proc.usage();
    let t0 = Instant::now();
    let mut rss_mib: f64 = 0.0;
    let window = Duration::from_secs(u64::from(seconds)) / 2;
    while t0.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rss_mib = rss_mib.max(proc.usage().1);
    }
    let (cpu1, _) = proc.usage();
    let cpu_share = (cpu1 - cpu0) / t0.elapsed().as_secs_f64();
    let results = run.await.unwrap();
    // Everything sent must reach the ingest; give the pumps a moment after the last close.
    let expected = 8000 * u64::from(seconds);
    let deadline = Instant::now() + Duration::from_secs(15);
    let delivered =
        |r: &simulate::SessionResult| ingest.samples.lock().unwrap().get(&r.session_id).copied().unwrap_or(0);
    while Instant::now() < deadline && results.iter().any(|r| r.outcome.is_ok() && delivered(r) < expected) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    proc.stop();
    let complete = results.iter().filter(|r| r.outcome.is_ok() && delivered(r) == expected).count();
    let lost_samples = results.iter().map(|r| expected.saturating_sub(delivered(r))).sum();
    let mut opened: Vec<f64> =
        results.iter().filter_map(|r| r.opened_after).map(|d| d.as_secs_f64() * 1000.0).collect();
    opened.sort_by(f64::total_cmp);
    let max_lag_ms = results.iter().map(|r| r.max_lag.as_secs_f64() * 1000.0).fold(0.0, f64::max);
    for r in results.iter().filter(|r| r.outcome.is_err()).take(3) {
        eprintln!("  session failed: {:?}", r.outcome);
    }
    Figures {
        sessions,
        complete,
        lost_samples,
        opened_p50_ms: support::percentile(&opened, 0.5),
        opened_p99_ms: support::percentile(&opened, 0.99),
        cpu_share,
        rss_mib,
        idle_rss_mib,
        max_lag_ms,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = args();
    pin_self_to("1");
    let ingest = Arc::new(FakeIngest::default());
    let app = axum::Router::new()
        .route("/api/realtime/audio/chunk", post(accept))
        .route("/api/realtime/events", post(accept))
        .with_state(ingest.clone());
    let ingest_url = support::serve(app).await;

    println!("listener: {}", a.listener);
    println!(
        "AudioHook load: listener pinned to core 0; simulator and fake ingest on core 1; {} s of stereo PCMU per session, 100 ms frames, real time",
        a.seconds
    );
    println!(
        "{:>8} {:>9} {:>12} {:>10} {:>10} {:>9} {:>12} {:>10} {:>10} {:>13} {:>10} {:>12}",
        "sessions",
        "complete",
        "lost_samples",
        "opened_p50",
        "opened_p99",
        "cpu_core",
        "cpu/session",
        "sess/core",
        "rss_MiB",
        "rss/sess_KiB",
        "sim_lag",
        "p99_x_base"
    );
    let mut baseline_p99 = None;
    let mut all_complete = true;
    for n in std::iter::once(1).chain(a.steps.iter().copied()) {
        let f = step(&a, n, &ingest, &ingest_url).await;
        let base = *baseline_p99.get_or_insert(f.opened_p99_ms);
        all_complete &= f.complete == f.sessions && f.lost_samples == 0;
        println!(
            "{:>8} {:>9} {:>12} {:>8.2}ms {:>8.2}ms {:>9.3} {:>11.5}c {:>10.0} {:>10.1} {:>13.1} {:>8.1}ms {:>11.2}x",
            f.sessions,
            f.complete,
            f.lost_samples,
            f.opened_p50_ms,
            f.opened_p99_ms,
            f.cpu_share,
            f.cpu_share / f.sessions as f64,
            f.sessions as f64 / f.cpu_share,
            f.rss_mib,
            (f.rss_mib - f.idle_rss_mib).max(0.0) * 1024.0 / f.sessions as f64,
            f.max_lag_ms,
            f.opened_p99_ms / base,
        );
    }
    println!(
        "complete = session ended normally and every sample reached the ingest; cpu_core = share of the one pinned core; sess/core = sessions one core would carry at this load"
    );
    if all_complete { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
