//! WAV in and out with `hound`: wrapping live PCM for playback, and reading WAV-encoded chunks.

use crate::live_audio::AudioFormat;
use hound::{SampleFormat, WavReader, WavSpec, WavWriter};
use std::io::Cursor;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WavError {
    #[error("Unable to parse WAV audio chunk")]
    Unparsable,
    #[error("WAV chunk must use 16-bit PCM (sample_width=2)")]
    NotPcm16,
}

/// Wraps interleaved s16le PCM in a RIFF/WAV container.
pub fn encode(format: &AudioFormat, pcm: &[u8]) -> Vec<u8> {
    let spec = WavSpec {
        channels: format.channels,
        sample_rate: format.sample_rate,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    let samples = pcm.len() / 2;
    let mut out = Cursor::new(Vec::with_capacity(44 + samples * 2));
    {
        // Writing to memory cannot fail; the frame-aligned length keeps hound's sample count consistent.
        let mut writer = WavWriter::new(&mut out, spec).expect("in-memory WAV header");
        let mut w = writer.get_i16_writer(samples as u32);
        for b in pcm.chunks_exact(2) {
            w.write_sample(i16::from_le_bytes([b[0], b[1]]));
        }
        w.flush().expect("in-memory WAV samples");
        writer.finalize().expect("in-memory WAV finalize");
    }
    out.into_inner()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let f = AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 };
        let pcm: Vec<u8> = (0..400i16).flat_map(|v| (v * 50).to_le_bytes()).collect();
        let wav = encode(&f, &pcm);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(wav.len(), 44 + pcm.len());
        assert_eq!(decode(&wav), Ok((f, pcm)));
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
