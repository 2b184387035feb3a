//! The job-queue contract: at-least-once delivery with visibility timeouts, completion, retry with delay,
//! and dead letters after the queue's receive limit.

use shared::ports::JobQueue;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(300);

pub async fn job_delivery(queue: Arc<dyn JobQueue>) {
    assert!(queue.receive(10, LONG).await.unwrap().is_empty());
    queue.enqueue(r#"{"call_id":"job-a"}"#).await.unwrap();
    queue.enqueue(r#"{"call_id":"job-b"}"#).await.unwrap();
    let got = queue.receive(10, LONG).await.unwrap();
    let bodies: BTreeSet<&str> = got.iter().map(|j| j.body.as_str()).collect();
    assert_eq!(bodies, BTreeSet::from([r#"{"call_id":"job-a"}"#, r#"{"call_id":"job-b"}"#]));
    assert!(got.iter().all(|j| j.attempts == 1), "{got:?}");
    assert!(queue.receive(10, LONG).await.unwrap().is_empty(), "received jobs are hidden");

    let (done, again) = (&got[0], &got[1]);
    queue.complete(&done.receipt).await.unwrap();
    queue.retry_later(&again.receipt, Duration::ZERO).await.unwrap();
    let retried = queue.receive(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(retried.len(), 1, "{retried:?}");
    assert_eq!((retried[0].body.as_str(), retried[0].attempts), (again.body.as_str(), 2));

    // Not completed within its visibility timeout: delivered again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let redelivered = queue.receive(10, LONG).await.unwrap();
    assert_eq!(redelivered.len(), 1, "{redelivered:?}");
    assert_eq!((redelivered[0].body.as_str(), redelivered[0].attempts), (again.body.as_str(), 3));
    queue.complete(&redelivered[0].receipt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(queue.receive(10, LONG).await.unwrap().is_empty(), "completed jobs never return");
}

/// A job failed `max_receives` times is delivered no more (the adapter keeps it as a dead letter).
pub async fn job_dead_letter(queue: Arc<dyn JobQueue>, max_receives: u32) {
    queue.enqueue(r#"{"call_id":"job-dead"}"#).await.unwrap();
    for attempt in 1..=max_receives {
        let got = queue.receive(10, LONG).await.unwrap();
        assert_eq!(got.iter().map(|j| j.attempts).collect::<Vec<_>>(), [attempt]);
        queue.retry_later(&got[0].receipt, Duration::ZERO).await.unwrap();
    }
    assert!(queue.receive(10, LONG).await.unwrap().is_empty(), "dead after {max_receives} receives");
}
