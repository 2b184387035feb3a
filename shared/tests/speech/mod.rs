//! Test support: speech from known sentences, spoken by espeak-ng (Debian package) or recorded by a person
//! (LibriVox clips; scripts/tools.sh installs both), laid out as a stereo call recording, plus the tiny.en
//! whisper model built from the prefetched sources (included by path from the crates and benchmarks that
//! use it).
#![allow(dead_code)] // each includer uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one speaker says: `(start_seconds, sentence)` in time order.
pub type Lines<'a> = &'a [(f64, &'a str)];

/// The customer's escalation ("escalate", "manager": a realtime keyword and the escalation tag). tiny.en
/// hears it on 8 kHz audio at every pace and lead-in silence tried, unlike espeak's "supervisor", which it
/// heard after 3 of 7 lead-ins at this pace and after none at espeak's default pace.
pub const ESCALATION: &str = "I want to escalate this to your manager";
/// The agent's line.
pub const GREETING: &str = "Thank you for calling, how can I help you today";

/// Customer and agent lines of the benchmarks' calls (whisper_rtf, live_transcription), taken in turn.
pub const SCRIPT: [&str; 6] = [
    "Thank you for calling, how can I help you today",
    "I was charged twice for my subscription this month",
    "I am sorry about that, let me look at your account",
    "I need to speak to a supervisor right now",
    "I understand, I will transfer you to my manager",
    "Please cancel my subscription and refund the payment",
];

/// espeak-ng's voice for `text`, as mono `f32` at `rate`, slow (120 words a minute) with short gaps between
/// words.
pub fn say(text: &str, rate: u32) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.wav");
    let status = Command::new("espeak-ng").args(["-s", "120", "-g", "5", "-w"]).arg(&path).arg(text).status();
    assert!(status.is_ok_and(|s| s.success()), "espeak-ng is needed (scripts/tools.sh installs it)");
    mono_wav_file(&path, rate)
}

/// A person reading a sentence: one of the LibriVox clips (a public-domain reading of Sense and Sensibility)
/// that pocketsphinx ships as test data and scripts/tools.sh keeps in `.tools/speech/librivox`, as mono
/// `f32` at `rate`, with its text (lower case, no punctuation).
pub fn recorded(clip: &str, rate: u32) -> (Vec<f32>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/speech/librivox");
    let name = format!("sense_and_sensibility_01_austen_64kb-{clip}");
    let text = std::fs::read_to_string(dir.join(format!("{name}.txt")));
    let text = text.unwrap_or_else(|e| panic!("run scripts/tools.sh (make test does) for the LibriVox clips: {e}"));
    (mono_wav_file(&dir.join(format!("{name}.wav")), rate), text.trim().to_string())
}

/// A 16-bit mono WAV file as `f32` at `rate`.
fn mono_wav_file(path: &Path, rate: u32) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    let from = reader.spec().sample_rate;
    let samples: Vec<f32> = reader.samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect();
    shared::audio::resample(&samples, from, rate).unwrap()
}

/// A stereo 16-bit WAV at `rate`: `customer` on channel 0, `agent` on channel 1, silence elsewhere.
pub fn stereo_call(rate: u32, customer: Lines<'_>, agent: Lines<'_>) -> Vec<u8> {
    stereo_recording(rate, &spoken(rate, customer), &spoken(rate, agent))
}

/// As [`stereo_call`], from audio: `(start_seconds, samples at rate)` for each side, in time order.
pub fn stereo_recording(rate: u32, customer: &[(f64, Vec<f32>)], agent: &[(f64, Vec<f32>)]) -> Vec<u8> {
    wav(rate, &channels(&[track(rate, customer), track(rate, agent)], rate, 0.5, 0.0))
}

/// A mono 16-bit WAV at `rate` of `lines`, at least `seconds` long.
pub fn mono_call(rate: u32, lines: Lines<'_>, seconds: f64) -> Vec<u8> {
    wav(rate, &channels(&[track(rate, &spoken(rate, lines))], rate, 0.5, seconds))
}

