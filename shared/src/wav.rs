//! WAV in and out with `hound`: wrapping live PCM for playback, and reading WAV-encoded chunks.

use crate::live_audio::AudioFormat;
use hound::{SampleFormat, WavReader};
use std::io::Cursor;
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
    let data = (pcm.len() / format.frame_bytes().max(1) * format.frame_bytes()) as u32;
    let block_align = format.channels * 2;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&format.channels.to_le_bytes());
    out.extend_from_slice(&format.sample_rate.to_le_bytes());
    out.extend_from_slice(&(format.sample_rate * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    out.extend_from_slice(&pcm[..data as usize]);
    out
}

/// Reads a WAV chunk into its format and interleaved s16le PCM.
pub fn decode(bytes: &[u8]) -> Result<(AudioFormat, Vec<u8>), WavError> {
    let mut reader = WavReader::new(Cursor::new(bytes)).map_err(|_| WavError::Unparsable)?;
    let spec = reader.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != SampleFormat::Int {
        return Err(WavError::NotPcm16);
    }
    let mut pcm = Vec::with_capacity(reader.len() as usize * 2);
    for s in reader.samples::<i16>() {
        pcm.extend_from_slice(&s.map_err(|_| WavError::Unparsable)?.to_le_bytes());
    }
    let format = AudioFormat { sample_rate: spec.sample_rate, channels: spec.channels, sample_width: 2 };
    Ok((format, pcm))
}

/// The length in seconds a WAV header announces, or `None` when it is not a WAV.
pub fn duration_seconds(bytes: &[u8]) -> Option<f64> {
    let reader = WavReader::new(Cursor::new(bytes)).ok()?;
    let rate = reader.spec().sample_rate;
    (rate > 0).then(|| f64::from(reader.duration()) / f64::from(rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::{WavSpec, WavWriter};

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
