//! The rolling live-audio window of a call as plain data and arithmetic.
//! The bytes live in the blob store: where blobs grow in place (the local folder), appended to the call's
//! segment file `live/<call_id>/s<n>.pcm` ([`SEGMENT_CHUNKS`] chunks a file) with each entry holding its
//! offset; elsewhere (S3) one object per chunk under `live/<call_id>/<seq>_<chunk_id>.pcm`. The store keeps one entry per
//! chunk ([`ChunkRef`]) and a small head ([`LiveHead`]) with the window's running totals, so appending a chunk
//! writes the same few hundred bytes whatever the call's length: the new entry, the head, and the entries
//! that leave the window. (Until 2026-12 the window was one state listing every chunk, rewritten per chunk:
//! 84–210 KB per write at AudioHook's cadence, and past DynamoDB's 400 KB item limit with longer windows.)
//!
//! Fixes over the seed: chunks are ordered by timestamp (not arrival), a repeated chunk id is not stored
//! twice, a format change is refused instead of wiping the window, auto ids use true UTC epoch millis,
//! and silence is tracked so dead air can be raised from the audio itself.
//!
//! The window is bounded by the number of chunks and by the bytes of their entries as well as by time:
//! beyond [`MAX_WINDOW_CHUNKS`] or [`MAX_WINDOW_STATE_BYTES`] the oldest chunks leave the window, as they do
//! past `window_seconds`, so reading the whole window stays bounded. Tiny chunks are not refused: providers
//! that frame audio finely (20 ms media frames, AudioHook's last chunk before a pause) would lose the
//! transcript events a chunk carries; the window only covers less time.

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
/// Most bytes the window's entries take serialised, counted by [`ChunkRef::state_bytes`]: what one read of
/// the whole window (`GET …/audio`) reads from the call store at most.
pub const MAX_WINDOW_STATE_BYTES: usize = 256 * 1024;
/// What a chunk's entry takes serialised besides its id and key, at most: field names and punctuation (71),
/// four numbers of up to 20 digits and an RFC 3339 time with nanoseconds (32).
const CHUNK_REF_FIXED_BYTES: usize = 192;
/// Chunks a segment file holds (arrival numbers `n * SEGMENT_CHUNKS ..`): about 3 minutes of AudioHook's
/// 750 ms chunks, so a two-hour call keeps its window and at most two segments more on disk, not two hours.
pub const SEGMENT_CHUNKS: u64 = 256;
/// Most entries one append drops from the window (and so the oldest entries it reads first): the window
/// moves by one or two chunks per chunk at a steady cadence; a window made shorter by configuration
/// shrinks by this many a chunk until it fits, so no append's write grows with the call.
pub const TRIM_BATCH: usize = 4;

/// One chunk of the window: what reading it back and trimming it need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// Arrival number within the call: orders chunks of the same timestamp and names the entry.
    pub seq: u64,
    pub id: String,
    pub key: String,
    pub frames: u64,
    pub bytes: u64,
    pub occurred_at: Timestamp,
    /// Where the bytes start in the segment file `key` names; `None`: `key` is the chunk's own blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl ChunkRef {
    /// An upper bound of the bytes this entry takes serialised (ids and keys need no escaping: their
    /// charset is checked).
    pub fn state_bytes(&self) -> usize {
        self.id.len() + self.key.len() + CHUNK_REF_FIXED_BYTES
    }

    /// The entry's place in the window as text that sorts as the window plays (timestamp to the
    /// microsecond, then arrival): stores order and range-read entries by it.
    pub fn order_key(&self) -> String {
        let micros = i128::from(self.occurred_at.timestamp_micros()) - i128::from(i64::MIN);
        format!("{micros:020}#{:012}", self.seq)
    }

    /// `<seq>_<chunk_id>`: the name of the chunk's own blob.
    pub fn name(&self) -> String {
        format!("{:09}_{}", self.seq, self.id)
    }

    /// The entry with its bytes in the call's segment file instead of a blob of their own.
    pub fn in_segment(self, call_id: &str) -> Self {
        Self { key: segment_key(call_id, self.seq / SEGMENT_CHUNKS), ..self }
    }

    /// The blob to delete once this entry has left the window: its own, or, when it is the first of its
    /// segment, the segment before the previous one. Entries leave in playing order, which is arrival
    /// order but for late chunks, so the previous segment is kept a segment longer than it needs: a chunk
    /// would have to arrive more than [`SEGMENT_CHUNKS`] chunks late to outlive its file.
    pub fn released_blob(&self, call_id: &str) -> Option<String> {
        match self.offset {
            None => Some(self.key.clone()),
            Some(_) => {
                let segment = self.seq / SEGMENT_CHUNKS;
                (self.seq % SEGMENT_CHUNKS == 0 && segment >= 2).then(|| segment_key(call_id, segment - 2))
            }
        }
    }
}

