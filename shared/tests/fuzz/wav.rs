//! WAV and other audio as clients send it: WAV-encoded live chunks (`wav::decode`, `wav::layout::parse`) and
//! uploads (`audio::decode`, `audio::probe_duration`, `audio::prepare` through symphonia), from WAVs built
//! as telephony systems lay them out, then damaged, and from bytes behind each container's magic.

#[path = "../telephony/mod.rs"]
mod telephony;

use crate::harness::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use shared::audio::{self, AudioConfig, AudioError, wav};
use shared::realtime::live_audio::AudioFormat;
use telephony::*;

/// What `audio::decode` answers when symphonia panicked: caught by design, but counted here as a finding.
const GAVE_UP: &str = "the decoder gave up on malformed data";

fn cfg() -> AudioConfig {
    AudioConfig { noise_suppression: false, max_seconds: 600.0, ..AudioConfig::default() }
}

/// A WAV in one of the layouts telephony writes: a `fmt ` of each encoding (short G.711 form, `cbSize`,
/// extensible), `LIST`/`fact` chunks around it, odd sizes with and without the pad byte, streaming sizes.
fn telephony_wav() -> impl Strategy<Value = Vec<u8>> {
    let format = prop_oneof![
        (1u16..3).prop_map(|c| fmt(MULAW, c, 8, &[])),
        (1u16..3).prop_map(|c| fmt(ALAW, c, 8, &[0, 0])),
        (1u16..3).prop_map(|c| fmt(PCM, c, 16, &[0, 0])),
        (1u16..3).prop_map(|c| fmt(FLOAT, c, 32, &[0, 0])),
        (1u16..3, prop::sample::select(vec![PCM, MULAW, ALAW]))
            .prop_map(|(c, sub)| { extensible(sub, c, if sub == PCM { 16 } else { 8 }, 3) }),
    ];
    let extra = prop::collection::vec((prop::sample::select(vec![*b"LIST", *b"fact", *b"junk"]), bytes(40)), 0..3);
    (
        format,
        extra,
        bytes(1_200),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(u32::MAX)), any::<u32>().prop_map(Some)],
    )
        .prop_map(|(format, extra, data, pad, claim)| {
            let mut chunks: Vec<Chunk> = extra.into_iter().map(|(id, body)| Chunk::new(&id, body)).collect();
            chunks.push(Chunk::new(b"fmt ", format));
            let data = Chunk::new(b"data", data);
            let data = if pad { data } else { data.without_pad() };
            chunks.push(match claim {
                Some(size) => data.claiming(size),
                None => data,
            });
            riff(claim, chunks)
        })
}

/// The decoder caught a panic of symphonia's: reported as a failure, so it is found and looked at.
fn no_caught_panic<T>(r: &Result<T, AudioError>) -> Result<(), TestCaseError> {
    check(!matches!(r, Err(AudioError::Corrupt(m)) if m == GAVE_UP), || "symphonia panicked".into())
}

/// Every reader of a WAV: never more audio than the bytes hold, no panic, the upload path's too.
fn check_every_reader(bytes: &[u8], filename: &str) -> Result<(), TestCaseError> {
    let _ = wav::layout::parse(bytes);
    if let Ok((format, pcm)) = wav::decode(bytes) {
        check(pcm.len() <= 2 * bytes.len(), || format!("{} bytes of PCM from {}", pcm.len(), bytes.len()))?;
        check(format.sample_width == 2 && format.channels > 0, || format!("{format:?}"))?;
    }
    let _ = wav::duration_seconds(bytes);
    let decoded = audio::decode(bytes, Some(filename), &cfg());
    no_caught_panic(&decoded)?;
    no_caught_panic(&audio::probe_duration(bytes, Some(filename), &cfg()))?;
    if decoded.is_ok() {
        no_caught_panic(&audio::prepare(bytes, Some(filename), &cfg()))?;
    }
    Ok(())
}

/// PCM wrapped by `wav::encode` reads back as the same format and the same whole frames.
#[test]
fn wav_round_trip() {
    let input = (prop::sample::select(vec![8_000u32, 16_000, 44_100, 48_000, 1, u32::MAX]), 1u16..=2, bytes(2_000));
    fuzz("wav_round_trip", input, |(sample_rate, channels, pcm)| {
        let format = AudioFormat { sample_rate, channels, sample_width: 2 };
        let encoded = wav::encode(&format, &pcm);
        let whole = pcm.len() / format.frame_bytes() * format.frame_bytes();
        let decoded = wav::decode(&encoded).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(decoded == (format, pcm[..whole].to_vec()), || format!("read back as {:?}", decoded.0))?;
        let layout = wav::layout::parse(&encoded).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(layout.frames_present() == Some((whole / format.frame_bytes()) as u64), || "frames differ".into())
    });
}

#[test]
fn wav_telephony_layouts_mutated() {
    fuzz("wav_telephony_layouts_mutated", mutated(telephony_wav()), |bytes| check_every_reader(&bytes, "call.wav"));
}

/// Uploads of every container symphonia probes: each one's magic, then arbitrary or repeated bytes, under a
/// name whose extension may or may not match.
#[test]
fn upload_audio_bytes() {
    let magic = prop::sample::select(vec![
        &b""[..],
        b"RIFF\x24\x00\x00\x00WAVE",
        b"ID3\x04\x00\x00\x00\x00\x00\x00",
        b"\xff\xfb\x90\x64",
        b"OggS\x00\x02",
        b"fLaC\x00\x00\x00\x22",
        b"\x00\x00\x00\x20ftypM4A ",
        b"\x00\x00\x00\x18ftypisom",
        b"\xff\xf1\x50\x80",
    ]);
    let name =
        prop::sample::select(vec!["call.wav", "call.mp3", "call.ogg", "call.flac", "call.m4a", "call.aac", "call"]);
    let input = (magic, mutated(bytes(3_000)), name);
    fuzz("upload_audio_bytes", input, |(magic, tail, name)| check_every_reader(&[magic, &tail[..]].concat(), name));
}
