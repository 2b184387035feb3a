//! Delivering a stream's payloads in order: receive from the producer (never making it wait), keep them in
//! the stream's `Outbox`, deliver the front one at a time, back off while the ingest is unavailable. A
//! stream ends once its producer is gone and its backlog is delivered; when the process is stopping and
//! the ingest is down, the backlog is written to the spool for the next start to `recover`.

use super::{DeliveryError, ForwardStats, Ingest, Kind, Outbox, Outgoing, SpoolBudget};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Everything streams share: the target, the spool budget, counters and retry settings.
pub struct Courier {
    pub ingest: Arc<dyn Ingest>,
    pub budget: Arc<SpoolBudget>,
    pub stats: Arc<ForwardStats>,
    /// Bytes of one stream kept in memory before it spools.
    pub memory_limit: usize,
    /// First retry delay, doubled per failure (the seed's `RETRY_BACKOFF_SECONDS`).
    pub backoff: Duration,
    /// Turns true when the process is stopping.
    pub stopping: watch::Receiver<bool>,
}

impl Courier {
    /// A courier spooling under `spool_dir` (at most `spool_max_bytes`), with fresh counters.
    pub fn new(
        ingest: Arc<dyn Ingest>,
        spool_dir: std::path::PathBuf,
        spool_max_bytes: u64,
        memory_limit: usize,
        backoff: Duration,
        stopping: watch::Receiver<bool>,
    ) -> Arc<Self> {
        Arc::new(Self {
            ingest,
            budget: Arc::new(SpoolBudget::new(spool_dir, spool_max_bytes)),
            stats: Arc::default(),
            memory_limit,
            backoff,
            stopping,
        })
    }

    /// The forwarding counters for a heartbeat, and the last forwarding error.
    pub fn counters(&self) -> (serde_json::Map<String, serde_json::Value>, Option<String>) {
        let n = |c: &std::sync::atomic::AtomicU64| serde_json::Value::from(c.load(Ordering::Relaxed));
        let s = &self.stats;
        let fields = [
            ("forwarded_chunks", n(&s.forwarded_chunks)),
            ("forwarded_events", n(&s.forwarded_events)),
            ("forward_failures", n(&s.forward_failures)),
            ("rejected", n(&s.rejected)),
            ("dropped", n(&s.dropped)),
            ("spool_bytes", self.budget.used().into()),
        ];
        let last = s.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
        (fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), last)
    }

    /// Starts stream `name` (a safe file name): send payloads into the returned sender and drop it at the end.
    pub fn start(self: &Arc<Self>, name: &str) -> (mpsc::UnboundedSender<Outgoing>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Outbox::new(name, self.memory_limit, self.budget.clone());
        (tx, tokio::spawn(self.clone().run(outbox, Some(rx))))
    }

    fn keep(&self, outbox: &mut Outbox, item: Outgoing) {
        if let Err(e) = outbox.push(item) {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "forwarding: payload lost");
            self.stats.note_error(e.to_string());
        }
    }

    async fn run(self: Arc<Self>, mut outbox: Outbox, mut rx: Option<mpsc::UnboundedReceiver<Outgoing>>) {
        let mut stopping = self.stopping.clone();
        let mut failures = 0u32;
        let mut retry_at: Option<Instant> = None;
        loop {
            if let Some(r) = rx.as_mut() {
                while let Ok(item) = r.try_recv() {
                    self.keep(&mut outbox, item);
                }
            }
            let ready = retry_at.is_none_or(|t| t <= Instant::now());
            let front = if ready { self.front(&mut outbox) } else { None };
            let Some(item) = front else {
                let stop = *stopping.borrow();
                if rx.is_none() && (retry_at.is_none() || stop) {
                    return self.finish(outbox, retry_at.is_some());
                }
                let wake = retry_at.unwrap_or_else(|| Instant::now() + MAX_BACKOFF);
                tokio::select! {
                    m = recv(&mut rx) => match m {
                        Some(item) => self.keep(&mut outbox, item),
                        None => rx = None,
                    },
                    _ = tokio::time::sleep_until(wake) => retry_at = None,
                    _ = stopping.changed(), if !stop => {}
                }
                continue;
            };
            retry_at = None;
            let delivery = self.ingest.deliver(&item);
            tokio::pin!(delivery);
            let result = loop {
                tokio::select! {
                    r = &mut delivery => break r,
                    m = recv(&mut rx) => match m {
                        Some(item) => self.keep(&mut outbox, item),
                        None => rx = None,
                    },
                }
            };
            match result {
                Ok(()) => {
                    failures = 0;
                    let counter = match item.kind {
                        Kind::Audio => &self.stats.forwarded_chunks,
                        Kind::Event => &self.stats.forwarded_events,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    outbox.pop_front();
                }
                Err(DeliveryError::Rejected(why)) => {
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(kind = ?item.kind, error = %why, "forwarding: the ingest refused a payload");
                    self.stats.note_error(why);
                    outbox.pop_front();
                }
                Err(e @ DeliveryError::Unavailable(_)) => {
                    failures += 1;
                    self.stats.forward_failures.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(shared::process::metrics::names::FORWARD_RETRIES).increment(1);
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(error = %e, failures, "forwarding: ingest unavailable; keeping the backlog");
                    }
                    self.stats.note_error(e.to_string());
                    retry_at = Some(Instant::now() + crate::backoff::delay(self.backoff, failures, MAX_BACKOFF));
                }
            }
        }
    }

    fn front(&self, outbox: &mut Outbox) -> Option<Arc<Outgoing>> {
        let before = outbox.skipped;
        let front = outbox.front().unwrap_or_else(|e| {
            tracing::error!(error = %e, "forwarding: cannot read the spool");
            self.stats.note_error(e.to_string());
            None
        });
        self.stats.dropped.fetch_add(outbox.skipped - before, Ordering::Relaxed);
        front
    }

    /// The producer is gone: done, or (stopping with the ingest down) the backlog goes to disk.
    fn finish(&self, mut outbox: Outbox, undelivered: bool) {
        if undelivered && let Err(e) = outbox.persist() {
            tracing::error!(error = %e, "forwarding: could not spool the backlog at shutdown");
            self.stats.note_error(e.to_string());
        }
    }
}

async fn recv(rx: &mut Option<mpsc::UnboundedReceiver<Outgoing>>) -> Option<Outgoing> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// Resumes every backlog a previous process left in the spool folder.
pub fn recover(courier: &Arc<Courier>) -> Vec<tokio::task::JoinHandle<()>> {
    let Ok(dir) = std::fs::read_dir(&courier.budget.dir) else { return Vec::new() };
    let mut tasks = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        match Outbox::resume(&path, courier.budget.clone()) {
            Ok(outbox) => {
                tracing::info!(path = %path.display(), "forwarding: resuming a spooled backlog");
                tasks.push(tokio::spawn(courier.clone().run(outbox, None)));
            }
            Err(e) => tracing::error!(error = %e, "forwarding: cannot resume a spooled backlog"),
        }
    }
    tasks
}
