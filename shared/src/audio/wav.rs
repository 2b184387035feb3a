//! WAV in and out: wrapping live PCM for playback, and reading WAV-encoded live chunks into 16-bit PCM.
//! Where a WAV keeps its format and audio is [`layout`]'s business, shared with the upload decoder.

pub mod layout;

use crate::audio::g711;
use crate::realtime::live_audio::AudioFormat;
use layout::{Encoding, Format};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WavError {
    #[error("Unable to parse WAV audio chunk")]
    Unparsable,
    #[error("WAV chunk must use 16-bit PCM (sample_width=2)")]
    NotPcm16,
}

/// Wraps interleaved s16le PCM in a RIFF/WAV container (the canonical 44-byte header, then the bytes as
/// they are: recordings and live audio are written often, so no per-sample work).
pub fn encode(format: &AudioFormat, pcm: &[u8]) -> Vec<u8> {
    let data = pcm.len() / format.frame_bytes().max(1) * format.frame_bytes();
    let mut out = pcm16_header(format, data);
    out.reserve_exact(data);
    out.extend_from_slice(&pcm[..data]);
    out
}

/// Like [`encode`], from samples (interleaved when `format` has several channels): the file is written in one
/// allocation, with no byte copy of the audio beside it (a batch piece is up to an hour of it).
pub fn encode_samples(format: &AudioFormat, samples: &[i16]) -> Vec<u8> {
    let mut out = pcm16_header(format, samples.len() * 2);
    out.reserve_exact(samples.len() * 2);
    samples.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
    out
}

/// The canonical header of `data` bytes of 16-bit PCM in `format`. Public for writers that append the
/// audio elsewhere (the listener's recording part, a file on disk) and write the header last.
pub fn pcm16_header(format: &AudioFormat, data: usize) -> Vec<u8> {
    let pcm16 = Format {
        encoding: Encoding::Pcm,
        channels: format.channels,
        sample_rate: format.sample_rate,
        bits: 16,
        block_align: format.channels * 2,
    };
    layout::header(&pcm16.chunk_body(), u32::try_from(data).unwrap_or(u32::MAX))
}

/// Reads a WAV chunk into its format and interleaved s16le PCM: 16-bit PCM as it is, G.711 (μ-law or
/// A-law, what telephony systems record) expanded. Only whole frames of the bytes present are read,
/// whatever the header claims.
pub fn decode(bytes: &[u8]) -> Result<(AudioFormat, Vec<u8>), WavError> {
    let wav = layout::parse(bytes).map_err(|_| WavError::Unparsable)?;
    let f = wav.format;
    let frames = &wav.data[..wav.data.len() / usize::from(f.block_align) * usize::from(f.block_align)];
    let pcm = match (f.encoding, f.bits) {
        (Encoding::Pcm, 16) => frames.to_vec(),
        (Encoding::MuLaw, _) => expand(frames, g711::ulaw_to_linear),
        (Encoding::ALaw, _) => expand(frames, g711::alaw_to_linear),
        _ => return Err(WavError::NotPcm16),
    };
    Ok((AudioFormat { sample_rate: f.sample_rate, channels: f.channels, sample_width: 2 }, pcm))
}

/// G.711 codes to s16le, one `law` lookup a byte.
fn expand(codes: &[u8], law: fn(u8) -> i16) -> Vec<u8> {
    let mut pcm = Vec::with_capacity(codes.len() * 2);
    codes.iter().for_each(|c| pcm.extend_from_slice(&law(*c).to_le_bytes()));
    pcm
}

/// The length in seconds of the audio a WAV holds (whole frames present), or `None` when it is not a WAV.
pub fn duration_seconds(bytes: &[u8]) -> Option<f64> {
    let wav = layout::parse(bytes).ok()?;
    let rate = wav.format.sample_rate;
    let frames = wav.frames_present()?;
    (rate > 0).then(|| frames as f64 / f64::from(rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::{SampleFormat, WavSpec, WavWriter};
    use std::io::Cursor;

    #[test]
    fn the_header_is_the_one_hound_writes() {
        for channels in [1u16, 2] {
            let f = AudioFormat { sample_rate: 8000, channels, sample_width: 2 };
            let samples: Vec<i16> = (0..800).map(|v| (v * 37 - 9000) as i16).collect();
            let pcm: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
            let spec = WavSpec { channels, sample_rate: 8000, bits_per_sample: 16, sample_format: SampleFormat::Int };
            let mut c = Cursor::new(Vec::new());
            let mut w = WavWriter::new(&mut c, spec).unwrap();
            samples.iter().for_each(|s| w.write_sample(*s).unwrap());
            w.finalize().unwrap();
            assert_eq!(encode(&f, &pcm), c.into_inner(), "{channels} channel(s)");
        }
    }

    #[test]
    fn round_trip() {
        let f = AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 };
        let pcm: Vec<u8> = (0..400i16).flat_map(|v| (v * 50).to_le_bytes()).collect();
        let wav = encode(&f, &pcm);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(wav.len(), 44 + pcm.len());
        assert_eq!(decode(&wav), Ok((f, pcm)));
        assert_eq!(duration_seconds(&wav), Some(0.025), "200 stereo frames at 8 kHz");
        assert_eq!(duration_seconds(b"nope"), None);
    }

    #[test]
    fn rejects_garbage_and_8_bit() {
        assert_eq!(decode(b"not a wav"), Err(WavError::Unparsable));
        let spec = WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 8, sample_format: SampleFormat::Int };
        let mut c = Cursor::new(Vec::new());
        let mut w = WavWriter::new(&mut c, spec).unwrap();
        w.write_sample(1i8).unwrap();
        w.finalize().unwrap();
        assert_eq!(decode(c.get_ref()), Err(WavError::NotPcm16));
    }
}
