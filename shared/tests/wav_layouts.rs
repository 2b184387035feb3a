//! Every WAV layout telephony systems write, read by both ways audio arrives: an upload
//! (`shared::audio::decode`, symphonia behind the canonical header) and a live chunk (`shared::audio::wav::decode`).
//! Each file is built byte by byte (`telephony`) with a known tone on each channel; what must come out is
//! the duration, the channel count and the very sample values, and for the call the tone of each channel.

mod telephony;

use proptest::prelude::*;
use shared::audio::g711;
use shared::audio::wav;
use shared::audio::{self, AudioConfig, AudioError};
use shared::realtime::live_audio::AudioFormat;
use telephony::*;

const SECONDS: f64 = 2.0;

/// Decoding at the files' own rate, so the samples come out as they went in.
fn cfg() -> AudioConfig {
    AudioConfig { noise_suppression: false, target_rate: RATE, ..AudioConfig::default() }
}

/// The frequency of `samples` at 8 kHz, from upward zero crossings.
fn hz(samples: &[f32]) -> f64 {
    let ups = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    ups as f64 * f64::from(RATE) / samples.len() as f64
}

/// The upload path reads `wav` as `expected` (one `Vec` a channel, at 8 kHz), sample for sample.
fn upload_reads(name: &str, wav: &[u8], expected: &[Vec<i16>]) {
    let d = audio::decode(wav, Some("call.wav"), &cfg()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let frames = expected[0].len();
    assert_eq!((d.rate, usize::from(d.source_channels), d.frames), (RATE, expected.len(), frames as u64), "{name}");
    assert_eq!(d.planes_rate, RATE, "{name}");
    for (channel, (plane, want)) in d.planes.iter().zip(expected).enumerate() {
        assert!(plane == want, "{name} channel {channel}");
        let tone = hz(&plane.iter().map(|s| audio::to_f32(*s)).collect::<Vec<_>>());
        assert!((tone - TONES[channel]).abs() < TONES[channel] * 0.03, "{name} channel {channel}: {tone} Hz");
    }
    let probed = audio::probe_duration(wav, Some("call.wav"), &cfg()).unwrap();
    assert_eq!(probed, frames as f64 / f64::from(RATE), "{name}");
}

/// The live path reads `wav` as `expected`, interleaved 16-bit PCM.
fn live_reads(name: &str, wav: &[u8], expected: &[Vec<i16>]) {
    let (format, pcm) = wav::decode(wav).unwrap_or_else(|e| panic!("{name}: {e}"));
    let channels = expected.len() as u16;
    assert_eq!(format, AudioFormat { sample_rate: RATE, channels, sample_width: 2 }, "{name}");
    assert!(pcm == interleave_16bit(expected), "{name}: the samples differ");
    assert_eq!(wav::duration_seconds(wav), Some(expected[0].len() as f64 / f64::from(RATE)), "{name}");
}

fn both_read(name: &str, wav: &[u8], expected: &[Vec<i16>]) {
    upload_reads(name, wav, expected);
    live_reads(name, wav, expected);
}

#[test]
fn g711_with_and_without_cb_size() {
    let call = tones(SECONDS);
    let (mu, a) = (interleave_8bit(&call, mulaw), interleave_8bit(&call, linear_to_alaw));
    let heard_mu = through(&call, mulaw, g711::ulaw_to_linear);
    let heard_a = through(&call, linear_to_alaw, g711::alaw_to_linear);
    both_read("Genesys: 16-byte fmt, stereo μ-law", &genesys_mulaw(SECONDS), &heard_mu);
    let a16 = riff(None, vec![Chunk::new(b"fmt ", fmt(ALAW, 2, 8, &[])), Chunk::new(b"data", a.clone())]);
    both_read("16-byte fmt, A-law", &a16, &heard_a);
    let cb = 0u16.to_le_bytes();
    let mu18 = riff(None, vec![Chunk::new(b"fmt ", fmt(MULAW, 2, 8, &cb)), Chunk::new(b"data", mu.clone())]);
    both_read("18-byte fmt, μ-law", &mu18, &heard_mu);
    let a18 = riff(None, vec![Chunk::new(b"fmt ", fmt(ALAW, 2, 8, &cb)), Chunk::new(b"data", a)]);
    both_read("18-byte fmt, A-law", &a18, &heard_a);
    // A writer that declares 16 bits for its G.711 and a cbSize counting bytes it then writes.
    let odd = riff(None, vec![Chunk::new(b"fmt ", fmt(MULAW, 2, 16, &[2, 0, 0, 0])), Chunk::new(b"data", mu)]);
    both_read("20-byte fmt, μ-law said to be 16-bit", &odd, &heard_mu);
}

#[test]
fn extensible_pcm_float_mulaw_and_alaw() {
    let call = tones(SECONDS);
    let pcm =
        riff(None, vec![Chunk::new(b"fmt ", extensible(PCM, 2, 16, 0)), Chunk::new(b"data", interleave_16bit(&call))]);
    both_read("extensible PCM, no channel mask", &pcm, &call);
    let mu = riff(
        None,
        vec![Chunk::new(b"fmt ", extensible(MULAW, 2, 8, 0x3)), Chunk::new(b"data", interleave_8bit(&call, mulaw))],
    );
    both_read("extensible μ-law", &mu, &through(&call, mulaw, g711::ulaw_to_linear));
    let a = riff(
        None,
        vec![
            Chunk::new(b"fmt ", extensible(ALAW, 2, 8, 0x3)),
            Chunk::new(b"data", interleave_8bit(&call, linear_to_alaw)),
        ],
    );
    both_read("extensible A-law", &a, &through(&call, linear_to_alaw, g711::alaw_to_linear));
    let floats: Vec<u8> = (0..call[0].len())
        .flat_map(|i| call.iter().flat_map(move |c| (f32::from(c[i]) / 32768.0).to_le_bytes()))
        .collect();
    let float = riff(None, vec![Chunk::new(b"fmt ", extensible(FLOAT, 2, 32, 0x3)), Chunk::new(b"data", floats)]);
    upload_reads("extensible float", &float, &call);
    // Live chunks stay 16-bit (the seed's rule); float is refused with the seed's words.
    assert_eq!(wav::decode(&float), Err(wav::WavError::NotPcm16));
}

#[test]
fn other_chunks_before_and_after_with_and_without_pad_bytes() {
    let call = tones(SECONDS);
    let heard = through(&call, mulaw, g711::ulaw_to_linear);
    let data = || Chunk::new(b"data", interleave_8bit(&call, mulaw));
    let list = || Chunk::new(b"LIST", b"INFOISFT\x05\0\0\0PBX1\0\0".to_vec()); // ISFT odd, padded
    let fact = || Chunk::new(b"fact", (call[0].len() as u32).to_le_bytes().to_vec());
    let fmt16 = || Chunk::new(b"fmt ", fmt(MULAW, 2, 8, &[]));
    let junk = || Chunk::new(b"JUNK", vec![0; 3]); // odd
    let around = riff(None, vec![list(), fmt16(), fact(), junk(), data(), list()]);
    both_read("LIST and JUNK (odd, padded) and fact around fmt and data", &around, &heard);
    let unpadded =
        riff(None, vec![junk().without_pad(), fmt16(), Chunk::new(b"bext", vec![7; 5]).without_pad(), data()]);
    both_read("odd chunks whose writer forgot the pad byte", &unpadded, &heard);
    let format_last = riff(None, vec![data(), fmt16()]);
    both_read("data before fmt", &format_last, &heard);
}

#[test]
fn streaming_sizes_mean_to_the_end_of_the_file() {
    let call = tones(SECONDS);
    let heard = through(&call, mulaw, g711::ulaw_to_linear);
    for size in [0, u32::MAX] {
        let data = Chunk::new(b"data", interleave_8bit(&call, mulaw)).claiming(size);
        let streamed = riff(Some(size), vec![Chunk::new(b"fmt ", fmt(MULAW, 2, 8, &[])), data]);
        both_read(&format!("RIFF and data sizes {size:#x}"), &streamed, &heard);
        let pcm = Chunk::new(b"data", interleave_16bit(&call)).claiming(size);
        let streamed = riff(Some(size), vec![Chunk::new(b"fmt ", fmt(PCM, 2, 16, &[])), pcm]);
        both_read(&format!("16-bit PCM, sizes {size:#x}"), &streamed, &call);
    }
}

#[test]
fn a_header_claiming_more_than_the_file_holds_is_not_believed() {
    let call = tones(SECONDS);
    let claiming = |size| {
        let data = Chunk::new(b"data", interleave_16bit(&call)).claiming(size);
        riff(None, vec![Chunk::new(b"fmt ", fmt(PCM, 2, 16, &[])), data])
    };
    // 2 GB claimed over 2 s: the upload is reported cut short (not too long: only the bytes present count),
    // the live chunk plays what it holds, and neither reserves memory for what is not there.
    let cut = claiming(0x7fff_0000);
    match audio::decode(&cut, Some("call.wav"), &cfg()) {
        Err(AudioError::Truncated { decoded_seconds, .. }) => assert_eq!(decoded_seconds, SECONDS),
        other => panic!("{other:?}"),
    }
    assert_eq!(audio::probe_duration(&cut, Some("call.wav"), &cfg()), Ok(SECONDS));
    live_reads("a data size of 2 GB over 2 s", &cut, &call);
    // A size a little off (a writer counting its own header) is no reason to refuse the call.
    let sloppy = claiming(interleave_16bit(&call).len() as u32 + 44);
    both_read("a data size 44 bytes too large", &sloppy, &call);
}

#[test]
fn broken_layouts_say_what_is_wrong() {
    let fmt16 = || Chunk::new(b"fmt ", fmt(MULAW, 1, 8, &[]));
    let message = |wav: &[u8]| audio::decode(wav, None, &cfg()).unwrap_err().to_string();
    assert_eq!(
        message(&riff(None, vec![fmt16()])),
        "The recording is damaged and could not be decoded (the WAV file has no data chunk holding its audio)"
    );
    assert_eq!(
        message(&riff(None, vec![Chunk::new(b"data", vec![0xff; 800])])),
        "The recording is damaged and could not be decoded (the WAV file has no fmt chunk describing its audio)"
    );
    let mut cut = riff(None, vec![fmt16(), Chunk::new(b"data", vec![0xff; 800])]);
    cut.truncate(30);
    assert_eq!(message(&cut), AudioError::Incomplete.to_string());
    let twelve_bit = riff(None, vec![Chunk::new(b"fmt ", fmt(PCM, 1, 12, &[])), Chunk::new(b"data", vec![0; 800])]);
    assert_eq!(message(&twelve_bit), AudioError::UnsupportedCodec("12-bit PCM".into()).to_string());
    let silent = riff(None, vec![Chunk::new(b"fmt ", fmt(MULAW, 0, 8, &[])), Chunk::new(b"data", vec![0; 800])]);
    assert_eq!(
        message(&silent),
        "The recording is damaged and could not be decoded (the WAV fmt chunk declares no channels)"
    );
    assert_eq!(wav::decode(&silent), Err(wav::WavError::Unparsable));
}

/// A `fmt ` chunk of each kind the parser reads, or none.
fn any_format() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        (1u16..3).prop_map(|c| riff_chunk(b"fmt ", &fmt(MULAW, c, 8, &[]))),
        (1u16..3).prop_map(|c| riff_chunk(b"fmt ", &fmt(PCM, c, 16, &[0, 0]))),
        (1u16..3).prop_map(|c| riff_chunk(b"fmt ", &extensible(ALAW, c, 8, 0))),
        any::<[u8; 16]>().prop_map(|b| riff_chunk(b"fmt ", &b)),
    ]
}

