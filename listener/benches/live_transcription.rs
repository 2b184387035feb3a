//! Live transcription capacity: N simulated two-party calls of espeak-ng speech (the script of the whisper
//! benchmark, customer and agent taking turns) streamed at real time into the real `listener audiohook`
//! with the embedded whisper engine (tiny.en), the listener pinned to core 0 and this process (simulator
//! and fake ingest) on core 1. For each N it prints: the script's words heard in the transcripts that
//! reached the ingest, the latency from the end of a transcript's speech (its offset + duration on the
//! stream's timeline) to its arrival at the ingest, p50/p95, the utterances dropped (the listener's
//! counter), the `transcription_gap`s opened and the utterances their closing events say were lost (every
//! drop must reach the stream: the two counts match), and the listener's CPU per call, as ratios to N = 1
//! measured first in the same run. Where the core stops keeping up, drops and gaps appear; utterances that
//! waited past `LIVE_TRANSCRIPTION_MAX_WAIT_SECONDS` are shed, so the latency of what is transcribed stays
//! bounded. `--max-wait S` sets that bound for the listener.
//!
//! `cargo bench -p listener --features whisper --bench live_transcription [-- --calls 5,10,20,25,30
//! --lines 6 | --smoke] [--model PATH] [--max-wait SECONDS]`

#[path = "../../shared/tests/speech/mod.rs"]
mod speech;
#[path = "../tests/support/mod.rs"]
mod support;

use listener::simulate::{self, Audio, Options};
use serde_json::Value;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::process::Audiohook;

const KEY: &str = "bench-key";
const SECRET_B64: &str = "YmVuY2ggc2VjcmV0";
const TOKEN: &str = "bench-supervisor";
const RATE: u32 = 8_000;
/// Silence after each line before the other side answers.
const PAUSE_SECONDS: f64 = 1.5;
/// How long the end of a step waits, at most, for every call's `call_end` and late results at the ingest.
const END_WAIT: Duration = Duration::from_secs(180);
/// No new event at the ingest for this long once every call has ended: the step is over.
const QUIET: Duration = Duration::from_secs(5);

struct Args {
    steps: Vec<usize>,
    lines: usize,
    model: String,
    /// `LIVE_TRANSCRIPTION_MAX_WAIT_SECONDS` for the listener; its default when empty.
    max_wait: String,
}

fn args() -> Args {
    let mut a = Args { steps: vec![5, 10, 20, 25, 30], lines: 6, model: String::new(), max_wait: String::new() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => (a.steps, a.lines) = (vec![2], 2),
            "--calls" => {
                a.steps = it.next().unwrap_or_default().split(',').filter_map(|n| n.trim().parse().ok()).collect()
            }
            "--lines" => a.lines = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.lines).max(1),
            "--model" => a.model = it.next().unwrap_or_default(),
            "--max-wait" => a.max_wait = it.next().unwrap_or_default(),
            _ => {} // cargo passes --bench
        }
    }
    if a.model.is_empty() {
        a.model = speech::tiny_en().display().to_string();
    }
    a
}

/// One call: `lines` of the script in turn (the agent, channel 1, first) with a pause after each; its
/// audio and the script's words said in it.
fn call(lines: usize) -> (Audio, Vec<String>) {
    let (mut customer, mut agent, mut words) = (Vec::new(), Vec::new(), Vec::new());
    let mut at = 0.5;
    for (i, line) in speech::SCRIPT.iter().cycle().take(lines).enumerate() {
        let side = if i % 2 == 0 { &mut agent } else { &mut customer };
        side.push((at, *line));
        words.extend(line.split_whitespace().map(normalize));
        at += speech::say(line, RATE).len() as f64 / f64::from(RATE) + PAUSE_SECONDS;
    }
    (Audio { channels: speech::stereo_channels(RATE, &customer, &agent, 2.0) }, words)
}

fn normalize(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()
}

