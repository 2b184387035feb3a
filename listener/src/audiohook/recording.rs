//! Recording a session to blob storage as it goes: the audio is appended to a local WAV file (see
//! `recording_part.rs`) and stored as a part of a few seconds when the part is full
//! (`recordings/<call>/<session>/part-NNNNNN.wav`, each playable on its own), and at the end the parts are
//! joined into `recordings/<call>.wav`, after what earlier sessions of the same call recorded (see
//! `recording_join.rs`). Gaps on the session timeline (discarded audio) are kept as silence. A process
//! crash leaves the part being filled on local disk, stored at the next start; losing the disk too (a
//! replaced container) loses at most one part.

#[path = "recording_join.rs"]
mod join;
#[path = "recording_part.rs"]
mod part;
#[path = "recording_writer.rs"]
mod writer;

use super::media::{Frames, RATE};
use join::{Storage, parse_part_key, part_key};
pub use join::{recording_key, session_recording_key};
use part::PartFile;
use shared::audio::wav;
use shared::ports::{BlobStore, StoreError, StreamPutError};
use shared::realtime::live_audio::AudioFormat;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
pub use writer::DiskWriter;

/// Longest timeline gap filled with silence; a longer jump is recorded as this much silence.
const MAX_GAP_SECONDS: u64 = 600;
/// While storage fails, the part being filled grows on local disk up to this many parts; beyond, audio is
/// left out of the recording (the gap becomes silence once storage is back) and storage is retried every
/// `RETRY_EVERY`.
const MAX_BUFFERED_PARTS: u64 = 6;
const RETRY_EVERY: Duration = Duration::from_secs(5);

pub struct Recorder {
    /// Each storage call is limited in time: a store that hangs must not stall the session's worker (its
    /// queue would fill and audio be dropped) nor its end.
    storage: Storage,
    /// Local folder of the parts being filled.
    dir: PathBuf,
    /// Writes the parts' audio, for every session of the process.
    writer: Arc<DiskWriter>,
    call_id: String,
    session_id: String,
    format: AudioFormat,
    /// PCM bytes in a full part.
    part_bytes: u64,
    /// The part being filled; opened with its first audio.
    file: Option<PartFile>,
    /// Timeline position just after the last sample taken.
    position: u64,
    parts: u32,
    /// When a part last failed to store.
    failed_at: Option<std::time::Instant>,
}

fn local_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("recording part {}: {e}", path.display()))
}

impl Recorder {
    /// `call_id` and `session_id` must already be safe key segments (validated upstream); parts being
    /// filled live under `dir`, written by `writer`; `timeout` limits each storage call.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        (dir, writer): (&Path, &Arc<DiskWriter>),
        call_id: &str,
        session_id: &str,
        channels: u16,
        part_seconds: u32,
        timeout: Duration,
    ) -> Self {
        let format = AudioFormat { sample_rate: RATE, channels, sample_width: 2 };
        Self {
            storage: Storage { blobs, timeout },
            dir: dir.to_path_buf(),
            writer: writer.clone(),
            call_id: call_id.into(),
            session_id: session_id.into(),
            part_bytes: u64::from(RATE * part_seconds.max(1)) * u64::from(format.frame_bytes() as u32),
            format,
            file: None,
            position: 0,
            parts: 0,
            failed_at: None,
        }
    }

    /// A part failed to store a moment ago: keep filling it rather than wait on storage again.
    fn resting(&self) -> bool {
        self.failed_at.is_some_and(|t| t.elapsed() < RETRY_EVERY)
    }

    fn filled(&self) -> u64 {
        self.file.as_ref().map_or(0, PartFile::data_bytes)
    }

    /// Takes samples at `offset` on the timeline; stores the part when it is full. On a storage error the
    /// part stays on disk (bounded, see `MAX_BUFFERED_PARTS`) and is stored with the next attempt.
    pub async fn push(&mut self, offset: u64, frames: &Frames) -> Result<(), StoreError> {
        if self.filled() >= MAX_BUFFERED_PARTS * self.part_bytes {
            if self.resting() {
                return Ok(());
            }
            self.write_part().await?;
        }
        let frame_bytes = self.format.frame_bytes() as u64;
        let gap = offset.saturating_sub(self.position).min(MAX_GAP_SECONDS * u64::from(RATE));
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let path = self.dir.join(part_key(&self.call_id, &self.session_id, self.parts));
                let file = PartFile::create(path.clone(), self.format, self.writer.clone())
                    .await
                    .map_err(|e| local_error(&path, e))?;
                self.file.insert(file)
            }
        };
        let mut appended = file.silence(gap * frame_bytes).await;
        if appended.is_ok() {
            appended = file.samples(&frames.samples).await;
        }
        appended.map_err(|e| local_error(file.path(), e))?;
        self.position = offset.max(self.position).saturating_add(frames.len() as u64);
        let full = self.filled() >= self.part_bytes;
        if full && !self.resting() { self.write_part().await } else { Ok(()) }
    }

    /// Stores the part being filled as the next part, streamed from its file, then makes the file the next
    /// part's, empty.
    async fn write_part(&mut self) -> Result<(), StoreError> {
        let Some(file) = self.file.as_mut().filter(|f| f.data_bytes() > 0) else { return Ok(()) };
        let key = part_key(&self.call_id, &self.session_id, self.parts);
        let stored = match file.complete().await {
            Ok(()) => {
                let put = self.storage.blobs.put_stream(&key, file.read_stream());
                self.storage.call(async { put.await.map_err(stream_error) }).await
            }
            Err(e) => Err(local_error(file.path(), e)),
        };
        self.failed_at = stored.is_err().then(std::time::Instant::now);
        stored?;
        self.parts += 1;
        let next = self.dir.join(part_key(&self.call_id, &self.session_id, self.parts));
        let reused = file.reuse(next).await.map_err(|e| local_error(file.path(), e));
        if reused.is_err() {
            self.file = None; // the next audio starts a new file
        }
        reused
    }

    /// Deletes the part file, empty once its audio is stored.
    async fn remove_file(&mut self) -> Result<(), StoreError> {
        let Some(file) = self.file.take() else { return Ok(()) };
        let path = file.path().to_path_buf();
        file.remove().await.map_err(|e| local_error(&path, e))
    }

    /// Stores the rest and joins the parts into the call's recording; returns the key written.
    /// A part left on local disk by a failure here is stored at the next start.
    pub async fn finish(mut self) -> Result<String, StoreError> {
        self.write_part().await?;
        self.remove_file().await?;
        let parts: Vec<u32> = (0..self.parts).collect();
        let last = self.dir.join(part_key(&self.call_id, &self.session_id, self.parts));
        part::remove_empty_folders(&self.dir, &last);
        self.storage.join(&self.call_id, &self.session_id, &parts, self.format).await
    }
}

