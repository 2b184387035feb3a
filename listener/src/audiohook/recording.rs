//! Recording a session to blob storage as it goes: the audio is written in WAV parts of a few seconds
//! (`recordings/<call>/<session>/part-NNNNNN.wav`, each playable on its own, so a crash loses at most one
//! part), and at the end joined into `recordings/<call>.wav`, after what earlier sessions of the same
//! call recorded (see `recording_join.rs`). Gaps on the session timeline (discarded audio) are kept as
//! silence.

#[path = "recording_join.rs"]
mod join;

use super::media::{Frames, RATE};
use join::{Storage, part_key};
pub use join::{recording_key, session_recording_key};
use shared::audio::wav;
use shared::ports::{BlobStore, StoreError};
use shared::realtime::live_audio::AudioFormat;
use std::sync::Arc;
use std::time::Duration;

/// Longest timeline gap filled with silence; a longer jump is recorded as this much silence.
const MAX_GAP_SECONDS: u64 = 600;
/// While storage fails, audio waits in memory up to this many parts; beyond, it is left out of the
/// recording (the gap becomes silence once storage is back) and storage is retried every `RETRY_EVERY`.
const MAX_BUFFERED_PARTS: usize = 6;
const RETRY_EVERY: Duration = Duration::from_secs(5);

pub struct Recorder {
    /// Each storage call is limited in time: a store that hangs must not stall the session's worker (its
    /// queue would fill and audio be dropped) nor its end.
    storage: Storage,
    call_id: String,
    session_id: String,
    format: AudioFormat,
    part_frames: usize,
    /// Interleaved s16le PCM not yet written.
    buf: Vec<u8>,
    /// Timeline position just after the last sample taken.
    position: u64,
    parts: u32,
    /// When a part last failed to store.
    failed_at: Option<std::time::Instant>,
}

impl Recorder {
    /// `call_id` and `session_id` must already be safe key segments (validated upstream); `timeout` limits
    /// each storage call.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        call_id: &str,
        session_id: &str,
        channels: u16,
        part_seconds: u32,
        timeout: Duration,
    ) -> Self {
        Self {
            storage: Storage { blobs, timeout },
            call_id: call_id.into(),
            session_id: session_id.into(),
            format: AudioFormat { sample_rate: RATE, channels, sample_width: 2 },
            part_frames: (RATE * part_seconds.max(1)) as usize,
            buf: Vec::new(),
            position: 0,
            parts: 0,
            failed_at: None,
        }
    }

    /// A part failed to store a moment ago: keep buffering rather than wait on storage again.
    fn resting(&self) -> bool {
        self.failed_at.is_some_and(|t| t.elapsed() < RETRY_EVERY)
    }

    /// Takes samples at `offset` on the timeline; writes a part when one is full. On a storage error the
    /// audio stays buffered (bounded, see `MAX_BUFFERED_PARTS`) and is written with the next part.
    pub async fn push(&mut self, offset: u64, frames: &Frames) -> Result<(), StoreError> {
        let frame_bytes = frames.channels * 2;
        if self.buf.len() >= MAX_BUFFERED_PARTS * self.part_frames * frame_bytes {
            if self.resting() {
                return Ok(());
            }
            self.write_part().await?;
        }
        let gap = offset.saturating_sub(self.position).min(MAX_GAP_SECONDS * u64::from(RATE));
        self.buf.resize(self.buf.len() + gap as usize * frame_bytes, 0);
        self.buf.reserve(frames.samples.len() * 2);
        for s in &frames.samples {
            self.buf.extend_from_slice(&s.to_le_bytes());
        }
        self.position = offset.max(self.position).saturating_add(frames.len() as u64);
        let full = self.buf.len() >= self.part_frames * frame_bytes;
        if full && !self.resting() { self.write_part().await } else { Ok(()) }
    }

    async fn write_part(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let part = wav::encode(&self.format, &self.buf);
        let key = part_key(&self.call_id, &self.session_id, self.parts);
        let stored = self.storage.call(self.storage.blobs.put(&key, part)).await;
        self.failed_at = stored.is_err().then(std::time::Instant::now);
        stored?;
        self.parts += 1;
        self.buf.clear();
        Ok(())
    }

    /// Writes the rest and joins the parts into the call's recording; returns the key written.
    pub async fn finish(mut self) -> Result<String, StoreError> {
        self.write_part().await?;
        let parts: Vec<u32> = (0..self.parts).collect();
        self.storage.join(&self.call_id, &self.session_id, &parts, self.format).await
    }
}

/// Joins what sessions that never ended left behind, each into its call's recording (see
/// `recording_join.rs`); returns the keys written. `timeout` limits each storage call.
pub async fn join_leftovers(blobs: Arc<dyn BlobStore>, timeout: Duration) -> Result<Vec<String>, StoreError> {
    Storage { blobs, timeout }.join_leftovers().await
}

#[cfg(test)]
#[path = "recording_tests.rs"]
mod tests;
