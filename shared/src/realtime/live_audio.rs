//! The rolling live-audio window of a call as plain data and arithmetic.
//! The bytes live in the blob store under `live/<call_id>/<seq>_<chunk_id>.pcm`; this state lists them.
//!
//! Fixes over the seed: chunks are ordered by timestamp (not arrival), a repeated chunk id is not stored
//! twice, a format change is refused instead of wiping the window, auto ids use true UTC epoch millis,
//! and silence is tracked so dead air can be raised from the audio itself.
//!
//! The state is rewritten on every chunk and is one DynamoDB item (400 KB at most), so it is bounded by
//! the number of chunks and by its bytes as well as by time: beyond [`MAX_WINDOW_CHUNKS`] or
//! [`MAX_WINDOW_STATE_BYTES`] the oldest chunks leave the window, as they do past `window_seconds`. Tiny
//! chunks are not refused: providers that frame audio finely (20 ms media frames, AudioHook's last chunk
//! before a pause) would lose the transcript events a chunk carries; the window only covers less time.

use crate::audio::silence::SilenceScan;
use crate::realtime::alerts::{DEAD_AIR_HIGH_SECONDS, DEAD_AIR_MEDIUM_SECONDS};
use crate::values::timestamps::{Timestamp, iso};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    pub sample_rate: u32,
    pub channels: u16,
    /// Bytes per sample; always 2 (16-bit PCM).
    pub sample_width: u16,
}

impl AudioFormat {
    pub fn frame_bytes(&self) -> usize {
        usize::from(self.channels) * usize::from(self.sample_width)
    }
}

/// Most chunks the window holds: 300 s (the default window) of 300 ms chunks, AudioHook's shortest at its
/// default flush rules; its usual 750 ms chunks fill the default window with 400.
pub const MAX_WINDOW_CHUNKS: usize = 1000;
/// Most bytes the window's chunk list takes serialised, counted by [`ChunkRef::state_bytes`]: with the
/// state's other fields (under 1 KiB) well below a DynamoDB item's 400 KB.
pub const MAX_WINDOW_STATE_BYTES: usize = 256 * 1024;
/// What a chunk's entry takes serialised besides its id and key, at most: field names and punctuation (53),
/// two numbers of up to 20 digits and an RFC 3339 time with nanoseconds (32).
const CHUNK_REF_FIXED_BYTES: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    pub id: String,
    pub key: String,
    pub frames: u64,
    pub bytes: u64,
    pub occurred_at: Timestamp,
}