/// The segment file `n` of a call's live audio.
pub fn segment_key(call_id: &str, n: u64) -> String {
    format!("live/{call_id}/s{n:06}.pcm")
}

/// One read of window bytes: `len` bytes of `key` from `offset` (`None`: the whole blob).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRead {
    pub key: String,
    pub offset: Option<u64>,
    pub len: u64,
}

/// The reads that return `chunks`' bytes in order, entries that follow each other in one segment file
/// read as one range: a window of hundreds of chunks is a few reads.
pub fn reads(chunks: &[ChunkRef]) -> Vec<BlobRead> {
    let mut out: Vec<BlobRead> = Vec::new();
    for c in chunks {
        if let (Some(last), Some(at)) = (out.last_mut(), c.offset)
            && last.key == c.key
            && last.offset.is_some_and(|o| o + last.len == at)
        {
            last.len += c.bytes;
            continue;
        }
        out.push(BlobRead { key: c.key.clone(), offset: c.offset, len: c.bytes });
    }
    out
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LiveAudioError {
    #[error("Audio format changed mid-call (buffer is {was_rate} Hz x{was_channels}, chunk is {rate} Hz x{channels})")]
    FormatChanged { was_rate: u32, was_channels: u16, rate: u32, channels: u16 },
}

/// The window's running state: written with every append, the same size whatever the call's length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveHead {
    pub call_id: String,
    pub format: Option<AudioFormat>,
    /// Chunks in the window, and their frames and entry bytes ([`ChunkRef::state_bytes`]).
    pub chunk_count: u64,
    pub total_frames: u64,
    pub entry_bytes: u64,
    pub next_seq: u64,
    pub updated_at: Option<Timestamp>,
    pub last_chunk_id: String,
    /// Current run of silence, across chunks.
    pub silence_ms: u64,
    /// Dead-air level already reported for this run (0 none, 1 medium, 2 high).
    pub silence_level: u8,
}

/// What appending one chunk changes, for the store to write at once: the new head (conditional on the
/// version read), the new entry (`None` when it is older than the whole full window and leaves it at once)
/// and the entries that leave the window.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveAppend {
    pub head: LiveHead,
    pub expected_version: Option<u64>,
    pub entry: Option<ChunkRef>,
    pub dropped: Vec<ChunkRef>,
}

impl LiveHead {
    pub fn new(call_id: &str) -> Self {
        Self {
            call_id: call_id.to_string(),
            format: None,
            chunk_count: 0,
            total_frames: 0,
            entry_bytes: 0,
            next_seq: 1,
            updated_at: None,
            last_chunk_id: String::new(),
            silence_ms: 0,
            silence_level: 0,
        }
    }

    /// The entry of an incoming chunk of `pcm_len` bytes: its sequence number, id and blob key.
    pub fn plan(
        &self,
        chunk_id: Option<&str>,
        format: AudioFormat,
        pcm_len: usize,
        occurred_at: Timestamp,
    ) -> Result<ChunkRef, LiveAudioError> {
        if let Some(was) = self.format.filter(|f| *f != format && self.chunk_count > 0) {
            return Err(LiveAudioError::FormatChanged {
                was_rate: was.sample_rate,
                was_channels: was.channels,
                rate: format.sample_rate,
                channels: format.channels,
            });
        }
        let seq = self.next_seq;
        let id = chunk_id.map_or_else(|| format!("{}_{seq}", occurred_at.timestamp_millis()), str::to_string);
        let frames = (pcm_len / format.frame_bytes()).max(1) as u64;
        let mut entry =
            ChunkRef { seq, id, key: String::new(), frames, bytes: pcm_len as u64, occurred_at, offset: None };
        entry.key = format!("live/{}/{}.pcm", self.call_id, entry.name());
        Ok(entry)
    }

