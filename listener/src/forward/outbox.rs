//! One stream's payloads in order: in memory up to a limit, then appended to a spool file (JSON lines)
//! until the backlog is delivered. The spool is shared by every stream under one byte budget, so an
//! outage fills the disk only as far as configured; what a crash leaves behind is replayed at start.

use super::Outgoing;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("spool is full ({0} bytes)")]
    Full(u64),
    #[error("spool file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Bytes on disk across every stream, against the configured maximum.
#[derive(Debug)]
pub struct SpoolBudget {
    pub dir: PathBuf,
    pub max_bytes: u64,
    used: AtomicU64,
}

impl SpoolBudget {
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self { dir, max_bytes, used: AtomicU64::new(0) }
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn take(&self, n: u64) -> Result<(), SpoolError> {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| (u + n <= self.max_bytes).then_some(u + n))
            .map(|_| ())
            .map_err(|_| SpoolError::Full(self.max_bytes))
    }

    fn release(&self, n: u64) {
        let _ = self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| Some(u.saturating_sub(n)));
    }
}

/// The on-disk part of a stream's backlog: appended at the end, read from the front.
struct SpoolFile {
    path: PathBuf,
    writer: File,
    reader: BufReader<File>,
    /// The next payload, read but not yet delivered, with its size on disk.
    head: Option<(Arc<Outgoing>, u64)>,
}

impl SpoolFile {
    fn open(path: PathBuf) -> Result<Self, SpoolError> {
        let io = |source| SpoolError::Io { path: path.clone(), source };
        let writer = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        let reader = BufReader::new(File::open(&path).map_err(io)?);
        Ok(Self { path, writer, reader, head: None })
    }

    fn append(&mut self, line: &[u8]) -> Result<(), SpoolError> {
        self.writer.write_all(line).map_err(|source| SpoolError::Io { path: self.path.clone(), source })
    }

    /// Reads the next line into `head`; `false` at the end of the file. A line that does not parse (a
    /// disk fault; a crash can only cut the last line short) is skipped and reported in `skipped`.
    fn fill(&mut self, budget: &SpoolBudget, skipped: &mut u64) -> Result<bool, SpoolError> {
        while self.head.is_none() {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|source| SpoolError::Io { path: self.path.clone(), source })?;
            if n == 0 || !line.ends_with('\n') {
                return Ok(false);
            }
            match serde_json::from_str(&line) {
                Ok(item) => self.head = Some((Arc::new(item), n as u64)),
                Err(e) => {
                    tracing::error!(path = %self.path.display(), error = %e, "skipping an unreadable spool line");
                    budget.release(n as u64);
                    *skipped += 1;
                }
            }
        }
        Ok(true)
    }
}

/// A stream's backlog. Order is kept: once anything is on disk, new payloads go to disk behind it.
pub struct Outbox {
    name: String,
    /// Shared with the delivery in flight, so sending never copies a payload.
    memory: VecDeque<(Arc<Outgoing>, usize)>,
    memory_bytes: usize,
    memory_limit: usize,
    spool: Option<SpoolFile>,
    budget: Arc<SpoolBudget>,
    /// Unreadable spool lines skipped so far.
    pub skipped: u64,
}

/// What a payload holds in memory, near enough: its audio (as bytes, or base64 from a spool line) and room
/// for the rest of the body.
fn size_of(item: &Outgoing) -> usize {
    let b64 = item.body.get("audio_b64").and_then(serde_json::Value::as_str).map_or(0, str::len);
    b64 + item.audio.as_ref().map_or(0, Vec::len) + 512
}

impl Outbox {
    /// `name` must be safe as a file name (a session UUID); `memory_limit` bytes are kept in memory.
    pub fn new(name: &str, memory_limit: usize, budget: Arc<SpoolBudget>) -> Self {
        Self {
            name: name.into(),
            memory: VecDeque::new(),
            memory_bytes: 0,
            memory_limit,
            spool: None,
            budget,
            skipped: 0,
        }
    }

    /// A backlog a previous process left in `path`, delivered from its first line.
    pub fn resume(path: &Path, budget: Arc<SpoolBudget>) -> Result<Self, SpoolError> {
        let size = std::fs::metadata(path).map_err(|source| SpoolError::Io { path: path.into(), source })?.len();
        budget.used.fetch_add(size, Ordering::Relaxed);
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let mut outbox = Self::new(&name, 0, budget);
        outbox.spool = Some(SpoolFile::open(path.to_path_buf())?);
        Ok(outbox)
    }

