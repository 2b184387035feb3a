//! Turning an upload into 16-bit samples at the target rate with `symphonia`: WAV (integer and float PCM,
//! μ-law, A-law), MP3, M4A/AAC, OGG/Vorbis and FLAC, probed from the content with the filename's extension
//! only as a hint. WAV goes through it too rather than `hound`: symphonia converts whole packets at once and
//! measured about ten times faster than hound's sample-by-sample reader (`benches/audio_decode.rs`), with
//! one set of errors.
//! But symphonia sees a WAV's audio behind the canonical header `wav::layout` writes, not the file's own:
//! it refuses layouts telephony systems write (a 16-byte G.711 `fmt `, streaming sizes) and would buffer
//! whatever size a LIST chunk claims.
//! Length is checked against the limit from the header (for a WAV, from the audio it holds: a header may
//! claim anything) and again as samples arrive, so an over-long file is refused without being held in
//! memory, and a file shorter than its header says is reported.
//! Each packet's channels are resampled to the target rate as they come (`resample::Stream`) and kept as
//! 16-bit, so what is held is `2 bytes × target rate × seconds` a channel whatever the upload's own rate; that
//! size is bounded too (`AUDIO_MAX_DECODED_BYTES`), from the header and again as samples arrive, since a few
//! kilobytes of FLAC can declare hours.

use super::resample::{self, Stream};
use super::sample::to_i16;
use super::{AudioConfig, AudioError};
use crate::audio::wav::layout::{self, LayoutError};
use std::io::{Cursor, ErrorKind, Read};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;

/// Channels kept: a call has two parties. Further channels (rare: surround exports) are dropped while
/// decoding rather than mixed in, as they carry no party of the call and would only cost memory.
const KEPT_CHANNELS: usize = 2;
/// Sample rates accepted: below telephony's 8 kHz is not speech, above studio rates is a broken header (and
/// would make resampling's output, which scales with the rate ratio, unbounded).
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 4_000..=384_000;
/// How symphonia's probe says that no format reader recognised the bytes (pinned by the tests on garbage).
const PROBE_FOUND_NOTHING: &str = "core (probe)";
/// Undecodable packets in a row (a damaged MP3 frame is skipped) before the file is called corrupt.
const MAX_BAD_PACKETS_IN_A_ROW: u32 = 50;
/// How far short of its declared length a file may end (encoder padding, rounding) before it counts as cut.
const TRUNCATION_TOLERANCE_SECONDS: f64 = 1.0;

/// What to do with the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keep them (`planes` is filled).
    Samples,
    /// Only the length: from the header when it declares one, otherwise by decoding without keeping.
    Duration,
}

#[derive(Debug)]
pub struct Decoded {
    /// The recording's own rate: `frames` count at it.
    pub rate: u32,
    pub source_channels: u16,
    pub frames: u64,
    /// The rate `planes` are at: the target rate asked for.
    pub planes_rate: u32,
    /// The first two channels (further ones are dropped) at `planes_rate`, each lasting `frames` at `rate`;
    /// empty in [`Mode::Duration`].
    pub planes: Vec<Vec<i16>>,
}

impl Decoded {
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.rate)
    }
}

/// Decodes `bytes` to `cfg.target_rate`, refusing anything longer than `cfg.max_seconds` or, when keeping the
/// samples, larger than `cfg.max_decoded_bytes` once decoded.
pub fn decode(bytes: &[u8], filename: Option<&str>, cfg: &AudioConfig, mode: Mode) -> Result<Decoded, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    // symphonia's demuxers and decoders have panicked on crafted input in the past; a bad upload must fail
    // the call, not the worker.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_with_symphonia(bytes, filename, cfg, mode)))
        .unwrap_or_else(|_| Err(AudioError::Corrupt("the decoder gave up on malformed data".into())))
}

