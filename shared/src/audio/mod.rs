//! Audio preparation for the batch pipeline: an uploaded call recording in, per-speaker mono 16-bit WAV pieces
//! at the STT provider's rate out. Decoding, limits, channel-to-speaker mapping, resampling, optional noise
//! suppression and cutting into pieces are pure and synchronous (CPU-bound: the worker runs [`prepare`] in
//! `spawn_blocking`); each step lives in the module named after it.
//!
//! Memory does not depend on the upload's own rate: each packet is resampled to the target rate as it is
//! decoded and kept as 16-bit (`decode`, `sample`), noise suppression goes through 48 kHz a block at a time
//! (`noise`), and pieces are cut from the end of a track, handing its memory back as they are made
//! (`pieces`). A call's peak is about the upload plus `2 bytes × target rate × seconds × channels` (at most
//! two) plus one piece: for the 4 h default at 16 kHz in stereo, the upload + 921.6 MB + 19.2 MB, whether it
//! was recorded at 8 or 384 kHz (decoding at the source rate held 1.8 GB at 16 kHz, 5.5 GB at 48 kHz, 44 GB at
//! 384 kHz). `AUDIO_MAX_DECODED_BYTES` (1 GB) caps the middle term from the header and as samples arrive,
//! whatever the seconds and rate allow. Nothing is shared between calls: a process running several batch
//! workers (`WORKER_CONCURRENCY`, 2 by default) needs at worst that many times the per-call peak.

mod channels;
mod config;
mod decode;
mod error;
pub mod g711;
mod noise;
mod pieces;
mod resample;
mod sample;
pub mod silence;
pub mod wav;

pub use config::AudioConfig;
pub use decode::Decoded;
pub use error::AudioError;
pub use resample::resample;
pub use sample::to_f32;

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
        .map(|mut audio| {
            if cfg.noise_suppression {
                noise::suppress_track(&mut audio.samples, cfg.target_rate)?;
            }
            let pieces = pieces::cut(audio.samples, cfg.target_rate, cfg.chunk_seconds);
            Ok(Track { speaker: audio.speaker, pieces })
        })
        .collect::<Result<_, AudioError>>()?;
    Ok(PreparedAudio { duration_seconds, source_rate, source_channels, tracks })
}

/// The recording as 16-bit planes at `cfg.target_rate` (at most two channels, see [`Decoded::planes`]),
/// within `cfg`'s size, length and decoded-size limits: the first step of [`prepare`].
pub fn decode(bytes: &[u8], filename: Option<&str>, cfg: &AudioConfig) -> Result<Decoded, AudioError> {
    check_size(bytes, cfg)?;
    decode::decode(bytes, filename, cfg, Mode::Samples)
}

/// The recording's length in seconds: from its header when it declares one (WAV, FLAC, MP3 with a Xing/Info
/// header, M4A), otherwise by decoding without keeping the samples. Subject to the same size and length
/// limits as [`prepare`]; keeping nothing, it is not subject to the decoded-size one.
pub fn probe_duration(bytes: &[u8], filename: Option<&str>, cfg: &AudioConfig) -> Result<f64, AudioError> {
    check_size(bytes, cfg)?;
    Ok(decode::decode(bytes, filename, cfg, Mode::Duration)?.seconds())
}

fn check_size(bytes: &[u8], cfg: &AudioConfig) -> Result<(), AudioError> {
    if bytes.len() > cfg.max_bytes {
        return Err(AudioError::TooLarge { bytes: bytes.len(), max_bytes: cfg.max_bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
