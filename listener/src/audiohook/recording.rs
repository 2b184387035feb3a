//! Recording a session to blob storage as it goes: the audio is written in WAV parts of a few seconds
//! (`recordings/<call>/<session>/part-NNNNNN.wav`, each playable on its own, so a crash loses at most one
//! part), and at the end joined into `recordings/<call>.wav`, after what earlier sessions of the same
//! call recorded. Gaps on the session timeline (discarded audio) are kept as silence.

use super::media::RATE;
use shared::live_audio::AudioFormat;
use shared::ports::{BlobStore, StoreError};
use shared::wav;
use std::sync::Arc;

/// Longest timeline gap filled with silence; a longer jump is recorded as this much silence.
const MAX_GAP_SECONDS: u64 = 600;

pub struct Recorder {
    blobs: Arc<dyn BlobStore>,
    call_id: String,
    parts_prefix: String,
    format: AudioFormat,
    part_frames: usize,
    /// Interleaved samples not yet written.
    buf: Vec<i16>,
    /// Timeline position just after the last sample taken.
    position: u64,
    parts: u32,
}

/// The blob key of a call's whole recording.
pub fn recording_key(call_id: &str) -> String {
    format!("recordings/{call_id}.wav")
}

impl Recorder {
    /// `call_id` and `session_id` must already be safe key segments (validated upstream).
    pub fn new(blobs: Arc<dyn BlobStore>, call_id: &str, session_id: &str, channels: u16, part_seconds: u32) -> Self {
        Self {
            blobs,
            call_id: call_id.into(),
            parts_prefix: format!("recordings/{call_id}/{session_id}"),
            format: AudioFormat { sample_rate: RATE, channels, sample_width: 2 },
            part_frames: (RATE * part_seconds.max(1)) as usize,
            buf: Vec::new(),
            position: 0,
            parts: 0,
        }
    }

    fn part_key(&self, n: u32) -> String {
        format!("{}/part-{n:06}.wav", self.parts_prefix)
    }

    /// Takes samples at `offset` on the timeline; writes a part when one is full. On a storage error the
    /// audio stays buffered and is written with the next part.
    pub async fn push(&mut self, offset: u64, channels: &[Vec<i16>]) -> Result<(), StoreError> {
        let width = channels.len();
        let gap = offset.saturating_sub(self.position).min(MAX_GAP_SECONDS * u64::from(RATE));
        self.buf.resize(self.buf.len() + gap as usize * width, 0);
        let frames = channels.first().map_or(0, Vec::len);
        self.buf.reserve(frames * width);
        for f in 0..frames {
            self.buf.extend(channels.iter().map(|c| c[f]));
        }
        self.position = offset.max(self.position) + frames as u64;
        if self.buf.len() >= self.part_frames * width { self.write_part().await } else { Ok(()) }
    }

    async fn write_part(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let pcm: Vec<u8> = self.buf.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.blobs.put(&self.part_key(self.parts), wav::encode(&self.format, &pcm)).await?;
        self.parts += 1;
        self.buf.clear();
        Ok(())
    }

    /// Writes the rest and joins the parts into the call's recording; returns its key. The parts are
    /// deleted only once the joined file is stored.
    pub async fn finish(mut self) -> Result<String, StoreError> {
        self.write_part().await?;
        let key = recording_key(&self.call_id);
        let mut pcm = match self.blobs.get(&key).await? {
            Some(bytes) => match wav::decode(&bytes) {
                Ok((format, pcm)) if format == self.format => pcm,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        for n in 0..self.parts {
            let bytes = self.blobs.get(&self.part_key(n)).await?.ok_or_else(|| missing(&self.part_key(n)))?;
            let (_, part) =
                wav::decode(&bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.part_key(n))))?;
            pcm.extend_from_slice(&part);
        }
        self.blobs.put(&key, wav::encode(&self.format, &pcm)).await?;
        for n in 0..self.parts {
            self.blobs.delete(&self.part_key(n)).await?;
        }
        Ok(key)
    }
}

fn missing(key: &str) -> StoreError {
    StoreError::Corrupt(format!("recording part {key} is missing"))
}