    fn over(&self, max_frames: u64) -> bool {
        self.chunk_count > 1
            && (self.total_frames > max_frames
                || self.chunk_count > MAX_WINDOW_CHUNKS as u64
                || self.entry_bytes > MAX_WINDOW_STATE_BYTES as u64)
    }

    /// Whether adding `entry` takes the window past a bound: then the caller reads the oldest
    /// [`TRIM_BATCH`] entries for [`Self::commit`] to drop from.
    pub fn needs_trim(&self, entry: &ChunkRef, format: AudioFormat, window_seconds: u32) -> bool {
        let mut after = self.clone();
        after.add(entry);
        after.over(max_frames(format, window_seconds))
    }

    fn add(&mut self, entry: &ChunkRef) {
        self.chunk_count += 1;
        self.total_frames += entry.frames;
        self.entry_bytes += entry.state_bytes() as u64;
    }

    fn remove(&mut self, entry: &ChunkRef) {
        self.chunk_count -= 1;
        self.total_frames -= entry.frames;
        self.entry_bytes = self.entry_bytes.saturating_sub(entry.state_bytes() as u64);
    }

    /// Adds `entry` in timestamp order and trims the window to `window_seconds`, [`MAX_WINDOW_CHUNKS`] and
    /// [`MAX_WINDOW_STATE_BYTES`], dropping from `oldest` (the window's oldest entries as stored, oldest
    /// first; empty unless [`Self::needs_trim`]) and at most [`TRIM_BATCH`]. At least one chunk is kept.
    pub fn commit(
        mut self,
        entry: ChunkRef,
        format: AudioFormat,
        oldest: &[ChunkRef],
        expected_version: Option<u64>,
        window_seconds: u32,
        now: Timestamp,
    ) -> LiveAppend {
        let whole_window = oldest.len() as u64 == self.chunk_count;
        self.add(&entry);
        self.last_chunk_id = entry.id.clone();
        self.format = Some(format);
        self.next_seq += 1;
        self.updated_at = Some(now);
        let mut candidates: Vec<&ChunkRef> = oldest.iter().collect();
        let key = entry.order_key();
        let at = candidates.partition_point(|c| c.order_key() <= key);
        if at < candidates.len() || whole_window {
            candidates.insert(at, &entry);
        }
        let max = max_frames(format, window_seconds);
        let mut dropped = Vec::new();
        for c in candidates.into_iter().take(TRIM_BATCH) {
            if !self.over(max) {
                break;
            }
            self.remove(c);
            dropped.push(c.clone());
        }
        let kept = !dropped.iter().any(|d| d.seq == entry.seq);
        dropped.retain(|d| d.seq != entry.seq);
        LiveAppend { head: self, expected_version, entry: kept.then_some(entry), dropped }
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

    /// The seed's LiveAudioState ("meta") object, plus the current silence run.
    pub fn meta(&self, window_seconds: u32) -> Value {
        let available = self.chunk_count > 0;
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
            "chunk_count": self.chunk_count,
            "updated_at": self.updated_at.as_ref().map(iso),
            "last_chunk_id": self.last_chunk_id,
            "window_seconds": window_seconds,
            "silence_seconds": self.silence_ms as f64 / 1000.0,
        })
    }
}

fn max_frames(format: AudioFormat, window_seconds: u32) -> u64 {
    u64::from(window_seconds) * u64::from(format.sample_rate)
}

/// Of the window's entries (oldest first), the ones to read for the last `max_seconds` (all when `None`),
/// and how many leading bytes of their concatenation to skip so the result is exactly that long and
/// frame-aligned.
pub fn tail(chunks: &[ChunkRef], format: AudioFormat, max_seconds: Option<u32>) -> (&[ChunkRef], usize) {
    let Some(max) = max_seconds.filter(|s| *s > 0) else { return (chunks, 0) };
    let want = u64::from(max) * u64::from(format.sample_rate) * format.frame_bytes() as u64;
    let mut have = 0u64;
    let mut from = chunks.len();
    while from > 0 && have < want {
        from -= 1;
        have += chunks[from].bytes;
    }
    (&chunks[from..], have.saturating_sub(want) as usize)
}

#[cfg(test)]
#[path = "live_audio_tests.rs"]
mod tests;
