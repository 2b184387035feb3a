//! Blob store on a local folder. Keys map to relative paths; every segment is validated so a key can
//! never leave the root. Writes go through a temporary file and a rename, so readers never see half a blob.
//! Conditional writes are checked under a lock of this store: the folder serves one process.

use crate::ports::{BlobStore, BlobVersion, StoreError};
use async_trait::async_trait;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub struct FolderBlobStore {
    root: PathBuf,
    /// Held from checking a conditional write's version to its rename.
    conditional: tokio::sync::Mutex<()>,
}

fn io_err(e: std::io::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@' | '+'))
}

impl FolderBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), conditional: Default::default() }
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

    /// Writes `bytes` beside `key`'s file under a temporary name; returns the final and temporary paths.
    async fn write_beside(&self, key: &str, bytes: Vec<u8>) -> Result<(PathBuf, PathBuf), StoreError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_err)?;
        }
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Backend(e.to_string()))?;
        let tmp = path.with_extension(format!("tmp{}", u64::from_le_bytes(nonce)));
        tokio::fs::write(&tmp, bytes).await.map_err(io_err)?;
        Ok((path, tmp))
    }
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
        let (path, tmp) = self.write_beside(key, bytes).await?;
        tokio::fs::rename(&tmp, &path).await.map_err(io_err)
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
        let (path, tmp) = self.write_beside(key, bytes).await?;
        let _checking = self.conditional.lock().await;
        if version(&path).await?.as_ref() != expected {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Ok(false);
        }
        tokio::fs::rename(&tmp, &path).await.map_err(io_err)?;
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(key)?).await {
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