fn stream_error(e: StreamPutError) -> StoreError {
    match e {
        StreamPutError::Store(e) => e,
        StreamPutError::Stream(e) => StoreError::Backend(format!("reading a recording part: {e}")),
    }
}

/// Stores the parts being filled that a crash left under `dir` as the parts they were to become, then
/// joins what sessions that never ended left behind, each into its call's recording (see
/// `recording_join.rs`); returns the keys written. `timeout` limits each storage call.
pub async fn join_leftovers(
    blobs: Arc<dyn BlobStore>,
    dir: &Path,
    timeout: Duration,
) -> Result<Vec<String>, StoreError> {
    let storage = Storage { blobs, timeout };
    store_local_leftovers(&storage, dir).await?;
    storage.join_leftovers().await
}

/// Every `<dir>/recordings/<call>/<session>/part-NNNNNN.wav` stored under its key, with its header made to
/// match the audio the file holds (a crash leaves it saying less), then deleted.
async fn store_local_leftovers(storage: &Storage, dir: &Path) -> Result<(), StoreError> {
    for path in local_parts(&dir.join("recordings")) {
        let Some(key) = path.strip_prefix(dir).ok().and_then(Path::to_str).map(str::to_string) else { continue };
        if parse_part_key(&key).is_none() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| local_error(&path, e))?;
        match wav::decode(&bytes) {
            Ok((format, pcm)) if !pcm.is_empty() => {
                storage.call(storage.blobs.put(&key, wav::encode(&format, &pcm))).await?;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "recording: a part a crash left is unreadable");
                continue;
            }
        }
        std::fs::remove_file(&path).map_err(|e| local_error(&path, e))?;
        tracing::info!(key, "recording: a part a crash left on local disk stored");
    }
    // The folders of sessions that never ended, empty now (or already, when their last part was stored).
    for folder in local_folders(&dir.join("recordings")) {
        let _ = std::fs::remove_dir(folder);
    }
    Ok(())
}

/// The paths in `dir`; none when it cannot be read (absent: nothing was left).
fn entries(dir: &Path) -> impl Iterator<Item = PathBuf> + use<> {
    std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path())
}

/// Session folders, then call folders, then `root`: deepest first, so each may be empty when removed.
fn local_folders(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = entries(root).flat_map(|call| entries(&call).chain([call])).collect();
    folders.push(root.to_path_buf());
    folders
}

/// The files two folders down `root` (`<call>/<session>/<file>`), in no set order.
fn local_parts(root: &Path) -> Vec<PathBuf> {
    entries(root).flat_map(|call| entries(&call)).flat_map(|session| entries(&session)).collect()
}

#[cfg(test)]
#[path = "recording_tests.rs"]
mod tests;
