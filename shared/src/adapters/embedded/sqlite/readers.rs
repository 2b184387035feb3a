//! Read-only connections for the reads: in WAL mode readers see the last commit and neither wait for the
//! writer nor hold it up, so a snapshot or a call list is never queued behind a transaction being written.

use super::db_err;
use crate::ports::StoreError;
use rusqlite::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

/// Read connections: a few more than the cores, so a read that waits on the disk does not stall the others.
const READERS: usize = 4;

pub struct Readers {
    conns: Vec<Arc<Mutex<Connection>>>,
    next: AtomicUsize,
}

impl Readers {
    /// Opens the read connections; `open` sets each up as the writer's is (the schema must exist by now).
    pub fn open(open: impl Fn() -> Result<Connection, StoreError>) -> Result<Self, StoreError> {
        let conns = (0..READERS)
            .map(|_| {
                let conn = open()?;
                // A write slipped into a read fails loudly instead of bypassing the writer.
                conn.pragma_update(None, "query_only", true).map_err(db_err)?;
                Ok(Arc::new(Mutex::new(conn)))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Self { conns, next: AtomicUsize::new(0) })
    }

    /// Runs a point read (one call's rows, by key, bounded) on the caller's thread when a connection is free:
    /// such a read takes microseconds, less than handing it to the blocking pool and waking the caller again,
    /// which under ingest load was most of what a read cost. With every connection busy, as `read`.
    pub async fn read_now<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.conns.len() {
            match self.conns[(start + i) % self.conns.len()].try_lock() {
                Ok(guard) => return f(&guard),
                Err(TryLockError::Poisoned(p)) => return f(&p.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.read(f).await
    }

    /// Runs `f` with the next read connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conns[self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len()].clone();
        tokio::task::spawn_blocking(move || {
            // A read that panicked left nothing half-done on a read-only connection.
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite task failed: {e}")))?
    }
}
