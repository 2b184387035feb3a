//! `prepare` end to end on WAVs written here (8, 16, 24 and 32-bit integer and float PCM), its limits, and its
//! refusal to panic on any input. Other formats, made by ffmpeg, are in `tests/audio_formats.rs`.

use super::*;
use hound::{SampleFormat, WavSpec, WavWriter};
use proptest::prelude::*;
use std::io::Cursor;

fn cfg() -> AudioConfig {
    AudioConfig { noise_suppression: false, ..AudioConfig::default() }
}

/// A stereo WAV: 440 Hz left, 1 kHz right, at `rate` with the given sample layout.
fn stereo_wav(rate: u32, seconds: f32, bits: u16, format: SampleFormat) -> Vec<u8> {
    let spec = WavSpec { channels: 2, sample_rate: rate, bits_per_sample: bits, sample_format: format };
    let mut out = Cursor::new(Vec::new());
    let mut w = WavWriter::new(&mut out, spec).unwrap();
    let full = ((1i64 << (bits - 1)) - 1) as f32;
    for i in 0..(rate as f32 * seconds) as usize {
        let t = i as f32 / rate as f32;
        for hz in [440.0, 1000.0] {
            let v = 0.5 * (std::f32::consts::TAU * hz * t).sin();
            match (format, bits) {
                (SampleFormat::Float, _) => w.write_sample(v).unwrap(),
                (_, 8) => w.write_sample((v * full) as i8).unwrap(),
                (_, 16) => w.write_sample((v * full) as i16).unwrap(),
                _ => w.write_sample((v * full) as i32).unwrap(),
            }
        }
    }
    w.finalize().unwrap();
    out.into_inner()
}

/// Samples of a piece's WAV as -1..1.
fn samples(piece: &Piece) -> Vec<f32> {
    let (_, pcm) = crate::audio::wav::decode(&piece.wav).unwrap();
    pcm.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect()
}

fn dominant_hz(s: &[f32], rate: u32) -> f32 {
    s.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count() as f32 * rate as f32 / s.len() as f32
}

#[test]
fn every_pcm_layout_becomes_two_speakers_at_16_khz() {
    for (bits, format) in [
        (8, SampleFormat::Int),
        (16, SampleFormat::Int),
        (24, SampleFormat::Int),
        (32, SampleFormat::Int),
        (32, SampleFormat::Float),
    ] {
        let p = prepare(&stereo_wav(8_000, 2.0, bits, format), Some("call.wav"), &cfg()).unwrap();
        assert_eq!((p.duration_seconds, p.source_rate, p.source_channels), (2.0, 8_000, 2), "{bits} {format:?}");
        let speakers: Vec<_> = p.tracks.iter().map(|t| t.speaker.as_deref()).collect();
        assert_eq!(speakers, [Some("customer"), Some("agent")]);
        for (track, hz) in p.tracks.iter().zip([440.0, 1000.0]) {
            assert_eq!(track.pieces.len(), 1);
            let s = samples(&track.pieces[0]);
            assert_eq!(s.len(), 32_000);
            assert!((dominant_hz(&s, 16_000) - hz).abs() < hz * 0.02, "{bits} {format:?}: {}", dominant_hz(&s, 16_000));
            let peak = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!((peak - 0.5).abs() < 0.05, "{bits} {format:?}: peak {peak}");
        }
    }
}

#[test]
fn long_calls_are_cut_into_pieces_with_offsets_on_every_track() {
    let c = AudioConfig { chunk_seconds: 30.0, ..cfg() };
    let p = prepare(&stereo_wav(8_000, 70.0, 16, SampleFormat::Int), None, &c).unwrap();
    for track in &p.tracks {
        let offsets: Vec<f64> = track.pieces.iter().map(|piece| piece.offset_seconds).collect();
        assert_eq!(offsets.len(), 3);
        assert_eq!(offsets[0], 0.0);
        assert!(offsets[1] > 25.0 && offsets[1] <= 30.0 && offsets[2] > 50.0 && offsets[2] <= 60.0, "{offsets:?}");
        let total: usize = track.pieces.iter().map(|piece| samples(piece).len()).sum();
        assert_eq!(total, 70 * 16_000);
    }
}

#[test]
fn noise_suppression_keeps_length_and_speakers() {
    let c = AudioConfig { noise_suppression: true, ..cfg() };
    let p = prepare(&stereo_wav(16_000, 1.0, 16, SampleFormat::Int), None, &c).unwrap();
    assert_eq!(p.tracks.len(), 2);
    assert!(p.tracks.iter().all(|t| samples(&t.pieces[0]).len() == 16_000));
}

#[test]
fn limits_give_their_errors() {
    let wav = stereo_wav(8_000, 3.0, 16, SampleFormat::Int);
    let small = AudioConfig { max_bytes: 1024, ..cfg() };
    assert_eq!(prepare(&wav, None, &small), Err(AudioError::TooLarge { bytes: wav.len(), max_bytes: 1024 }));
    let short = AudioConfig { max_seconds: 2.0, ..cfg() };
    assert_eq!(prepare(&wav, None, &short), Err(AudioError::TooLong { max_seconds: 2.0 }));
    assert_eq!(probe_duration(&wav, None, &short), Err(AudioError::TooLong { max_seconds: 2.0 }));
    assert_eq!(probe_duration(&wav, None, &cfg()), Ok(3.0));
    // 3 s at 16 kHz, two channels of two bytes: a decoded limit it exactly fills passes, a byte less does not.
    let exactly = 3 * 16_000 * 2 * 2;
    assert!(prepare(&wav, None, &AudioConfig { max_decoded_bytes: exactly, ..cfg() }).is_ok());
    let under = AudioConfig { max_decoded_bytes: exactly - 1, ..cfg() };
    assert_eq!(prepare(&wav, None, &under), Err(AudioError::DecodedTooLarge { max_bytes: exactly - 1 }));
    assert_eq!(prepare(&[], None, &cfg()), Err(AudioError::Empty));
    assert_eq!(prepare(&stereo_wav(8_000, 0.0, 16, SampleFormat::Int), None, &cfg()), Err(AudioError::Empty));
    assert_eq!(
        prepare(&stereo_wav(1_000, 1.0, 16, SampleFormat::Int), None, &cfg()),
        Err(AudioError::UnsupportedSampleRate(1_000))
    );
    assert_eq!(prepare(b"hello, this is not audio at all", Some("x.mp3"), &cfg()), Err(AudioError::Unrecognised));
}

#[test]
fn a_cut_short_wav_says_so() {
    let wav = stereo_wav(8_000, 3.0, 16, SampleFormat::Int);
    match prepare(&wav[..wav.len() / 2], None, &cfg()) {
        Err(AudioError::Truncated { decoded_seconds, expected_seconds }) => {
            assert!(
                (decoded_seconds - 1.5).abs() < 0.01 && expected_seconds == 3.0,
                "{decoded_seconds} {expected_seconds}"
            );
        }
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        ext in "(wav|mp3|m4a|ogg|flac|bin)",
    ) {
        let _ = prepare(&bytes, Some(&format!("call.{ext}")), &cfg());
    }

    #[test]
    fn damaged_wavs_never_panic(
        cut in 0usize..20_000,
        flips in proptest::collection::vec((0usize..20_000, any::<u8>()), 0..8),
    ) {
        let mut wav = stereo_wav(8_000, 1.0, 16, SampleFormat::Int);
        for (at, v) in flips {
            let at = at % wav.len();
            wav[at] = v;
        }
        wav.truncate(cut);
        let _ = prepare(&wav, None, &cfg());
        let _ = probe_duration(&wav, None, &cfg());
    }
}
