//! Recording a session to blob storage as it goes: the audio is written in WAV parts of a few seconds
//! (`recordings/<call>/<session>/part-NNNNNN.wav`, each playable on its own, so a crash loses at most one
//! part), and at the end joined into `recordings/<call>.wav`, after what earlier sessions of the same
//! call recorded. Gaps on the session timeline (discarded audio) are kept as silence.

use super::media::{Frames, RATE};
use shared::audio::wav;
use shared::ports::{BlobStore, StoreError};
use shared::realtime::live_audio::AudioFormat;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Longest timeline gap filled with silence; a longer jump is recorded as this much silence.
const MAX_GAP_SECONDS: u64 = 600;
/// While storage fails, audio waits in memory up to this many parts; beyond, it is left out of the
/// recording (the gap becomes silence once storage is back) and storage is retried every `RETRY_EVERY`.
const MAX_BUFFERED_PARTS: usize = 6;
const RETRY_EVERY: Duration = Duration::from_secs(5);

pub struct Recorder {
    blobs: Arc<dyn BlobStore>,
    call_id: String,
    parts_prefix: String,
    format: AudioFormat,
    part_frames: usize,
    /// Interleaved s16le PCM not yet written.
    buf: Vec<u8>,
    /// Timeline position just after the last sample taken.
    position: u64,
    parts: u32,
    /// When a part last failed to store.
    failed_at: Option<std::time::Instant>,
    /// Each storage call's limit: a store that hangs must not stall the session's worker (its queue
    /// would fill and audio be dropped) nor its end.
    timeout: Duration,
}

/// The blob key of a call's whole recording.
pub fn recording_key(call_id: &str) -> String {
    format!("recordings/{call_id}.wav")
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
            blobs,
            call_id: call_id.into(),
            parts_prefix: format!("recordings/{call_id}/{session_id}"),
            format: AudioFormat { sample_rate: RATE, channels, sample_width: 2 },
            part_frames: (RATE * part_seconds.max(1)) as usize,
            buf: Vec::new(),
            position: 0,
            parts: 0,
            failed_at: None,
            timeout,
        }
    }

    /// One storage call, failed after `timeout`.
    async fn stored<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let limit = self.timeout;
        tokio::time::timeout(limit, call)
            .await
            .unwrap_or_else(|_| Err(StoreError::Backend(format!("recording storage: no answer in {limit:?}"))))
    }

    /// A part failed to store a moment ago: keep buffering rather than wait on storage again.
    fn resting(&self) -> bool {
        self.failed_at.is_some_and(|t| t.elapsed() < RETRY_EVERY)
    }

    fn part_key(&self, n: u32) -> String {
        format!("{}/part-{n:06}.wav", self.parts_prefix)
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
        let stored = self.stored(self.blobs.put(&self.part_key(self.parts), part)).await;
        self.failed_at = stored.is_err().then(std::time::Instant::now);
        stored?;
        self.parts += 1;
        self.buf.clear();
        Ok(())
    }

    /// Writes the rest and joins the parts into the call's recording; returns its key. The parts are
    /// deleted only once the joined file is stored.
    pub async fn finish(mut self) -> Result<String, StoreError> {
        self.write_part().await?;
        let key = recording_key(&self.call_id);
        let mut pcm = match self.stored(self.blobs.get(&key)).await? {
            Some(bytes) => match wav::decode(&bytes) {
                Ok((format, pcm)) if format == self.format => pcm,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        for n in 0..self.parts {
            let bytes = self.stored(self.blobs.get(&self.part_key(n))).await?;
            let bytes = bytes.ok_or_else(|| missing(&self.part_key(n)))?;
            let (_, part) =
                wav::decode(&bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.part_key(n))))?;
            pcm.extend_from_slice(&part);
        }
        self.stored(self.blobs.put(&key, wav::encode(&self.format, &pcm))).await?;
        for n in 0..self.parts {
            self.stored(self.blobs.delete(&self.part_key(n))).await?;
        }
        Ok(key)
    }
}

fn missing(key: &str) -> StoreError {
    StoreError::Corrupt(format!("recording part {key} is missing"))
}

#[cfg(test)]
#[path = "recording_tests.rs"]
mod tests;