fn decode_with_symphonia(
    bytes: &[u8],
    filename: Option<&str>,
    cfg: &AudioConfig,
    mode: Mode,
) -> Result<Decoded, AudioError> {
    let mut hint = Hint::new();
    if let Some(ext) = filename.and_then(|f| f.rsplit_once('.')).map(|(_, ext)| ext.to_ascii_lowercase()) {
        hint.with_extension(&ext);
    }
    let (source, wav_claim) = media_source(bytes)?;
    let source = MediaSourceStream::new(source, Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(&hint, source, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            // Only the probe itself saying no reader matched means "not audio"; a reader that matched and then
            // failed (an M4A cut before its index: "missing moov atom") found a damaged file.
            SymphoniaError::Unsupported(msg) if msg.starts_with(PROBE_FOUND_NOTHING) => AudioError::Unrecognised,
            SymphoniaError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => AudioError::Incomplete,
            SymphoniaError::IoError(_) => AudioError::Unrecognised,
            other => AudioError::Corrupt(other.to_string()),
        })?;
    let track = format.default_track(TrackType::Audio).ok_or(AudioError::NoAudioTrack)?;
    let params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or(AudioError::NoAudioTrack)?.clone();
    let (track_id, length) = (track.id, track.num_frames);
    // A WAV's header may claim more than the file holds: symphonia reads what is there (so the length comes
    // from the bytes), the claim only says whether the file was cut.
    let declared = wav_claim.or(length);
    let rate = params.sample_rate.ok_or_else(|| AudioError::Corrupt("no sample rate".into()))?;
    let channels = params.channels.as_ref().map_or(1, |c| u16::try_from(c.count()).unwrap_or(u16::MAX));
    let mut out = Collector::new(rate, channels, cfg, mode)?;
    if let Some(length) = length {
        out.check_declared(length, bytes.len())?;
        if mode == Mode::Duration {
            return Ok(out.declared(length));
        }
    }
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::UnsupportedCodec(e.to_string()))?;
    let mut block: Vec<Vec<f32>> = Vec::new();
    let mut bad_in_a_row = 0;
    while let Some(packet) = next_packet(format.as_mut(), &out, declared)? {
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                bad_in_a_row = 0;
                if buf.spec().rate() != rate {
                    return Err(AudioError::Corrupt("the sample rate changes partway through".into()));
                }
                buf.copy_to_vecs_planar::<f32>(&mut block);
                out.push_planes(&block, buf.frames())?;
            }
            Err(SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_))
                if bad_in_a_row < MAX_BAD_PACKETS_IN_A_ROW =>
            {
                bad_in_a_row += 1;
            }
            Err(e) => return Err(AudioError::Corrupt(e.to_string())),
        }
    }
    out.finish(declared)
}

/// What symphonia reads: a WAV's audio behind its canonical header (and the frames its header claims),
/// anything else as it is.
fn media_source(bytes: &[u8]) -> Result<(Box<dyn MediaSource + '_>, Option<u64>), AudioError> {
    match layout::parse(bytes) {
        Ok(wav) => {
            let stream = Cursor::new(wav.canonical_header()).chain(wav.data);
            Ok((Box::new(ReadOnlySource::new(stream)), wav.frames_declared()))
        }
        Err(LayoutError::NotWave) => Ok((Box::new(Cursor::new(bytes)), None)),
        Err(LayoutError::Cut) => Err(AudioError::Incomplete),
        Err(e @ LayoutError::UnsupportedSampleSize { .. }) => Err(AudioError::UnsupportedCodec(e.to_string())),
        Err(e) => Err(AudioError::Corrupt(e.to_string())),
    }
}

/// The next packet; `None` at a clean end. A stream that stops mid-packet is reported as cut short.
fn next_packet(
    format: &mut dyn FormatReader,
    out: &Collector,
    declared: Option<u64>,
) -> Result<Option<symphonia::core::packet::Packet>, AudioError> {
    match format.next_packet() {
        Ok(packet) => Ok(packet),
        Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => Err(out.truncated(declared)),
        Err(SymphoniaError::ResetRequired) => {
            Err(AudioError::Corrupt("the audio format changes partway through".into()))
        }
        Err(e) => Err(AudioError::Corrupt(e.to_string())),
    }
}