/// The script's words found in `heard`, each heard word matching one said word at most.
fn words_heard(said: &[String], heard: &str) -> usize {
    let mut heard: Vec<String> = heard.split_whitespace().map(normalize).collect();
    said.iter().filter(|w| heard.iter().position(|h| h == *w).map(|i| heard.swap_remove(i)).is_some()).count()
}

/// Pins every thread of this process to `cores` (children started afterwards inherit it).
fn pin_self_to(cores: &str) {
    let pid = std::process::id().to_string();
    let ok = Command::new("taskset").args(["-a", "-p", "-c", cores, &pid]).stdout(Stdio::null()).status();
    if !ok.is_ok_and(|s| s.success()) {
        eprintln!("taskset failed: the figures are not per core");
    }
}

#[derive(Clone, Copy)]
struct Figures {
    calls: usize,
    heard: usize,
    said: usize,
    p50: f64,
    p95: f64,
    dropped: f64,
    gaps: usize,
    /// Utterances the gaps' closing events count as lost.
    told: u64,
    cpu_per_call: f64,
    cpu_share: f64,
}

/// The listener's dropped-utterance counter from `/metrics`.
async fn dropped(port: u16) -> f64 {
    let url = format!("http://127.0.0.1:{port}/metrics");
    let text = match reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let counter = shared::process::metrics::names::LIVE_DROPPED;
    text.lines()
        .filter(|l| l.starts_with(counter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, |a, b| a + b)
}

async fn step(a: &Args, calls: usize, (audio, said): &(Arc<Audio>, Vec<String>)) -> Figures {
    let (ingest, url) = support::ingest::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![("STT_PROVIDER", "whisper"), ("WHISPER_MODEL", a.model.as_str()), ("SUPERVISOR_TOKEN", TOKEN)];
    if !a.max_wait.is_empty() {
        env.push(("LIVE_TRANSCRIPTION_MAX_WAIT_SECONDS", a.max_wait.as_str()));
    }
    pin_self_to("0");
    let listener = Audiohook::start(env!("CARGO_BIN_EXE_listener"), dir.path(), (KEY, SECRET_B64), &url, &env).await;
    pin_self_to("1");
    let opts = Arc::new(Options::new(&format!("ws://127.0.0.1:{}/audiohook/ws", listener.port), KEY, SECRET_B64));
    let (cpu0, started) = (listener.cpu_seconds(), Instant::now());
    // Calls start spread over a few seconds, so their turns do not end all at once.
    let stagger = Duration::from_secs(4) / calls as u32;
    let mut sessions = Vec::new();
    for i in 0..calls {
        let (opts, audio) = (opts.clone(), audio.clone());
        sessions.push(tokio::spawn(async move {
            tokio::time::sleep(stagger * i as u32).await;
            let spawned = Instant::now();
            let result = simulate::session(&opts, &audio).await;
            (spawned + result.opened_after.unwrap_or_default(), result)
        }));
    }
    let mut streams = Vec::new();
    for s in sessions {
        streams.push(s.await.unwrap());
    }
    // The core's share while the calls streamed; the CPU per call also counts the backlog worked off after.
    let cpu_share = (listener.cpu_seconds() - cpu0) / started.elapsed().as_secs_f64();
    let ended = |id: &str| {
        let accepted = ingest.accepted.lock().unwrap();
        accepted.iter().any(|b| b["event_type"] == "call_end" && b["metadata"]["session_id"] == id)
    };
    // Results that missed the end of their call (the listener waits a request timeout for them) still
    // follow on the stream, and a dropped utterance's gap waits for the ones before it: wait until every
    // call has ended and nothing more has come for a few seconds.
    let deadline = Instant::now() + END_WAIT;
    let mut quiet_since = (Instant::now(), 0);
    while Instant::now() < deadline {
        let count = ingest.accepted.lock().unwrap().len();
        if count != quiet_since.1 {
            quiet_since = (Instant::now(), count);
        }
        let all_ended = streams.iter().all(|(_, r)| ended(&r.session_id));
        if all_ended && quiet_since.0.elapsed() > QUIET {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cpu = listener.cpu_seconds() - cpu0;
    let dropped = dropped(listener.port).await;
    drop(listener);

    let accepted = ingest.accepted.lock().unwrap().clone();
    let arrived = ingest.arrived.lock().unwrap().clone();
    let (mut latencies, mut heard, mut gaps, mut told) = (Vec::new(), 0, 0, 0);
    for (t0, result) in &streams {
        if let Err(e) = &result.outcome {
            eprintln!("  call failed: {e}");
        }
        let ours = |b: &&Value| b["metadata"]["session_id"] == result.session_id.as_str();
        let mut text = String::new();
        for (body, at) in accepted.iter().zip(&arrived).filter(|(b, _)| ours(b)) {
            match body["event_type"].as_str() {
                Some("transcript") => {
                    let meta = &body["metadata"];
                    let end = meta["offset_seconds"].as_f64().unwrap_or(0.0)
                        + meta["duration_seconds"].as_f64().unwrap_or(0.0);
                    latencies.push(at.saturating_duration_since(*t0 + Duration::from_secs_f64(end)).as_secs_f64());
                    text.push(' ');
                    text.push_str(body["text"].as_str().unwrap_or_default());
                }
                Some("transcription_gap") => match body["metadata"]["transcription"].as_str() {
                    Some("unavailable") => gaps += 1,
                    _ => told += body["metadata"]["utterances"].as_u64().unwrap_or(0),
                },
                _ => {}
            }
        }
        heard += words_heard(said, &text);
    }
    latencies.sort_by(f64::total_cmp);
    Figures {
        calls,
        heard,
        said: said.len() * calls,
        p50: support::percentile(&latencies, 0.5),
        p95: support::percentile(&latencies, 0.95),
        dropped,
        gaps,
        told,
        cpu_per_call: cpu / calls as f64,
        cpu_share,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = args();
    let (audio, said) = call(a.lines);
    let seconds = audio.channels[0].len() as f64 / f64::from(RATE);
    println!("model: {}", a.model);
    println!(
        "live transcription: listener pinned to core 0, simulator and fake ingest on core 1; two-party calls of \
         {seconds:.0} s ({} lines of espeak-ng speech, {} words), 100 ms frames, real time",
        a.lines,
        said.len()
    );
    println!(
        "{:>6} {:>13} {:>8} {:>8} {:>8} {:>5} {:>6} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "calls",
        "words_heard",
        "lat_p50",
        "lat_p95",
        "dropped",
        "gaps",
        "lost",
        "cpu_core",
        "cpu/call",
        "calls/core",
        "words_x",
        "p95_x",
        "cpu/call_x"
    );
    let input = (Arc::new(audio), said);
    let mut base: Option<Figures> = None;
    for n in std::iter::once(1).chain(a.steps.iter().copied()) {
        let f = step(&a, n, &input).await;
        let b = *base.get_or_insert(f);
        let share = |f: &Figures| f.heard as f64 / f.said.max(1) as f64;
        println!(
            "{:>6} {:>6}/{:<6} {:>7.2}s {:>7.2}s {:>8.0} {:>5} {:>6} {:>9.3} {:>9.2}s {:>10.1} {:>9.2}x {:>9.2}x {:>9.2}x",
            f.calls,
            f.heard,
            f.said,
            f.p50,
            f.p95,
            f.dropped,
            f.gaps,
            f.told,
            f.cpu_share,
            f.cpu_per_call,
            f.calls as f64 / f.cpu_share.max(1e-9),
            share(&f) / share(&b).max(1e-9),
            f.p95 / b.p95,
            f.cpu_per_call / b.cpu_per_call.max(1e-9),
        );
    }
    println!(
        "latency = arrival at the ingest - end of the transcript's speech on the call's timeline; gaps = gaps opened, \
         lost = utterances their closing events count (= dropped when every loss reaches the stream); cpu_core = \
         share of the pinned core while the calls streamed; cpu/call includes work left after; calls/core = calls / \
         cpu_core"
    );
    let heard_any = base.is_some_and(|b| b.heard > 0);
    if heard_any { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
