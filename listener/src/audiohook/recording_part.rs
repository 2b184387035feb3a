//! The recording part being filled: a WAV file on local disk that the session's audio is appended to as it
//! comes, so a session holds a small write buffer instead of the part (10 s of stereo audio is 320 KiB),
//! and each frame costs a copy into that buffer whatever the part's length. The file mirrors the part's
//! blob key under the recording folder (`<dir>/recordings/<call>/<session>/part-NNNNNN.wav`), so what a
//! crash leaves is found and stored as the part it was to become (see `store_local_leftovers`).
//!
//! A full write buffer goes to the writer thread (`recording_writer.rs`), which writes it at its place in
//! the file; opening the file, making it the next part's once a part is stored, reading it back and
//! deleting it (a few times a minute) run on the blocking pool. A gap of silence of a buffer or more is not
//! written at all: it is left as a hole in the file, which reads as zeros (silence in s16le), so a long
//! hold costs no disk writes. A disk that stalls (writeback under load) holds up session workers once the
//! writer's queue is full, never the sockets.

use super::writer::{DiskWriter, Part};
use bytes::Bytes;
use futures_util::StreamExt;
use shared::audio::wav;
use shared::ports::ByteStream;
use shared::realtime::live_audio::AudioFormat;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Audio gathered in memory before one write to the file: about a quarter of a second of stereo audio.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;
/// Piece of a part read at a time while it is streamed to the blob store: a default part (10 s of stereo
/// audio, 320 KiB) goes in one piece, since each piece is a hop to the blocking pool here and in the store.
/// Held only while the part is stored (a few milliseconds every part's length).
const STREAM_PIECE_BYTES: u64 = 512 * 1024;

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(io::Error::other(e)))
}

pub(super) struct PartFile {
    path: Arc<PathBuf>,
    part: Arc<Part>,
    writer: Arc<DiskWriter>,
    /// Audio not yet handed to the writer; it starts `written` bytes into the PCM.
    buf: Vec<u8>,
    format: AudioFormat,
    /// PCM bytes appended so far (handed to the writer, left as a hole, or buffered).
    data: u64,
    /// PCM bytes handed to the writer or left as a hole.
    written: u64,
    /// Bytes of the WAV header, before the PCM.
    header_bytes: u64,
}

impl PartFile {
    /// Creates the file at `path` (and its folders), holding a header for no audio yet.
    pub async fn create(path: PathBuf, format: AudioFormat, writer: Arc<DiskWriter>) -> io::Result<Self> {
        let path = Arc::new(path);
        let at = path.clone();
        let header_bytes = wav::pcm16_header(&format, 0).len() as u64;
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
        let buf = Vec::with_capacity(WRITE_BUFFER_BYTES);
        Ok(Self { path, part: Part::new(file), writer, buf, format, data: 0, written: 0, header_bytes })
    }

    /// PCM bytes in the part so far.
    pub fn data_bytes(&self) -> u64 {
        self.data
    }

    /// Appends `bytes` of silence (a gap on the session timeline): a hole in the file when it is a buffer
    /// or longer.
    pub async fn silence(&mut self, bytes: u64) -> io::Result<()> {
        if bytes >= WRITE_BUFFER_BYTES as u64 {
            self.write_buffer().await?;
            self.data += bytes;
            self.written = self.data;
            return Ok(());
        }
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

    /// Hands the buffer to the writer thread, to be written at its place; a fresh one is filled next.
    async fn write_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::replace(&mut self.buf, self.writer.buffer(WRITE_BUFFER_BYTES));
        let at = self.header_bytes + self.written;
        self.written += buf.len() as u64;
        self.writer.write(&self.part, at, buf).await
    }

    /// Writes out what is buffered and the header for the audio so far: once it returns, the file is a
    /// whole WAV, ready to stream; appending may go on after it (a store that failed keeps the part
    /// growing). Fails if any write since the last completion failed.
    pub async fn complete(&mut self) -> io::Result<()> {
        self.write_buffer().await?;
        let header = wav::pcm16_header(&self.format, usize::try_from(self.data).unwrap_or(usize::MAX));
        self.writer.complete(&self.part, header, self.header_bytes + self.data).await
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as pieces, for `BlobStore::put_stream`: a part is never read whole into memory.
    pub fn read_stream(&self) -> ByteStream<'static> {
        // `None` once a piece came back short: the end of the file, found without reading it again.
        let start = (self.path.clone(), Some(0u64));
        let pieces = futures_util::stream::try_unfold(start, |(path, at)| async move {
            let Some(at) = at else { return Ok(None) };
            let at_path = path.clone();
            let piece = blocking(move || {
                let mut file = File::open(&*at_path)?;
                file.seek(SeekFrom::Start(at))?;
                let size = file.metadata()?.len().saturating_sub(at).min(STREAM_PIECE_BYTES);
                let mut piece = Vec::with_capacity(size as usize);
                file.take(size).read_to_end(&mut piece)?;
                Ok(piece)
            })
            .await?;
            let next = (piece.len() as u64 == STREAM_PIECE_BYTES).then_some(at + STREAM_PIECE_BYTES);
            Ok((!piece.is_empty()).then(|| (Bytes::from(piece), (path, next))))
        });
        pieces.boxed()
    }

    /// Makes the file the part at `path`, holding no audio yet: its audio is stored. Cheaper than deleting
    /// it and creating the next one, since a new file costs the file system an inode (a tenth of the
    /// listener's CPU, on ext4, when every part was a new file). Cut before it is renamed, so a crash in
    /// between leaves an empty part, never this part's audio under the next part's name.
    pub async fn reuse(&mut self, path: PathBuf) -> io::Result<()> {
        let (from, to, part) = (self.path.clone(), Arc::new(path), self.part.clone());
        let header = wav::pcm16_header(&self.format, 0);
        let renamed = to.clone();
        blocking(move || {
            part.file().set_len(0)?;
            part.file().write_all_at(&header, 0)?;
            std::fs::rename(&*from, &*renamed)
        })
        .await?;
        self.path = to;
        (self.data, self.written) = (0, 0);
        self.buf.clear();
        Ok(())
    }

    /// Deletes the file: its audio is stored.
    pub async fn remove(self) -> io::Result<()> {
        let path = self.path.clone();
        drop(self.part);
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
