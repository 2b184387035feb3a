//! Blob store on a local folder. Keys map to relative paths; every segment is validated so a key can
//! never leave the root. Writes go through a temporary file beside the blob and a rename, so readers never
//! see half a blob, and a write that fails or is abandoned removes its temporary file. Conditional writes
//! are checked under a lock of this store: the folder serves one process. Live audio is appended to a file
//! per call segment instead (`append`, read back by range), and not renamed: an append never changes what
//! an offset already handed out points to.

use crate::ports::{BlobStore, BlobVersion, ByteStream, StoreError, StreamPutError};
use async_trait::async_trait;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct FolderBlobStore {
    root: PathBuf,
    /// Held from checking a conditional write's version to its rename.
    conditional: tokio::sync::Mutex<()>,
    /// Files kept open for [`BlobStore::append`], by path: opening a call's segment by its path for every
    /// chunk was 5% of the server's CPU at 200 AudioHook sessions. Each file's lock is held from its write to
    /// reading the offset back. Any other write or delete of a path closes it first (an open handle would
    /// write to a replaced or deleted file); past [`OPEN_APPENDS`] all are closed.
    appending: std::sync::Mutex<HashMap<PathBuf, Arc<std::sync::Mutex<File>>>>,
}

/// Most files kept open for appending: one per live call, well inside the usual 1,024 descriptors a process
/// may hold beside its sockets.
const OPEN_APPENDS: usize = 512;

fn io_err(e: std::io::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@' | '+'))
}

/// A write's temporary file, removed when dropped unless it was renamed into place: a write that fails, or
/// whose future is dropped (a client that disconnects mid-upload), leaves nothing behind.
struct TempFile {
    path: PathBuf,
    placed: bool,
}

impl TempFile {
    /// A fresh name beside `path`, with its folder created.
    async fn beside(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_err)?;
        }
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { path: path.with_extension(format!("tmp{}", u64::from_le_bytes(nonce))), placed: false })
    }

    /// `bytes` written to a fresh temporary file beside `path`, not yet in place.
    async fn written(path: &Path, bytes: Vec<u8>) -> Result<Self, StoreError> {
        let tmp = Self::beside(path).await?;
        tokio::fs::write(&tmp.path, bytes).await.map_err(io_err)?;
        Ok(tmp)
    }

    async fn rename_to(mut self, path: &Path) -> Result<(), StoreError> {
        tokio::fs::rename(&self.path, path).await.map_err(io_err)?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl FolderBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), conditional: Default::default(), appending: Default::default() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        if key.len() > 1024 || !key.split('/').all(safe_segment) {
            return Err(StoreError::Backend(format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    /// The path of `key` for a write or delete, its append handle closed first.
    fn path_to_change(&self, key: &str) -> Result<PathBuf, StoreError> {
        let path = self.path(key)?;
        self.appending.lock().unwrap_or_else(|p| p.into_inner()).remove(&path);
        Ok(path)
    }

    /// The open handle for appending to `path`, opened (and its folder made) if need be.
    fn appender(&self, path: &Path) -> Result<Arc<std::sync::Mutex<File>>, StoreError> {
        let mut open = self.appending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = open.get(path) {
            return Ok(file.clone());
        }
        let create = || std::fs::OpenOptions::new().append(true).create(true).open(path);
        let file = match create() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(io_err)?;
                create()
            }
            opened => opened,
        }
        .map_err(io_err)?;
        if open.len() >= OPEN_APPENDS {
            open.clear();
        }
        let file = Arc::new(std::sync::Mutex::new(file));
        open.insert(path.to_path_buf(), file.clone());
        Ok(file)
    }
}

/// `work` on the blocking pool. A streamed write goes through it with `std::fs` rather than tokio's `File`,
/// which copies every piece into a buffer of its own before writing it: a second copy of each AudioHook
/// recording part (512 KiB pieces) while it is stored, 31 of the 181 MB heap peak at 200 sessions.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Backend(e.to_string()))?.map_err(io_err)
}

