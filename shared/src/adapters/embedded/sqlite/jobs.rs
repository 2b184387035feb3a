//! The durable local job queue in the SQLite file, with SQS's semantics: a receive hides a job for its
//! visibility timeout and counts an attempt; a job not completed comes back; after `MAX_RECEIVES`
//! deliveries it is kept as a dead letter instead (the template's `maxReceiveCount`). A receipt names one
//! delivery (`<id>.<attempt>`), so a worker whose lease ran out cannot complete a job another now holds.

use super::{SqliteStore, db_err};
use crate::ports::{JobQueue, ReceivedJob, StoreError};
use async_trait::async_trait;
use rusqlite::params;
use std::time::Duration;

/// Deliveries before a job becomes a dead letter.
pub const MAX_RECEIVES: u32 = 5;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn parse_receipt(receipt: &str) -> Result<(i64, u32), StoreError> {
    receipt
        .split_once('.')
        .and_then(|(id, attempt)| Some((id.parse().ok()?, attempt.parse().ok()?)))
        .ok_or_else(|| StoreError::Backend(format!("not a job receipt: {receipt:?}")))
}

impl SqliteStore {
    /// Makes every job that is waiting out a lease or a backoff deliverable after `pause(attempts)` from
    /// now at the latest. For the one process that works this queue, at start: whatever its previous run
    /// held died with it, and the caller decides how long such a job waits.
    pub fn release_held_jobs(&self, pause: impl Fn(u32) -> Duration) -> Result<usize, StoreError> {
        // At start, before any other write: on a connection of its own, as it runs outside any runtime.
        let mut conn = super::connect(&self.path)?;
        let tx = conn.transaction().map_err(db_err)?;
        let now = now_ms();
        let held: Vec<(i64, u32)> = {
            let mut stmt =
                tx.prepare("SELECT id, attempts FROM job WHERE dead = 0 AND visible_at > ?1").map_err(db_err)?;
            let rows = stmt.query_map(params![now], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)?
        };
        for (id, attempts) in &held {
            let at = now.saturating_add(ms(pause(*attempts)));
            tx.execute("UPDATE job SET visible_at = min(visible_at, ?2) WHERE id = ?1", params![id, at])
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        if !held.is_empty() {
            tracing::info!(jobs = held.len(), "released batch jobs held by an earlier run");
        }
        Ok(held.len())
    }
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn enqueue(&self, body: &str) -> Result<(), StoreError> {
        let body = body.to_string();
        self.write(move |c| {
            let now = now_ms();
            c.execute("INSERT INTO job (body, visible_at, created_at) VALUES (?1, ?2, ?2)", params![body, now])
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<ReceivedJob>, StoreError> {
        self.write(move |c| {
            let tx = c.savepoint().map_err(db_err)?;
            let now = now_ms();
            tx.execute(
                "UPDATE job SET dead = 1 WHERE dead = 0 AND visible_at <= ?1 AND attempts >= ?2",
                params![now, MAX_RECEIVES],
            )
            .map_err(db_err)?;
            let ready: Vec<(i64, String, u32)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT id, body, attempts FROM job WHERE dead = 0 AND visible_at <= ?1 ORDER BY id LIMIT ?2",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map(params![now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(db_err)?;
                rows.collect::<Result<_, _>>().map_err(db_err)?
            };
            let hidden_until = now.saturating_add(ms(visibility));
            let mut jobs = Vec::with_capacity(ready.len());
            for (id, body, attempts) in ready {
                tx.execute(
                    "UPDATE job SET attempts = ?2, visible_at = ?3 WHERE id = ?1",
                    params![id, attempts + 1, hidden_until],
                )
                .map_err(db_err)?;
                jobs.push(ReceivedJob { receipt: format!("{id}.{}", attempts + 1), body, attempts: attempts + 1 });
            }
            tx.commit().map_err(db_err)?;
            Ok(jobs)
        })
        .await
    }

    async fn complete(&self, receipt: &str) -> Result<(), StoreError> {
        let (id, attempt) = parse_receipt(receipt)?;
        self.write(move |c| {
            c.execute("DELETE FROM job WHERE id = ?1 AND attempts = ?2", params![id, attempt]).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), StoreError> {
        let (id, attempt) = parse_receipt(receipt)?;
        self.write(move |c| {
            let at = now_ms().saturating_add(ms(delay));
            c.execute("UPDATE job SET visible_at = ?3 WHERE id = ?1 AND attempts = ?2", params![id, attempt, at])
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }
}
