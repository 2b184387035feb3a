//! Whole-process AudioHook benchmark: the real `call-analytics serve` binary (AudioHook on, no transcription)
//! over a fresh data dir, fed by the project's simulator with N concurrent stereo PCMU sessions of S seconds
//! at real-time pace (100 ms frames, a ping every 5 s), starting R per second. The server is its own process,
//! so its CPU and memory are its own and not the load generator's (which runs in this process).
//!
//! For each run it prints: sessions clean/failed, the server's CPU share (CPU seconds / wall seconds from the
//! first connection until every call has ended in the store) and CPU milliseconds per second of audio (the
//! work itself, which a starved server spreads over a longer drain), its peak RSS (`VmHWM`), event rows, store bytes
//! (the SQLite file) and other bytes written under the data dir (recordings, blobs) per second of audio,
//! `opened` p99 and ping round trip p99. A one-session run first is the baseline the p99 ratios are against.
//!
//! `cargo bench -p functions --bench audiohook_serve [-- --sessions 200 --seconds 20 --rate 100 | --smoke]`;
//! `--server PATH` measures another build of `call-analytics` (a copy of an earlier one, for before/after).

#[path = "../../shared/tests/process/mod.rs"]
mod process;

use listener::simulate::{self, Audio, Options};
use std::path::Path;
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "bench-key";
const SECRET_B64: &str = "YmVuY2ggc2VjcmV0";
/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// How long the store may take to record every call's end once the sessions are over.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

struct Args {
    sessions: usize,
    seconds: u32,
    rate: f64,
    server: std::path::PathBuf,
}

fn args() -> Args {
    let server = env!("CARGO_BIN_EXE_call-analytics").into();
    let mut a = Args { sessions: 200, seconds: 20, rate: 100.0, server };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match arg.as_str() {
            // Long enough for one ping per session.
            "--smoke" => a = Args { sessions: 5, seconds: 6, rate: 50.0, ..a },
            "--sessions" => a.sessions = value().parse().unwrap_or(a.sessions).max(1),
            "--seconds" => a.seconds = value().parse().unwrap_or(a.seconds).max(1),
            "--rate" => a.rate = value().parse().ok().filter(|r: &f64| *r > 0.0).unwrap_or(a.rate),
            "--server" => a.server = value().into(),
            _ => {} // cargo passes --bench
        }
    }
    a
}

/// The server process, killed if the bench panics before stopping it.
struct Server {
    child: Child,
    audiohook: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    fn start(binary: &Path, dir: &Path) -> Self {
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("DATA_DIR", dir)
            .env("LOG_LEVEL", "warn")
            .env("STT_PROVIDER", "none")
            .env("LIVE_TRANSCRIPTION_ENABLED", "false")
            .env("GENESYS_AUDIOHOOK_ENABLED", "true")
            .env("GENESYS_AUDIOHOOK_PORT", "0")
            .env("GENESYS_AUDIOHOOK_API_KEY", KEY)
            .env("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET_B64);
        let (child, mut lines) = process::spawn_lines(&mut cmd);
        let line = lines.by_ref().map(Result::unwrap).find(|l| l.trim_start().starts_with("AudioHook:")).unwrap();
        std::thread::spawn(move || lines.for_each(drop)); // keep reading, so logging never hits a closed pipe
        let audiohook = line.split_whitespace().find(|w| w.starts_with("ws://")).unwrap().to_string();
        Self { child, audiohook }
    }

    /// CPU seconds (user + system) used so far.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(") ").map_or("", |(_, r)| r).split(' ').collect();
        let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
        ticks / 100.0
    }

    fn stop(mut self) {
        process::terminate(&mut self.child);
    }
}

/// The SQLite database under `dir`, found by its header (the server owns its name).
fn database(dir: &Path) -> Option<std::path::PathBuf> {
    files(dir).into_iter().map(|(p, _)| p).find(|p| {
        let mut head = [0u8; 16];
        std::fs::File::open(p).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
            && head == SQLITE_MAGIC
    })
}

/// Every file under `dir` with its size.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.metadata() {
            Ok(m) if m.is_dir() => out.extend(files(&path)),
            Ok(m) => out.push((path, m.len())),
            Err(_) => {}
        }
    }
    out
}

/// A count from the store, read beside the running server.
fn count(db: &Path, sql: &str) -> u64 {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0) as u64
}