/// Gathers samples at the target rate while enforcing the length and decoded-size limits.
struct Collector {
    rate: u32,
    source_channels: u16,
    max_frames: u64,
    frames: u64,
    /// `None` in [`Mode::Duration`]: nothing is resampled or kept.
    kept: Option<Kept>,
}

/// What [`Mode::Samples`] keeps: a stream and a plane a channel, at `rate`.
struct Kept {
    rate: u32,
    max_bytes: usize,
    streams: Vec<Stream>,
    planes: Vec<Vec<i16>>,
    /// One packet's output of one channel, before it is stored as 16-bit.
    converted: Vec<f32>,
    /// Silence for a channel a packet lacks.
    silence: Vec<f32>,
}

impl Collector {
    fn new(rate: u32, source_channels: u16, cfg: &AudioConfig, mode: Mode) -> Result<Self, AudioError> {
        if !SAMPLE_RATES.contains(&rate) {
            return Err(AudioError::UnsupportedSampleRate(rate));
        }
        if source_channels == 0 {
            return Err(AudioError::Corrupt("the header declares no channels".into()));
        }
        let kept = match mode {
            Mode::Duration => None,
            Mode::Samples => {
                let channels = usize::from(source_channels).min(KEPT_CHANNELS);
                Some(Kept {
                    rate: cfg.target_rate,
                    max_bytes: cfg.max_decoded_bytes,
                    streams: (0..channels).map(|_| Stream::new(rate, cfg.target_rate)).collect::<Result<_, _>>()?,
                    planes: vec![Vec::new(); channels],
                    converted: Vec::new(),
                    silence: Vec::new(),
                })
            }
        };
        let max_frames = (cfg.max_seconds * f64::from(rate)) as u64;
        Ok(Self { rate, source_channels, max_frames, frames: 0, kept })
    }

    /// Refuses an over-long or over-large file from its header, before any decoding, and reserves memory for
    /// the rest: no more frames than the file has bytes, so a small file whose header claims hours costs
    /// nothing.
    fn check_declared(&mut self, declared: u64, file_bytes: usize) -> Result<(), AudioError> {
        if declared > self.max_frames {
            return Err(self.too_long());
        }
        if let Some(kept) = self.kept.as_mut() {
            let frames = kept.frames_for(declared, self.rate);
            if frames.saturating_mul(kept.planes.len()).saturating_mul(BYTES_PER_SAMPLE) > kept.max_bytes {
                return Err(AudioError::DecodedTooLarge { max_bytes: kept.max_bytes });
            }
            let frames = frames.min(file_bytes);
            kept.planes.iter_mut().for_each(|p| p.reserve_exact(frames));
        }
        Ok(())
    }

    fn declared(self, frames: u64) -> Decoded {
        Decoded {
            rate: self.rate,
            source_channels: self.source_channels,
            frames,
            planes_rate: self.rate,
            planes: Vec::new(),
        }
    }

    fn push_planes(&mut self, block: &[Vec<f32>], frames: usize) -> Result<(), AudioError> {
        self.count(frames as u64)?;
        let Some(kept) = self.kept.as_mut() else { return Ok(()) };
        self.source_channels = self.source_channels.max(u16::try_from(block.len()).unwrap_or(u16::MAX));
        while kept.planes.len() < block.len().min(KEPT_CHANNELS) {
            // The header under-declared the channels: give the new channel the silence it missed.
            let before = self.frames - frames as u64;
            kept.add_channel(self.rate, before)?;
        }
        for i in 0..kept.planes.len() {
            // A channel missing from this block (the layout shrank) stays aligned with silence.
            match block.get(i) {
                Some(samples) => kept.push(i, &samples[..frames.min(samples.len())])?,
                None => kept.push_silence(i, frames as u64)?,
            }
        }
        kept.check_size()
    }

