//! Group commit: one thread owns the connection that writes, and commits whatever writes are queued when it
//! gets to them in one transaction. A transaction costs the same few page writes (and, at a checkpoint, a
//! sync) whether it holds one event or two hundred, so under load the cost per write falls with the queue;
//! with one writer at a time there is never a wait for SQLite's write lock inside the process either.
//!
//! Each write still stands on its own: it runs inside its own SAVEPOINT, so one that fails (or returns an
//! error) is rolled back alone and the others in the transaction keep their changes. Its caller hears the
//! outcome only once the whole transaction is committed, so an acknowledged write is in the file: a crash
//! before the COMMIT loses only writes nobody was told about.

use crate::ports::StoreError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tokio::sync::{mpsc, oneshot};

/// Most writes one transaction takes: bounds how long the first of them waits for the COMMIT.
const MAX_BATCH: usize = 256;
/// Writes waiting for the writer before callers wait to queue theirs (back-pressure, bounded memory).
const QUEUE: usize = 1024;

/// A queued write as the writer thread sees it, whatever it returns.
trait Pending: Send {
    /// Runs the write inside its own savepoint. `Err` only when the savepoint itself could not be set or
    /// ended: the transaction can no longer be trusted and the whole batch is rolled back.
    fn apply(&mut self, conn: &mut Connection) -> rusqlite::Result<()>;
    /// Tells the caller: its own result if the transaction committed (or if it failed on its own), else
    /// why the transaction failed. A committed result first goes through the write's `after`.
    fn finish(self: Box<Self>, failure: Option<&str>, conn: &Connection);
}

struct Write<T, F, A> {
    work: Option<F>,
    after: A,
    result: Option<Result<T, StoreError>>,
    done: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F, A> Pending for Write<T, F, A>
where
    T: Send,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send,
    A: FnOnce(&Connection, &T) + Send,
{
    fn apply(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        let Some(work) = self.work.take() else { return Ok(()) };
        run(conn, "SAVEPOINT write")?;
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Backend("sqlite write panicked".into())));
        if result.is_err() {
            run(conn, "ROLLBACK TO write")?;
        }
        run(conn, "RELEASE write")?;
        self.result = Some(result);
        Ok(())
    }

    fn finish(self: Box<Self>, failure: Option<&str>, conn: &Connection) {
        let outcome = match (self.result, failure) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), None) => {
                (self.after)(conn, &value);
                Ok(value)
            }
            (_, Some(why)) => Err(StoreError::Backend(format!("sqlite transaction failed: {why}"))),
            (None, None) => Err(StoreError::Backend("sqlite write was not run".into())),
        };
        // A caller that went away no longer needs the answer; its write stands.
        let _ = self.done.send(outcome);
    }
}

/// Runs one statement prepared once per connection: every write sets and ends a savepoint, and parsing
/// those again each time was a share of a small write's cost.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// The queue to the writer thread. The thread ends when the last clone of this is dropped.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Pending>>,
}

fn stopped() -> StoreError {
    StoreError::Backend("sqlite writer stopped".into())
}

impl Writer {
    /// Starts the writer thread over `conn`, which from now on nothing else uses.
    pub fn start(conn: Connection) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(conn, jobs))
            .map_err(|e| StoreError::Backend(format!("cannot start the sqlite writer: {e}")))?;
        Ok(Self { queue })
    }

    /// Runs `work` in the next transaction and returns its result once that transaction is committed.
    /// `work` returning `Err` rolls back its own changes only.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_then(work, |_, _| {}).await
    }

    /// As `write`, and once the transaction is committed, before the caller hears of it, runs `after` on the
    /// writer's connection with the result: for what must follow the commit and precede any answer (the
    /// rows `recent.rs` keeps).
    pub async fn write_then<T, F, A>(&self, work: F, after: A) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        A: FnOnce(&Connection, &T) + Send + 'static,
    {
        let (done, outcome) = oneshot::channel();
        let write = Write { work: Some(work), after, result: None, done };
        self.queue.send(Box::new(write)).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

fn serve(mut conn: Connection, mut jobs: mpsc::Receiver<Box<dyn Pending>>) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        commit(&mut conn, batch);
    }
}

/// Applies a batch in one transaction and then answers every caller.
fn commit(conn: &mut Connection, mut batch: Vec<Box<dyn Pending>>) {
    let failure = apply_all(conn, &mut batch).err().map(|e| {
        // Nothing of the batch may stay: an open transaction would carry it into the next one.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        tracing::error!(error = %e, writes = batch.len(), "sqlite group commit failed");
        e.to_string()
    });
    for write in batch {
        write.finish(failure.as_deref(), conn);
    }
}

fn apply_all(conn: &mut Connection, batch: &mut [Box<dyn Pending>]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    for write in batch.iter_mut() {
        write.apply(conn)?;
    }
    conn.execute_batch("COMMIT")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn insert(c: &Connection, v: i64) -> Result<i64, StoreError> {
        c.execute("INSERT INTO t (v) VALUES (?1)", [v]).map_err(super::super::db_err)?;
        Ok(v)
    }

    fn stored(path: &std::path::Path) -> Vec<i64> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c.prepare("SELECT v FROM t ORDER BY v").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    /// Writes queued behind a slow one share its successor's transaction; each still stands or falls alone,
    /// and the writer carries on after a write that failed or panicked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_write_in_a_group_stands_alone() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER PRIMARY KEY)").unwrap();
        let writer = Writer::start(conn).unwrap();
        let slow = tokio::spawn({
            let w = writer.clone();
            async move {
                w.write(|c| {
                    std::thread::sleep(Duration::from_millis(200));
                    insert(c, 1)
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (kept, failed, panicked, clash, nested) = tokio::join!(
            writer.write(|c| insert(c, 2)),
            writer.write(|c| {
                insert(c, 3)?;
                Err::<i64, _>(StoreError::Backend("refused".into()))
            }),
            writer.write(|c| -> Result<i64, StoreError> {
                insert(c, 4)?;
                panic!("a bug in one write")
            }),
            writer.write(|c| {
                insert(c, 5)?;
                insert(c, 2)
            }),
            writer.write(|c| {
                let sp = c.savepoint().map_err(super::super::db_err)?;
                insert(&sp, 6)?;
                sp.commit().map_err(super::super::db_err)?;
                Ok(6)
            }),
        );
        assert_eq!(slow.await.unwrap().unwrap(), 1);
        assert_eq!(kept.unwrap(), 2);
        assert!(matches!(failed, Err(StoreError::Backend(why)) if why == "refused"));
        assert!(panicked.is_err());
        assert!(clash.is_err(), "a constraint violation fails that write");
        assert_eq!(nested.unwrap(), 6);
        assert_eq!(writer.write(|c| insert(c, 7)).await.unwrap(), 7, "the writer carries on");
        assert_eq!(stored(&path), [1, 2, 6, 7], "failed writes left nothing, the others are all in the file");
    }
}