fn riff_chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    [&id[..], &(body.len() as u32).to_le_bytes(), body].concat()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever follows `RIFF….WAVE` (and maybe a format chunk): an answer, never a panic, and never more
    /// audio than the bytes hold.
    #[test]
    fn arbitrary_bytes_after_a_riff_header_never_panic(
        riff_size in any::<u32>(),
        format in any_format(),
        data_size in prop_oneof![Just(None), any::<u32>().prop_map(Some)],
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = [&b"RIFF"[..], &riff_size.to_le_bytes(), b"WAVE", &format].concat();
        if let Some(size) = data_size {
            bytes.extend([&b"data"[..], &size.to_le_bytes()].concat());
        }
        bytes.extend(&tail);
        let _ = wav::layout::parse(&bytes);
        if let Ok((_, pcm)) = wav::decode(&bytes) {
            prop_assert!(pcm.len() <= 2 * bytes.len());
        }
        let _ = wav::duration_seconds(&bytes);
        // The decoder catches panics; its fallback for one must not be what answered.
        let gave_up = AudioError::Corrupt("the decoder gave up on malformed data".into());
        match audio::decode(&bytes, Some("call.wav"), &cfg()) {
            Ok(d) => prop_assert!(d.frames <= bytes.len() as u64),
            Err(e) => prop_assert_ne!(e, gave_up.clone()),
        }
        prop_assert_ne!(audio::probe_duration(&bytes, None, &cfg()), Err(gave_up));
    }
}
