//! Ingest load benchmark: starts the local server in-process over a temp data dir and drives it over
//! loopback with concurrent clients. Prints requests/s and p50/p99 latency for each scenario, and every
//! figure as a ratio to the baseline (`GET /healthz`, no auth and no storage) measured in the same run with
//! as many clients: the machine's ceiling, so the ratio holds across machines and whatever else they run.
//!
//! The event scenario is issue 18's: 50 calls round-robin, a fresh `event_id` per request, each call
//! cycling five transcript lines (agent and customer, sentiment -0.7 to 0.4, one in five says "cancel
//! account" and raises alerts), at 8 and at 32 clients.
//!
//! `cargo bench -p functions --bench ingest_load [-- --clients N --requests N | --smoke]`

use base64::Engine;
use functions::server::LocalServer;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const INGEST: &str = "bench-ingest-token";
const SUPERVISOR: &str = "bench-supervisor-token";

struct Args {
    /// Client counts the event scenario runs at (each with its own `/healthz` baseline); the other
    /// scenarios run at the largest.
    clients: Vec<usize>,
    requests: usize,
}

fn args() -> Args {
    let mut a = Args { clients: vec![8, 32], requests: 10_000 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => a = Args { clients: vec![2], requests: 40 },
            "--clients" => {
                if let Some(n) = it.next().and_then(|v| v.parse::<usize>().ok()) {
                    a.clients = vec![n.max(1)];
                }
            }
            "--requests" => a.requests = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.requests).max(1),
            _ => {} // cargo passes --bench and friends
        }
    }
    a
}

/// What one scenario sends: request number → (path, JSON body or None for GET).
type Plan = Arc<dyn Fn(usize) -> (&'static str, Option<Value>) + Send + Sync>;

struct Figures {
    name: String,
    clients: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failures: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn run(name: &str, base: &str, clients: usize, requests: usize, plan: Plan) -> Figures {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (http, next, failures, plan, base) =
                (http.clone(), next.clone(), failures.clone(), plan.clone(), base.to_string());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        return latencies;
                    }
                    let (path, body) = plan(n);
                    let req = match body {
                        Some(b) => http.post(format!("{base}{path}")).header("X-Cloud-Token", INGEST).json(&b),
                        None => http.get(format!("{base}{path}")),
                    };
                    let t = Instant::now();
                    let ok = match req.send().await {
                        Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    latencies.push(t.elapsed());
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(requests);
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort();
    Figures {
        name: format!("{name}, {clients} clients"),
        clients,
        per_second: all.len() as f64 / wall,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        failures: failures.load(Ordering::Relaxed),
    }
}

/// What each call says, in turn: (speaker, text, sentiment). The fourth line raises the escalation-keyword
/// alert (and, with the negative sentiment before it, more).
const LINES: [(&str, &str, f64); 5] = [
    ("agent", "thanks for calling, how can I help you today", 0.4),
    ("customer", "my invoice is wrong again this month", -0.4),
    ("agent", "let me check that for you", 0.1),
    ("customer", "this is the third time, I want to cancel account now", -0.7),
    ("agent", "I understand, I can correct the invoice right away", 0.2),
];

/// Request `n` goes to call `n % calls` and is that call's `n / calls`-th line, with a fresh `event_id`.
fn event_plan(calls: usize, prefix: String) -> Plan {
    Arc::new(move |n| {
        let (speaker, text, sentiment) = LINES[(n / calls) % LINES.len()];
        let body = json!({"call_id": format!("{prefix}-{}", n % calls), "provider": "bench", "speaker": speaker,
            "text": text, "sentiment": sentiment, "event_id": format!("{prefix}-e{n}")});
        ("/api/realtime/events", Some(body))
    })
}

fn audio_plan(calls: usize) -> Plan {
    // 100 ms of a 16 kHz mono tone: 1,600 samples, 3,200 bytes.
    let pcm: Vec<u8> = (0..1600).flat_map(|i| ((((i as f64) * 0.2).sin() * 3000.0) as i16).to_le_bytes()).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(pcm);
    Arc::new(move |n| {
        let body = json!({"call_id": format!("audio-{}", n % calls), "audio_b64": b64, "sample_rate": 16000,
            "channels": 1, "chunk_id": format!("c{n}")});
        ("/api/realtime/audio/chunk", Some(body))
    })
}

/// Prints every row against the baseline run with the same number of clients.
fn print(baselines: &[Figures], rows: &[&Figures]) {
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>14} {:>13}",
        "scenario", "req/s", "p50 ms", "p99 ms", "x base req/s", "x base p50"
    );
    for f in rows {
        let base = baselines.iter().find(|b| b.clients == f.clients).unwrap_or(&baselines[0]);
        println!(
            "{:<34} {:>9.0} {:>9.2} {:>9.2} {:>14.2} {:>13.2}{}",
            f.name,
            f.per_second,
            f.p50_ms,
            f.p99_ms,
            f.per_second / base.per_second,
            f.p50_ms / base.p50_ms,
            if f.failures > 0 { format!("  FAILURES: {}", f.failures) } else { String::new() }
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = args();
    let tmp = tempfile::TempDir::new().unwrap();
    let env: HashMap<String, String> = [
        ("HTTP_ADDR", "127.0.0.1:0".to_string()),
        ("DATA_DIR", tmp.path().display().to_string()),
        ("REALTIME_INGEST_TOKEN", INGEST.into()),
        ("SUPERVISOR_TOKEN", SUPERVISOR.into()),
        ("GENESYS_AUDIOHOOK_ENABLED", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bound = LocalServer::bind(&env).await.unwrap();
    let base = format!("http://{}", bound.http.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.server.serve(bound.http, async {
        let _ = stopped.await;
    }));

    println!(
        "ingest_load: {:?} clients, {} requests per scenario, optimized={}",
        a.clients,
        a.requests,
        !cfg!(debug_assertions)
    );
    let most = a.clients.iter().copied().max().unwrap_or(1);
    let mut baselines = Vec::new();
    let mut rows = Vec::new();
    for &clients in &a.clients {
        let healthz: Plan = Arc::new(|_| ("/healthz", None));
        baselines.push(run("healthz (baseline)", &base, clients, a.requests, healthz).await);
        let plan = event_plan(50, format!("ev{clients}"));
        rows.push(run("events, 50 calls", &base, clients, a.requests, plan).await);
    }
    let audio = run("audio 100ms, 20 calls", &base, most, a.requests, audio_plan(20)).await;
    println!("audio ingested: {:.1} s of 16 kHz audio per wall-clock second", audio.per_second * 0.1);
    rows.push(audio);
    rows.push(run("events, 1 call", &base, most, a.requests, event_plan(1, "one".into())).await);
    print(&baselines, &baselines.iter().chain(&rows).collect::<Vec<_>>());

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let failures: usize = baselines.iter().chain(&rows).map(|f| f.failures).sum();
    if failures > 0 {
        eprintln!("ingest_load: {failures} requests failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
