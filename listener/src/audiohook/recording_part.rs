//! The recording part being filled: a WAV file on local disk that the session's audio is appended to as it
//! comes, so a session holds a small write buffer instead of the part (10 s of stereo audio is 320 KiB),
//! and each frame costs a copy into that buffer whatever the part's length. The file mirrors the part's
//! blob key under the recording folder (`<dir>/recordings/<call>/<session>/part-NNNNNN.wav`), so what a
//! crash leaves is found and stored as the part it was to become (see `store_local_leftovers`).
//!
//! File work runs on the blocking pool, a write buffer at a time (a few writes a second per session): a
//! disk that stalls (writeback under load) then holds up this session's worker, never the sockets of all.

use bytes::Bytes;
use futures_util::StreamExt;
use shared::audio::wav;
use shared::ports::ByteStream;
use shared::realtime::live_audio::AudioFormat;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Audio gathered in memory before one write to the file: about a quarter of a second of stereo audio.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;
/// Piece of a part read at a time while it is streamed to the blob store.
const STREAM_PIECE_BYTES: usize = 64 * 1024;

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(io::Error::other(e)))
}

pub(super) struct PartFile {
    path: Arc<PathBuf>,
    file: Arc<File>,
    /// Audio not yet written to the file.
    buf: Vec<u8>,
    format: AudioFormat,
    /// PCM bytes appended so far (written or buffered).
    data: u64,
}

impl PartFile {
    /// Creates the file at `path` (and its folders), holding a header for no audio yet.
    pub async fn create(path: PathBuf, format: AudioFormat) -> io::Result<Self> {
        let path = Arc::new(path);
        let at = path.clone();
        let file = blocking(move || {
            let dir = at.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            // Another session of the call ending may remove the call's folder in between: create it again.
            let mut file =
                File::create(&*at).or_else(|_| std::fs::create_dir_all(dir).and_then(|()| File::create(&*at)))?;
            file.write_all(&wav::pcm16_header(&format, 0))?;
            Ok(file)
        })
        .await?;
        Ok(Self { path, file: Arc::new(file), buf: Vec::with_capacity(WRITE_BUFFER_BYTES), format, data: 0 })
    }

    /// PCM bytes in the part so far.
    pub fn data_bytes(&self) -> u64 {
        self.data
    }

    /// Appends `bytes` of silence (a gap on the session timeline).
    pub async fn silence(&mut self, bytes: u64) -> io::Result<()> {
        let mut left = bytes;
        while left > 0 {
            if self.buf.len() >= WRITE_BUFFER_BYTES {
                self.write_buffer().await?;
            }
            let n = left.min((WRITE_BUFFER_BYTES - self.buf.len()) as u64);
            self.buf.resize(self.buf.len() + n as usize, 0);
            left -= n;
        }
        self.data += bytes;
        Ok(())
    }

    /// Appends interleaved samples as s16le. The buffer is written first when they would not fit, so it
    /// never grows past its size.
    pub async fn samples(&mut self, samples: &[i16]) -> io::Result<()> {
        for piece in samples.chunks(WRITE_BUFFER_BYTES / 2) {
            if self.buf.len() + piece.len() * 2 > WRITE_BUFFER_BYTES {
                self.write_buffer().await?;
            }
            piece.iter().for_each(|s| self.buf.extend_from_slice(&s.to_le_bytes()));
        }
        self.data += samples.len() as u64 * 2;
        Ok(())
    }

    /// Writes the buffer to the end of the file; the buffer comes back empty for reuse.
    async fn write_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let (file, mut buf) = (self.file.clone(), std::mem::take(&mut self.buf));
        self.buf = blocking(move || {
            (&*file).write_all(&buf)?;
            buf.clear();
            Ok(buf)
        })
        .await?;
        Ok(())
    }

    /// Writes out what is buffered and the header for the audio so far: the file is then a whole WAV,
    /// ready to stream; appending may go on after it (a store that failed keeps the part growing).
    pub async fn complete(&mut self) -> io::Result<()> {
        self.write_buffer().await?;
        let header = wav::pcm16_header(&self.format, usize::try_from(self.data).unwrap_or(usize::MAX));
        let file = self.file.clone();
        blocking(move || {
            let mut file = &*file;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&header)?;
            file.seek(SeekFrom::End(0)).map(|_| ())
        })
        .await
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as pieces, for `BlobStore::put_stream`: a part is never read whole into memory.
    pub fn read_stream(&self) -> ByteStream<'static> {
        let path = self.path.clone();
        let pieces = futures_util::stream::try_unfold((path, 0u64), |(path, at)| async move {
            let at_path = path.clone();
            let piece = blocking(move || {
                let mut file = File::open(&*at_path)?;
                file.seek(SeekFrom::Start(at))?;
                let mut piece = Vec::with_capacity(STREAM_PIECE_BYTES);
                file.take(STREAM_PIECE_BYTES as u64).read_to_end(&mut piece)?;
                Ok(piece)
            })
            .await?;
            let next = at + piece.len() as u64;
            Ok((!piece.is_empty()).then(|| (Bytes::from(piece), (path, next))))
        });
        pieces.boxed()
    }

    /// Deletes the file: its audio is stored.
    pub async fn remove(self) -> io::Result<()> {
        let path = self.path.clone();
        drop(self.file);
        blocking(move || std::fs::remove_file(&*path)).await
    }
}

/// Removes the folders of `part` (a part file's path) up to `root` that are empty, so finished sessions and
/// calls leave nothing behind; a folder still in use is not empty and stays.
pub(super) fn remove_empty_folders(root: &Path, part: &Path) {
    for dir in part.ancestors().skip(1).take_while(|d| d.starts_with(root) && *d != root) {
        if std::fs::remove_dir(dir).is_err() {
            return;
        }
    }
}
