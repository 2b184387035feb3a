//! Audio preparation for the batch pipeline: an uploaded call recording in, per-speaker mono 16-bit WAV pieces
//! at the STT provider's rate out. Decoding, limits, channel-to-speaker mapping, resampling, optional noise
//! suppression and cutting into pieces are pure and synchronous (CPU-bound: the worker runs [`prepare`] in
//! `spawn_blocking`); each step lives in the module named after it.
//!
//! Memory: the decoded recording is held as `f32` (4 bytes a sample, at most two channels), so the peak is
//! about `8 × source rate × seconds` bytes for a stereo call: 1.8 GB for the 4 h default limit at 16 kHz,
//! 5.5 GB at 48 kHz. `AUDIO_MAX_SECONDS` is the knob that bounds it.

mod channels;
mod config;
mod decode;
mod error;
pub mod g711;
mod noise;
mod pieces;
mod resample;
pub mod silence;
pub mod wav;

pub use config::AudioConfig;
pub use decode::Decoded;
pub use error::AudioError;
pub use resample::resample;

use decode::Mode;

/// A recording ready for STT.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedAudio {
    pub duration_seconds: f64,
    pub source_rate: u32,
    pub source_channels: u16,
    /// One per speaker channel: two for a stereo call, one for mono.
    pub tracks: Vec<Track>,
}

/// One speaker's audio: `speaker` is the channel's role, or `None` when the provider's diarization decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub speaker: Option<String>,
    pub pieces: Vec<Piece>,
}

/// A part of a track short enough for one STT request; `offset_seconds` is where it starts in the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub offset_seconds: f64,
    /// Mono 16-bit PCM WAV at the configured target rate.
    pub wav: Vec<u8>,
}

/// Decodes `bytes` (the format is probed from the content; `filename`'s extension is only a hint) and turns
/// it into speaker tracks cut into pieces, within `cfg`'s limits.
pub fn prepare(bytes: &[u8], filename: Option<&str>, cfg: &AudioConfig) -> Result<PreparedAudio, AudioError> {
    let decoded = decode(bytes, filename, cfg)?;
    let duration_seconds = decoded.seconds();
    let (source_rate, source_channels) = (decoded.rate, decoded.source_channels);
    let tracks = channels::speakers(decoded.planes, &cfg.channel_roles)
        .into_iter()
        .map(|audio| {
            let samples = to_target_rate(&audio.samples, source_rate, cfg)?;
            drop(audio.samples);
            let pieces = pieces::ranges(&samples, cfg.target_rate, cfg.chunk_seconds)
                .into_iter()
                .map(|range| Piece {
                    offset_seconds: range.start as f64 / f64::from(cfg.target_rate),
                    wav: pieces::wav(&samples[range], cfg.target_rate),
                })
                .collect();
            Ok(Track { speaker: audio.speaker, pieces })
        })
        .collect::<Result<_, AudioError>>()?;
    Ok(PreparedAudio { duration_seconds, source_rate, source_channels, tracks })
}

/// The recording as planar `f32` at its own rate (at most two channels, see [`Decoded::planes`]), within
/// `cfg`'s size and length limits: the first step of [`prepare`].
pub fn decode(bytes: &[u8], filename: Option<&str>, cfg: &AudioConfig) -> Result<Decoded, AudioError> {
    check_size(bytes, cfg)?;
    decode::decode(bytes, filename, cfg.max_seconds, Mode::Samples)
}

/// The recording's length in seconds: from its header when it declares one (WAV, FLAC, MP3 with a Xing/Info
/// header, M4A), otherwise by decoding without keeping the samples. Subject to the same limits as [`prepare`].
pub fn probe_duration(bytes: &[u8], filename: Option<&str>, cfg: &AudioConfig) -> Result<f64, AudioError> {
    check_size(bytes, cfg)?;
    Ok(decode::decode(bytes, filename, cfg.max_seconds, Mode::Duration)?.seconds())
}

fn check_size(bytes: &[u8], cfg: &AudioConfig) -> Result<(), AudioError> {
    if bytes.len() > cfg.max_bytes {
        return Err(AudioError::TooLarge { bytes: bytes.len(), max_bytes: cfg.max_bytes });
    }
    Ok(())
}

/// Straight to the target rate, or through RNNoise's 48 kHz when noise suppression is on.
fn to_target_rate(samples: &[f32], rate: u32, cfg: &AudioConfig) -> Result<Vec<f32>, AudioError> {
    if !cfg.noise_suppression {
        return resample::resample(samples, rate, cfg.target_rate);
    }
    let clean = noise::suppress(&resample::resample(samples, rate, noise::RATE)?);
    resample::resample(&clean, noise::RATE, cfg.target_rate)
}

#[cfg(test)]
mod tests;