impl ChunkRef {
    /// An upper bound of the bytes this entry takes in the serialised state (ids and keys need no escaping:
    /// their charset is checked).
    pub fn state_bytes(&self) -> usize {
        self.id.len() + self.key.len() + CHUNK_REF_FIXED_BYTES
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LiveAudioError {
    #[error("Audio format changed mid-call (buffer is {was_rate} Hz x{was_channels}, chunk is {rate} Hz x{channels})")]
    FormatChanged { was_rate: u32, was_channels: u16, rate: u32, channels: u16 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveAudioBuffer {
    pub call_id: String,
    pub format: Option<AudioFormat>,
    pub chunks: Vec<ChunkRef>,
    pub total_frames: u64,
    pub next_seq: u64,
    pub updated_at: Option<Timestamp>,
    pub last_chunk_id: String,
    /// Current run of silence, across chunks.
    pub silence_ms: u64,
    /// Dead-air level already reported for this run (0 none, 1 medium, 2 high).
    pub silence_level: u8,
}

/// Where a new chunk will go: decided before its bytes are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChunk {
    pub chunk: ChunkRef,
    pub format: AudioFormat,
}

impl LiveAudioBuffer {
    pub fn new(call_id: &str) -> Self {
        Self {
            call_id: call_id.to_string(),
            format: None,
            chunks: Vec::new(),
            total_frames: 0,
            next_seq: 1,
            updated_at: None,
            last_chunk_id: String::new(),
            silence_ms: 0,
            silence_level: 0,
        }
    }

    pub fn has_chunk(&self, chunk_id: &str) -> bool {
        self.chunks.iter().any(|c| c.id == chunk_id)
    }

    /// Assigns the sequence number, id and blob key of an incoming chunk of `pcm_len` bytes.
    pub fn plan(
        &self,
        chunk_id: Option<&str>,
        format: AudioFormat,
        pcm_len: usize,
        occurred_at: Timestamp,
    ) -> Result<PlannedChunk, LiveAudioError> {
        if let Some(was) = self.format.filter(|f| *f != format && !self.chunks.is_empty()) {
            return Err(LiveAudioError::FormatChanged {
                was_rate: was.sample_rate,
                was_channels: was.channels,
                rate: format.sample_rate,
                channels: format.channels,
            });
        }
        let seq = self.next_seq;
        let id = chunk_id.map_or_else(|| format!("{}_{seq}", occurred_at.timestamp_millis()), str::to_string);
        let key = format!("live/{}/{seq:09}_{id}.pcm", self.call_id);
        let frames = (pcm_len / format.frame_bytes()).max(1) as u64;
        Ok(PlannedChunk { chunk: ChunkRef { id, key, frames, bytes: pcm_len as u64, occurred_at }, format })
    }

    /// Adds a planned chunk in timestamp order and trims the window to `window_seconds`,
    /// [`MAX_WINDOW_CHUNKS`] and [`MAX_WINDOW_STATE_BYTES`]; returns the chunks dropped from it (their blobs
    /// are deleted by the caller). At least one chunk is always kept.
    pub fn commit(&mut self, planned: PlannedChunk, window_seconds: u32, now: Timestamp) -> Vec<ChunkRef> {
        let at = self.chunks.partition_point(|c| c.occurred_at <= planned.chunk.occurred_at);
        self.total_frames += planned.chunk.frames;
        self.last_chunk_id = planned.chunk.id.clone();
        self.chunks.insert(at, planned.chunk);
        self.format = Some(planned.format);
        self.next_seq += 1;
        self.updated_at = Some(now);
        let max_frames = u64::from(window_seconds) * u64::from(planned.format.sample_rate);
        let mut state_bytes: usize = self.chunks.iter().map(ChunkRef::state_bytes).sum();
        let mut drop = 0;
        while self.chunks.len() - drop > 1
            && (self.total_frames > max_frames
                || self.chunks.len() - drop > MAX_WINDOW_CHUNKS
                || state_bytes > MAX_WINDOW_STATE_BYTES)
        {
            self.total_frames -= self.chunks[drop].frames;
            state_bytes -= self.chunks[drop].state_bytes();
            drop += 1;
        }
        self.chunks.drain(..drop).collect()
    }

    /// Extends the silence run with a scanned chunk; returns the dead-air seconds to report when the run
    /// first crosses the medium (20 s) or high (35 s) threshold, and when a reported run ends (the new,
    /// shorter run), so that risk counts the next silence as a new one rather than a repeat of this one.
    pub fn observe_silence(&mut self, scan: SilenceScan) -> Option<f64> {
        let reported_run_ended = !scan.all_silent && self.silence_level > 0;
        if scan.all_silent {
            self.silence_ms += scan.duration_ms;
        } else {
            self.silence_ms = scan.trailing_silence_ms;
            self.silence_level = 0;
        }
        let seconds = self.silence_ms as f64 / 1000.0;
        let level = match seconds {
            s if s >= DEAD_AIR_HIGH_SECONDS => 2,
            s if s >= DEAD_AIR_MEDIUM_SECONDS => 1,
            _ => 0,
        };
        let crossed = level > self.silence_level;
        self.silence_level = self.silence_level.max(level);
        (crossed || reported_run_ended).then_some(seconds)
    }

    /// The chunks to read for the last `max_seconds` (all when `None`), and how many leading bytes of
    /// their concatenation to skip so the result is exactly that long and frame-aligned.
    pub fn tail(&self, max_seconds: Option<u32>) -> (Vec<&ChunkRef>, usize) {
        let Some(format) = self.format else { return (Vec::new(), 0) };
        let Some(max) = max_seconds.filter(|s| *s > 0) else { return (self.chunks.iter().collect(), 0) };
        let want = u64::from(max) * u64::from(format.sample_rate) * format.frame_bytes() as u64;
        let mut picked = Vec::new();
        let mut have = 0u64;
        for c in self.chunks.iter().rev() {
            if have >= want {
                break;
            }
            picked.push(c);
            have += c.bytes;
        }
        picked.reverse();
        (picked, have.saturating_sub(want) as usize)
    }

    /// The seed's LiveAudioState ("meta") object, plus the current silence run.
    pub fn meta(&self, window_seconds: u32) -> Value {
        let available = !self.chunks.is_empty();
        let duration = match self.format {
            Some(f) if available => {
                crate::realtime::domain::round_to(self.total_frames as f64 / f64::from(f.sample_rate), 3)
            }
            _ => 0.0,
        };
        let f = self.format.filter(|_| available);
        json!({
            "call_id": self.call_id,
            "available": available,
            "duration_seconds": duration,
            "sample_rate": f.map(|f| f.sample_rate),
            "channels": f.map(|f| f.channels),
            "sample_width": f.map(|f| f.sample_width),
            "chunk_count": self.chunks.len(),
            "updated_at": self.updated_at.as_ref().map(iso),
            "last_chunk_id": self.last_chunk_id,
            "window_seconds": window_seconds,
            "silence_seconds": self.silence_ms as f64 / 1000.0,
        })
    }
}

#[cfg(test)]
#[path = "live_audio_tests.rs"]
mod tests;