/// A file's version: every write renames a new file in, so its inode changes with each write, and size
/// and modification time with nearly every one.
async fn version(path: &Path) -> Result<Option<BlobVersion>, StoreError> {
    use std::os::unix::fs::MetadataExt;
    match tokio::fs::metadata(path).await {
        Ok(m) => Ok(Some(BlobVersion(format!("{}-{}-{}.{}", m.ino(), m.len(), m.mtime(), m.mtime_nsec())))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(e)),
    }
}

#[async_trait]
impl BlobStore for FolderBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let path = self.path_to_change(key)?;
        TempFile::written(&path, bytes).await?.rename_to(&path).await
    }

    /// Reads the version before and after the bytes and retries if a write landed in between.
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, StoreError> {
        let path = self.path(key)?;
        loop {
            let Some(before) = version(&path).await? else { return Ok(None) };
            let Some(bytes) = self.get(key).await? else { continue };
            if version(&path).await?.as_ref() == Some(&before) {
                return Ok(Some((bytes, before)));
            }
        }
    }

    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&BlobVersion>) -> Result<bool, StoreError> {
        let path = self.path_to_change(key)?;
        let tmp = TempFile::written(&path, bytes).await?;
        let _checking = self.conditional.lock().await;
        if version(&path).await?.as_ref() != expected {
            return Ok(false);
        }
        tmp.rename_to(&path).await?;
        Ok(true)
    }

    /// Writes the stream to a temporary file chunk by chunk, syncs it to disk (a streamed upload is the only
    /// copy of the file, and its call is recorded once this returns) and renames it into place.
    async fn put_stream(&self, key: &str, mut body: ByteStream<'_>) -> Result<u64, StreamPutError> {
        let path = self.path_to_change(key)?;
        let tmp = TempFile::beside(&path).await?;
        let mut file = tokio::fs::File::create(&tmp.path).await.map_err(io_err)?.into_std().await;
        let mut len = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(StreamPutError::Stream)?;
            len += chunk.len() as u64;
            file = blocking(move || {
                use std::io::Write;
                file.write_all(&chunk).map(|()| file)
            })
            .await?;
        }
        blocking(move || file.sync_all()).await?;
        tmp.rename_to(&path).await?;
        Ok(len)
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let (from, to) = (self.path_to_change(from)?, self.path_to_change(to)?);
        if let Some(dir) = to.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_err)?;
        }
        tokio::fs::rename(from, to).await.map_err(io_err)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(e)),
        }
    }

    fn appends(&self) -> bool {
        true
    }

    /// Writes to the file's open handle and reads the offset back from its position, which with `O_APPEND`
    /// is the end of this write whatever else appended before it. Run on the caller's thread, as the SQLite point reads are: a few kilobytes into the page
    /// cache take microseconds, less than a trip through the blocking pool and back (two thread wake-ups).
    /// Not synced, like [`Self::put`]: a process crash keeps what the kernel has, and
    /// the entry that points here is committed only after this returns.
    async fn append(&self, key: &str, bytes: &[u8]) -> Result<u64, StoreError> {
        use std::io::{Seek, Write};
        let file = self.appender(&self.path(key)?)?;
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(bytes).map_err(io_err)?;
        Ok(file.stream_position().map_err(io_err)? - bytes.len() as u64)
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        let read = move || -> std::io::Result<Option<Vec<u8>>> {
            use std::os::unix::fs::FileExt;
            let file = match std::fs::File::open(&path) {
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                opened => opened?,
            };
            let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
            match file.read_exact_at(&mut buf, offset) {
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(None),
                read => read.map(|()| Some(buf)),
            }
        };
        blocking(read).await
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path_to_change(key)?).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_err(e)),
            _ => Ok(()),
        }
    }

    /// Walks the folder of `prefix`; a write under way (its temporary file) may be listed too.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut folders = vec![self.path(prefix.trim_end_matches('/'))?];
        while let Some(folder) = folders.pop() {
            let mut entries = match tokio::fs::read_dir(&folder).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(io_err)? {
                let path = entry.path();
                if entry.file_type().await.map_err(io_err)?.is_dir() {
                    folders.push(path);
                } else if let Ok(relative) = path.strip_prefix(&self.root) {
                    let segments: Vec<_> = relative.iter().map(|s| s.to_string_lossy()).collect();
                    keys.push(segments.join("/"));
                }
            }
        }
        Ok(keys)
    }
}
