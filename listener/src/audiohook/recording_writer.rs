//! One thread writes the recording audio of every session to the part files, so a session's write is a
//! push onto a queue instead of a hop to the blocking pool and back: with a thousand sessions those hops
//! (a thread woken per 8 KiB write, and the session's task woken again after it) were over half of the
//! listener's CPU, most of it in thread switches. The thread drains the queue every `TICK` rather than being
//! woken by each push, so its wake-ups do not grow with the sessions.
//!
//! Each write goes to its place in the file (positional, at the offset the session computed), and the
//! queue is first in, first out, so a part's completion, queued after its audio, finds all of it written.
//! The queue is bounded (`MAX_QUEUED_BYTES`): when the disk falls behind, a session's worker waits for
//! room, as it waited for its own write before; the socket reader never waits, and the session queue in
//! front of the worker absorbs the stall and drops past its bound, counted (`audio_dropped_seconds`).
//!
//! What a crash loses is what was queued: at most one `TICK` of writes beyond each session's own buffer.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// How often the thread drains the queue: the extra time audio spends in memory before the page cache.
const TICK: Duration = Duration::from_millis(20);
/// Audio bytes queued at most (about 100 ms of 5,000 stereo sessions); past half of it the thread is
/// woken at once.
const MAX_QUEUED_BYTES: usize = 16 << 20;
/// Written buffers kept for the sessions to fill again: a buffer allocated on a session's thread and freed
/// on this one at every write kept the allocator's heaps growing (half as much memory again per session).
const MAX_SPARE_BUFFERS: usize = 1024;

/// A part file as the writer sees it: the file, and the first write that failed since the part was
/// last completed (reported by [`DiskWriter::complete`], since the session does not wait for writes).
pub(super) struct Part {
    file: File,
    failed: Mutex<Option<io::Error>>,
}

impl Part {
    pub fn new(file: File) -> Arc<Self> {
        Arc::new(Self { file, failed: Mutex::new(None) })
    }

    /// The file, for work outside the writer (only while no write of it is queued).
    pub fn file(&self) -> &File {
        &self.file
    }
}

enum Job {
    Write {
        part: Arc<Part>,
        at: u64,
        bytes: Vec<u8>,
    },
    /// Writes `header` at the start and sets the file's length to `len` (silence at the end may be a hole,
    /// which reads as zeros), then answers with the outcome of the part's writes since the last completion.
    Complete {
        part: Arc<Part>,
        header: Vec<u8>,
        len: u64,
        done: oneshot::Sender<io::Result<()>>,
    },
}

impl Job {
    fn bytes(&self) -> usize {
        match self {
            Job::Write { bytes, .. } => bytes.len(),
            Job::Complete { .. } => 0,
        }
    }

    fn run(self, spare: &Mutex<Vec<Vec<u8>>>) {
        match self {
            Job::Write { part, at, mut bytes } => {
                if let Err(e) = part.file.write_all_at(&bytes, at) {
                    lock(&part.failed).get_or_insert(e);
                }
                let mut spare = lock(spare);
                if spare.len() < MAX_SPARE_BUFFERS {
                    bytes.clear();
                    spare.push(bytes);
                }
            }
            Job::Complete { part, header, len, done } => {
                let written = part.file.write_all_at(&header, 0).and_then(|()| part.file.set_len(len));
                let failed = lock(&part.failed).take();
                let _ = done.send(failed.map_or(written, Err));
            }
        }
    }
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    bytes: usize,
    /// Someone waits for an answer: drain now, not at the next tick.
    urgent: bool,
    /// The writer is dropped: drain what is left and stop.
    closed: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Signalled when a drained batch frees room.
    room: Notify,
    spare: Mutex<Vec<Vec<u8>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn stopped() -> io::Error {
    io::Error::other("the recording writer thread stopped")
}

/// The writer thread's handle. Dropping it drains the queue and ends the thread, waiting for both (at most
/// one batch of writes): whatever was queued is on disk once the last session's recorder is gone.
pub struct DiskWriter {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DiskWriter {
    pub fn start() -> io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let drained = shared.clone();
        let thread = std::thread::Builder::new().name("recording-writer".into()).spawn(move || run(&drained))?;
        Ok(Self { shared, thread: Some(thread) })
    }

    /// An empty buffer of `capacity` bytes to fill, one already written when there is one.
    pub fn buffer(&self, capacity: usize) -> Vec<u8> {
        lock(&self.shared.spare).pop().unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    /// Queues `job`, or hands it back when the queue is full (an empty queue takes any job).
    fn push(&self, job: Job, urgent: bool) -> Result<Result<(), Job>, io::Error> {
        let mut q = lock(&self.shared.queue);
        if q.closed {
            return Err(stopped());
        }
        let n = job.bytes();
        if q.bytes > 0 && q.bytes + n > MAX_QUEUED_BYTES {
            return Ok(Err(job));
        }
        q.bytes += n;
        q.jobs.push(job);
        let wake = urgent || q.bytes > MAX_QUEUED_BYTES / 2;
        q.urgent |= wake;
        drop(q);
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(Ok(()))
    }

    /// Queues `bytes` to be written at `at` in `part`, waiting only while the queue is full.
    pub(super) async fn write(&self, part: &Arc<Part>, at: u64, bytes: Vec<u8>) -> io::Result<()> {
        let mut job = Job::Write { part: part.clone(), at, bytes };
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.push(job, false)? {
                Ok(()) => return Ok(()),
                Err(back) => job = back,
            }
            room.await;
        }
    }

    /// Once every write queued for `part` is done: writes `header` at its start and makes it `len` bytes
    /// long. Fails with the first of those writes that failed.
    pub(super) async fn complete(&self, part: &Arc<Part>, header: Vec<u8>, len: u64) -> io::Result<()> {
        let (done, answer) = oneshot::channel();
        let job = Job::Complete { part: part.clone(), header, len, done };
        // An answer-bearing job carries no audio, so it always fits.
        self.push(job, true)?.map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

impl Drop for DiskWriter {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: every tick (or at once when asked), takes the queued jobs and runs them in order.
fn run(shared: &Shared) {
    let mut batch = Vec::new();
    loop {
        let mut q = lock(&shared.queue);
        if !q.urgent && !q.closed {
            q = shared.wake.wait_timeout(q, TICK).unwrap_or_else(|p| p.into_inner()).0;
        }
        q.urgent = false;
        let closed = q.closed;
        std::mem::swap(&mut q.jobs, &mut batch);
        drop(q);
        let taken: usize = batch.iter().map(Job::bytes).sum();
        if closed && batch.is_empty() {
            return;
        }
        batch.drain(..).for_each(|job| job.run(&shared.spare));
        lock(&shared.queue).bytes -= taken;
        shared.room.notify_waiters();
    }
}