struct Figures {
    clean: usize,
    failed: usize,
    cpu_cores: f64,
    /// Server CPU milliseconds per second of audio: the work, whether or not the machine had room for it.
    cpu_ms_per_s: f64,
    peak_rss_mib: f64,
    idle_rss_mib: f64,
    event_rows_per_s: f64,
    store_bytes_per_s: f64,
    other_bytes_per_s: f64,
    opened_p99_ms: f64,
    ping_p99_ms: f64,
    drained: bool,
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(((values.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

async fn run(a: &Args, sessions: usize) -> Figures {
    let (seconds, rate) = (a.seconds, a.rate);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&a.server, dir.path());
    let db = database(dir.path()).expect("the server created its SQLite store");
    let idle_rss_mib = process::peak_rss(server.child.id()) as f64 / (1 << 20) as f64;
    let tone: Vec<i16> = (0..8000 * seconds as usize).map(|i| if (i / 8) % 2 == 0 { 2500 } else { -2500 }).collect();
    let audio = Arc::new(Audio { channels: vec![tone.clone(), tone] });
    let opts = Arc::new(Options::new(&server.audiohook, KEY, SECRET_B64));
    let (cpu0, t0) = (server.cpu_seconds(), Instant::now());
    let results = simulate::sessions(opts, audio, sessions, Duration::from_secs_f64(1.0 / rate)).await;
    let clean = results.iter().filter(|r| r.outcome.is_ok()).count();
    // The work is done once every clean session's call has ended in the store.
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let ended = || count(&db, "SELECT count(*) FROM realtime_call WHERE status = 'ended'");
    while ended() < clean as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained = ended() >= clean as u64;
    let cpu_seconds = server.cpu_seconds() - cpu0;
    let cpu_cores = cpu_seconds / t0.elapsed().as_secs_f64();
    let peak_rss_mib = process::peak_rss(server.child.id()) as f64 / (1 << 20) as f64;
    let event_rows = count(&db, "SELECT count(*) FROM realtime_event");
    server.stop();
    let audio_seconds = (clean as f64 * f64::from(seconds)).max(1.0);
    let db_name = db.file_name().unwrap().to_string_lossy().to_string();
    let (store, other): (Vec<_>, Vec<_>) = files(dir.path())
        .into_iter()
        .partition(|(p, _)| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&db_name)));
    let bytes = |v: Vec<(std::path::PathBuf, u64)>| v.iter().map(|(_, n)| *n).sum::<u64>() as f64;
    for r in results.iter().filter(|r| r.outcome.is_err()).take(3) {
        eprintln!("  session failed: {:?}", r.outcome);
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    Figures {
        clean,
        failed: sessions - clean,
        cpu_cores,
        cpu_ms_per_s: cpu_seconds * 1000.0 / audio_seconds,
        peak_rss_mib,
        idle_rss_mib,
        event_rows_per_s: event_rows as f64 / audio_seconds,
        store_bytes_per_s: bytes(store) / audio_seconds,
        other_bytes_per_s: bytes(other) / audio_seconds,
        opened_p99_ms: percentile(results.iter().filter_map(|r| r.opened_after.as_ref()).map(ms).collect(), 0.99),
        ping_p99_ms: percentile(results.iter().flat_map(|r| r.ping_rtts.iter()).map(ms).collect(), 0.99),
        drained,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = args();
    println!(
        "AudioHook into `{} serve` (no transcription): {} s of stereo PCMU per session, 100 ms frames, real time, {} sessions/s",
        a.server.display(),
        a.seconds,
        a.rate
    );
    println!(
        "{:>8} {:>6} {:>6} {:>9} {:>12} {:>9} {:>9} {:>11} {:>11} {:>11} {:>11} {:>9} {:>11} {:>9}",
        "sessions",
        "clean",
        "failed",
        "cpu_core",
        "cpu_ms/aud_s",
        "peak_MiB",
        "idle_MiB",
        "rows/aud_s",
        "db_B/aud_s",
        "blob_B/aud_s",
        "opened_p99",
        "x_base",
        "ping_p99",
        "x_base"
    );
    let mut base: Option<(f64, f64)> = None;
    let mut ok = true;
    for n in [1, a.sessions] {
        let f = run(&a, n).await;
        let (opened0, ping0) = *base.get_or_insert((f.opened_p99_ms, f.ping_p99_ms));
        ok &= f.failed == 0 && f.drained;
        println!(
            "{:>8} {:>6} {:>6} {:>9.3} {:>12.2} {:>9.1} {:>9.1} {:>11.2} {:>11.0} {:>12.0} {:>9.2}ms {:>8.2}x {:>9.2}ms {:>8.2}x{}",
            n,
            f.clean,
            f.failed,
            f.cpu_cores,
            f.cpu_ms_per_s,
            f.peak_rss_mib,
            f.idle_rss_mib,
            f.event_rows_per_s,
            f.store_bytes_per_s,
            f.other_bytes_per_s,
            f.opened_p99_ms,
            f.opened_p99_ms / opened0,
            f.ping_p99_ms,
            f.ping_p99_ms / ping0,
            if f.drained { "" } else { "  (calls still not ended in the store)" }
        );
    }
    println!(
        "cpu_core = server CPU seconds / wall seconds until every call ended in the store (what the machine gave it); cpu_ms/aud_s, rows, db and blob bytes per second of audio received"
    );
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