    fn count(&mut self, frames: u64) -> Result<(), AudioError> {
        self.frames += frames;
        if self.frames > self.max_frames { Err(self.too_long()) } else { Ok(()) }
    }

    fn too_long(&self) -> AudioError {
        AudioError::TooLong { max_seconds: self.max_frames as f64 / f64::from(self.rate) }
    }

    /// The file ended before the audio did: with how much is missing when the header said how long it is.
    fn truncated(&self, declared: Option<u64>) -> AudioError {
        let tolerance = (TRUNCATION_TOLERANCE_SECONDS * f64::from(self.rate)) as u64;
        match declared {
            Some(expected) if self.frames + tolerance < expected => AudioError::Truncated {
                decoded_seconds: self.frames as f64 / f64::from(self.rate),
                expected_seconds: expected as f64 / f64::from(self.rate),
            },
            _ => AudioError::Incomplete,
        }
    }

    fn finish(self, declared: Option<u64>) -> Result<Decoded, AudioError> {
        if self.frames == 0 {
            return Err(AudioError::Empty);
        }
        if let err @ AudioError::Truncated { .. } = self.truncated(declared) {
            return Err(err);
        }
        let (rate, source_channels, frames) = (self.rate, self.source_channels, self.frames);
        let (planes_rate, planes) = match self.kept {
            Some(kept) => (kept.rate, kept.finish()?),
            None => (rate, Vec::new()),
        };
        Ok(Decoded { rate, source_channels, frames, planes_rate, planes })
    }
}

/// Bytes a kept sample takes (16-bit).
const BYTES_PER_SAMPLE: usize = 2;
/// Silence is fed to a stream this many frames at a time.
const SILENCE_FRAMES: usize = 4096;

impl Kept {
    /// Frames at the kept rate for `frames` at `rate`, as the resampler makes them.
    fn frames_for(&self, frames: u64, rate: u32) -> usize {
        usize::try_from(resample::output_frames(frames, rate, self.rate)).unwrap_or(usize::MAX)
    }

    fn push(&mut self, channel: usize, samples: &[f32]) -> Result<(), AudioError> {
        self.streams[channel].push(samples, &mut self.converted)?;
        self.planes[channel].extend(self.converted.drain(..).map(to_i16));
        Ok(())
    }

    fn push_silence(&mut self, channel: usize, mut frames: u64) -> Result<(), AudioError> {
        self.silence.resize(SILENCE_FRAMES, 0.0);
        while frames > 0 {
            let n = frames.min(SILENCE_FRAMES as u64);
            self.streams[channel].push(&self.silence[..n as usize], &mut self.converted)?;
            self.planes[channel].extend(self.converted.drain(..).map(to_i16));
            frames -= n;
        }
        self.check_size()
    }

    /// A channel the header did not declare, lined up after `before` frames of silence.
    fn add_channel(&mut self, rate: u32, before: u64) -> Result<(), AudioError> {
        self.streams.push(Stream::new(rate, self.rate)?);
        self.planes.push(Vec::new());
        self.push_silence(self.planes.len() - 1, before)
    }

    fn check_size(&self) -> Result<(), AudioError> {
        within(&self.planes, self.max_bytes)
    }

    /// The planes with each stream's tail flushed in.
    fn finish(mut self) -> Result<Vec<Vec<i16>>, AudioError> {
        for (stream, plane) in self.streams.into_iter().zip(&mut self.planes) {
            stream.finish(&mut self.converted)?;
            plane.extend(self.converted.drain(..).map(to_i16));
        }
        within(&self.planes, self.max_bytes)?;
        Ok(self.planes)
    }
}

/// Refuses `planes` when they hold more than `max_bytes`: a limit the recording exactly fills passes.
fn within(planes: &[Vec<i16>], max_bytes: usize) -> Result<(), AudioError> {
    let bytes = planes.iter().map(Vec::len).sum::<usize>().saturating_mul(BYTES_PER_SAMPLE);
    if bytes > max_bytes { Err(AudioError::DecodedTooLarge { max_bytes }) } else { Ok(()) }
}
