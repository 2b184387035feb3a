//! Cutting a session's audio into ingest chunks: a chunk every flush interval (750 ms) once at least the
//! minimum (300 ms) is buffered, never longer than the maximum (2 s; `GENESYS_AUDIOHOOK_*` below), and
//! measuring silence per channel so dead air travels with each chunk. Silence is counted over audio heard
//! only: a pause (a hold) or discarded audio restarts it. Pure: the caller passes the clock.

use super::media::{Frames, RATE};
use shared::audio::silence;

/// The seed's flush settings, with its lower bounds applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushRules {
    /// `GENESYS_AUDIOHOOK_FLUSH_INTERVAL_MS` (750, at least 120).
    pub flush_interval_ms: u64,
    /// `GENESYS_AUDIOHOOK_MIN_CHUNK_DURATION_MS` (300, at least 80).
    pub min_chunk_ms: u64,
    /// `GENESYS_AUDIOHOOK_MAX_CHUNK_DURATION_MS` (2000, at least 120 and at least the minimum).
    pub max_chunk_ms: u64,
}

impl FlushRules {
    pub fn new(flush_interval_ms: u64, min_chunk_ms: u64, max_chunk_ms: u64) -> Self {
        let min_chunk_ms = min_chunk_ms.max(80);
        Self {
            flush_interval_ms: flush_interval_ms.max(120),
            min_chunk_ms,
            max_chunk_ms: max_chunk_ms.max(120).max(min_chunk_ms),
        }
    }

    fn frames(ms: u64) -> usize {
        (u64::from(RATE) * ms / 1000) as usize
    }
}

impl Default for FlushRules {
    fn default() -> Self {
        Self::new(750, 300, 2000)
    }
}

/// One chunk for the audio ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// 0, 1, 2... within the session: with the session id, the chunk's idempotency key.
    pub index: u64,
    /// Where the chunk starts on the session timeline, in samples.
    pub start_sample: u64,
    /// Interleaved s16le PCM.
    pub pcm: Vec<u8>,
    /// `streaming`, `paused` (the client paused: a hold), `gap` (the timeline jumped: discarded or paused
    /// audio), or the end reason.
    pub reason: String,
    /// Silence at the end of this chunk per channel, carried over from earlier chunks while it lasts.
    pub silence_ms: Vec<u64>,
}

impl Chunk {
    /// Dead air: how long nobody has spoken (the shortest silence over the channels).
    pub fn dead_air_ms(&self) -> u64 {
        self.silence_ms.iter().copied().min().unwrap_or(0)
    }
}

pub struct Chunker {
    rules: FlushRules,
    rms_threshold: f64,
    channels: usize,
    /// Interleaved samples not yet sent.
    buf: Vec<i16>,
    /// Timeline position of the first buffered frame.
    start: u64,
    next_index: u64,
    last_flush_ms: u64,
    silence_ms: Vec<u64>,
}

impl Chunker {
    /// `rms_threshold`: 16-bit RMS below which a 20 ms window is silent (`REALTIME_DEAD_AIR_RMS_THRESHOLD`).
    pub fn new(rules: FlushRules, channels: usize, rms_threshold: f64, now_ms: u64) -> Self {
        Self {
            rules,
            rms_threshold,
            channels: channels.max(1),
            buf: Vec::new(),
            start: 0,
            next_index: 0,
            last_flush_ms: now_ms,
            silence_ms: vec![0; channels.max(1)],
        }
    }

    fn buffered(&self) -> usize {
        self.buf.len() / self.channels
    }

    /// Adds frames at `offset` on the timeline; returns the chunks now due.
    pub fn push(&mut self, offset: u64, frames: &Frames, now_ms: u64) -> Vec<Chunk> {
        let mut out = Vec::new();
        if offset != self.start.saturating_add(self.buffered() as u64) {
            out = self.interrupt("gap");
            self.start = offset;
        }
        // Exactly: the buffer keeps its capacity between chunks, and doubling would keep a third more.
        self.buf.reserve_exact(frames.samples.len());
        self.buf.extend_from_slice(&frames.samples);
        let (min, max) = (FlushRules::frames(self.rules.min_chunk_ms), FlushRules::frames(self.rules.max_chunk_ms));
        // The interval sets the cadence and the minimum only holds back a chunk too small to be worth a request:
        // the seed's rule (due at the minimum *or* the interval) sent a chunk at every 300 ms whatever the
        // interval, 2.5 times the requests the documented 750 ms cadence makes, and the interval did nothing.
        let interval_passed = now_ms.saturating_sub(self.last_flush_ms) >= self.rules.flush_interval_ms;
        let due = self.buffered() >= max || (interval_passed && self.buffered() >= min);
        if due {
            out.push(self.cut(max, "streaming"));
            self.last_flush_ms = now_ms;
            while self.buffered() >= max {
                out.push(self.cut(max, "streaming"));
            }
        }
        out
    }

    /// The stream paused (a hold) or jumped (discarded audio): everything buffered goes now, and silence
    /// counts from zero again, since nobody was heard being silent in time we received no audio for.
    pub fn interrupt(&mut self, reason: &str) -> Vec<Chunk> {
        let out = self.finish(reason);
        self.silence_ms.fill(0);
        out
    }

    /// Everything still buffered, in pieces no longer than the maximum.
    pub fn finish(&mut self, reason: &str) -> Vec<Chunk> {
        let max = FlushRules::frames(self.rules.max_chunk_ms);
        let mut out = Vec::new();
        while self.buffered() > 0 {
            out.push(self.cut(max, reason));
        }
        out
    }

    fn cut(&mut self, max_frames: usize, reason: &str) -> Chunk {
        let frames = self.buffered().min(max_frames);
        let taken = &self.buf[..frames * self.channels];
        // Written in place rather than pushed sample by sample: the compiler turns this into a vector copy.
        let mut pcm = vec![0u8; taken.len() * 2];
        for (bytes, s) in pcm.chunks_exact_mut(2).zip(taken) {
            bytes.copy_from_slice(&s.to_le_bytes());
        }
        for (channel, silent) in self.silence_ms.iter_mut().enumerate() {
            let scan = silence::scan_channel(taken, self.channels, channel, RATE, self.rms_threshold);
            *silent = if scan.all_silent { *silent + scan.duration_ms } else { scan.trailing_silence_ms };
        }
        self.buf.drain(..frames * self.channels);
        let chunk = Chunk {
            index: self.next_index,
            start_sample: self.start,
            pcm,
            reason: reason.to_string(),
            silence_ms: self.silence_ms.clone(),
        };
        self.next_index += 1;
        self.start = self.start.saturating_add(frames as u64);
        chunk
    }
}

#[cfg(test)]
#[path = "chunker_tests.rs"]
mod tests;