    pub fn push(&mut self, item: Outgoing) -> Result<(), SpoolError> {
        let size = size_of(&item);
        if self.spool.is_none() && self.memory_bytes + size <= self.memory_limit {
            self.memory_bytes += size;
            self.memory.push_back((Arc::new(item), size));
            return Ok(());
        }
        self.spool_item(&item)
    }

    fn spool_item(&mut self, item: &Outgoing) -> Result<(), SpoolError> {
        let mut line = serde_json::to_vec(item).expect("a JSON map always serialises");
        line.push(b'\n');
        self.budget.take(line.len() as u64)?;
        if self.spool.is_none() {
            std::fs::create_dir_all(&self.budget.dir)
                .map_err(|source| SpoolError::Io { path: self.budget.dir.clone(), source })?;
            self.spool = Some(SpoolFile::open(self.budget.dir.join(format!("{}.jsonl", self.name)))?);
        }
        let written = self.spool.as_mut().map_or(Ok(()), |s| s.append(&line));
        if written.is_err() {
            self.budget.release(line.len() as u64);
        }
        written
    }

    /// The oldest undelivered payload.
    pub fn front(&mut self) -> Result<Option<Arc<Outgoing>>, SpoolError> {
        if let Some((item, _)) = self.memory.front() {
            return Ok(Some(item.clone()));
        }
        let Some(spool) = self.spool.as_mut() else { return Ok(None) };
        if !spool.fill(&self.budget, &mut self.skipped)? {
            // Fully delivered: back to memory.
            let _ = std::fs::remove_file(&spool.path);
            self.spool = None;
            return Ok(None);
        }
        Ok(self.spool.as_ref().and_then(|s| s.head.as_ref()).map(|(i, _)| i.clone()))
    }

    /// The front payload was delivered (or given up on).
    pub fn pop_front(&mut self) {
        if let Some((_, size)) = self.memory.pop_front() {
            self.memory_bytes -= size;
        } else if let Some((_, size)) = self.spool.as_mut().and_then(|s| s.head.take()) {
            self.budget.release(size);
        }
    }

    /// Moves what is in memory to the spool so it survives the process (at shutdown, with the ingest down).
    /// The spool must hold the oldest first, so a new file is written beside it (memory, then the spooled
    /// lines not yet delivered), synced and renamed over it: until the rename the old file is untouched, so a
    /// full budget, an I/O error or a kill midway loses nothing that was already on disk.
    pub fn persist(&mut self) -> Result<(), SpoolError> {
        if self.memory.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for (item, _) in &self.memory {
            lines.extend(serde_json::to_vec(item.as_ref()).expect("a JSON map always serialises"));
            lines.push(b'\n');
        }
        self.budget.take(lines.len() as u64)?;
        let path = self.budget.dir.join(format!("{}.jsonl", self.name));
        let replaced = self.replace_spool(&path, &lines);
        if replaced.is_err() {
            self.budget.release(lines.len() as u64);
            return replaced;
        }
        self.memory.clear();
        self.memory_bytes = 0;
        self.spool = Some(SpoolFile::open(path)?);
        Ok(())
    }

    /// Writes `first` then the undelivered rest of the spool to `<path>.new`, syncs it and renames it over
    /// `path`. On an error the spool is as it was.
    fn replace_spool(&mut self, path: &Path, first: &[u8]) -> Result<(), SpoolError> {
        let new = path.with_extension("jsonl.new");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { path, source }
        };
        std::fs::create_dir_all(&self.budget.dir).map_err(io(&self.budget.dir))?;
        let written = (|| {
            let mut out = File::create(&new)?;
            out.write_all(first)?;
            if let Some(spool) = self.spool.as_mut() {
                // From the head (read but not delivered), or from where reading stopped.
                let head = spool.head.as_ref().map_or(0, |(_, n)| *n);
                let mut rest = File::open(&spool.path)?;
                rest.seek(SeekFrom::Start(spool.reader.stream_position()? - head))?;
                std::io::copy(&mut rest, &mut out)?;
            }
            out.sync_all()?;
            std::fs::rename(&new, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&new);
        }
        written.map_err(io(path))?;
        // Makes the rename itself durable; the file is in place either way, so a failure here is not one.
        let _ = File::open(&self.budget.dir).and_then(|d| d.sync_all());
        Ok(())
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