/// `customer` and `agent` as two equally long 16-bit channels at `rate`, `tail_seconds` of silence after
/// the last words (as AudioHook's simulator takes a call).
pub fn stereo_channels(rate: u32, customer: Lines<'_>, agent: Lines<'_>, tail_seconds: f64) -> Vec<Vec<i16>> {
    let tracks = [track(rate, &spoken(rate, customer)), track(rate, &spoken(rate, agent))];
    channels(&tracks, rate, tail_seconds, 0.0)
}

/// `lines` said by espeak-ng at `rate`.
fn spoken(rate: u32, lines: Lines<'_>) -> Vec<(f64, Vec<f32>)> {
    lines.iter().map(|(start, text)| (*start, say(text, rate))).collect()
}

/// `tracks` as equally long 16-bit channels: `tail_seconds` of silence after the longest, at least `seconds`.
fn channels(tracks: &[Vec<f32>], rate: u32, tail_seconds: f64, seconds: f64) -> Vec<Vec<i16>> {
    let longest = tracks.iter().map(Vec::len).max().unwrap_or(0) + (tail_seconds * f64::from(rate)) as usize;
    let frames = longest.max((seconds * f64::from(rate)) as usize);
    let sample = |t: &[f32], i: usize| (t.get(i).copied().unwrap_or(0.0).clamp(-1.0, 1.0) * 32767.0) as i16;
    tracks.iter().map(|t| (0..frames).map(|i| sample(t, i)).collect()).collect()
}

/// `channels` (equally long) interleaved into a 16-bit WAV at `rate`.
fn wav(rate: u32, channels: &[Vec<i16>]) -> Vec<u8> {
    let frames = channels.first().map_or(0, Vec::len);
    let pcm: Vec<u8> =
        (0..frames).flat_map(|i| channels.iter().map(move |c| c[i])).flat_map(i16::to_le_bytes).collect();
    let format = shared::realtime::live_audio::AudioFormat {
        sample_rate: rate,
        channels: channels.len() as u16,
        sample_width: 2,
    };
    shared::audio::wav::encode(&format, &pcm)
}

/// One side's audio: each clip from its start (or right after the one before, if that is later).
fn track(rate: u32, clips: &[(f64, Vec<f32>)]) -> Vec<f32> {
    let mut out = Vec::new();
    for (start, samples) in clips {
        let at = (start * f64::from(rate)) as usize;
        out.resize(out.len().max(at), 0.0);
        out.extend_from_slice(samples);
    }
    out
}

/// The prefetched tiny.en sources (scripts/tools.sh fetches them once into .tools/whisper-sources).
pub fn sources() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/whisper-sources");
    assert!(dir.join("tiny.en/model.bin").is_file(), "run scripts/tools.sh (make test does) to fetch the sources");
    dir
}

/// The tiny.en model, converted from the prefetched sources on first use and kept beside them.
pub fn tiny_en() -> PathBuf {
    model("tiny.en")
}

/// `ggml-<name>.bin`, converted from `.tools/whisper-sources/<name>` once and kept in `.tools/whisper-models`
/// (written through a rename, so test binaries running at once never see half a file).
pub fn model(name: &str) -> PathBuf {
    use shared::speech::whisper_model::{convert, mel_filters, read_ct2, vocabulary};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/whisper-models");
    let path = dir.join(format!("ggml-{name}.bin"));
    if path.is_file() {
        return path;
    }
    let src = sources().join(name);
    let read = |name: &str| std::fs::read(src.join(name)).unwrap();
    let (rows, cols, mel) = mel_filters(&read("mel_80.npy")).unwrap();
    let vocab = vocabulary(&String::from_utf8(read("vocab.tiktoken")).unwrap()).unwrap();
    let (_, bytes) = convert(&read_ct2(&read("model.bin")).unwrap(), (rows, cols, &mel), &vocab).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let partial = tempfile::NamedTempFile::new_in(&dir).unwrap();
    std::fs::write(partial.path(), bytes).unwrap();
    partial.persist(&path).unwrap();
    path
}
