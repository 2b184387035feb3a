//! Audio queued between a session's socket reader and its worker, counted in samples per channel against a
//! limit, so the reader can refuse audio without waiting on the worker (see `pipeline.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

pub(super) struct Backlog {
    queued: AtomicU64,
    limit: u64,
}

impl Backlog {
    pub(super) fn new(limit: u64) -> Self {
        Self { queued: AtomicU64::new(0), limit }
    }

    /// Counts `n` samples in if they fit.
    pub(super) fn admit(&self, n: u64) -> bool {
        let fits = |q: u64| q.checked_add(n).filter(|t| *t <= self.limit);
        self.queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, fits).is_ok()
    }

    pub(super) fn taken(&self, n: u64) {
        let _ = self.queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| Some(q.saturating_sub(n)));
    }
}
