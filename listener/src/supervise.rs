//! Several long-running services in one process under one stop signal: `listener all` runs the AudioHook
//! server and the notifications connector in one container, as the spec's listener container promises.
//!
//! A service ends only when told to stop, so one that ends by itself (an error, or a panic) has failed. The
//! failure is logged, the other services are stopped as on SIGTERM (AudioHook lets open sessions finish, so
//! no call loses audio), and the caller exits non-zero: the orchestrator then restarts the whole container
//! instead of half of it running unnoticed. Each service keeps its own heartbeat, so health shows which
//! half failed.

use std::future::Future;
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};

/// How a service ended: `Err` carries why it could not go on.
pub type Outcome = Result<(), String>;

/// A service that stopped without being asked to, or failed while stopping.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{service}: {reason}")]
pub struct Failure {
    pub service: &'static str,
    pub reason: String,
}

/// The one stop signal every service of the process watches.
pub struct Stopper(watch::Sender<bool>);

impl Default for Stopper {
    fn default() -> Self {
        Self(watch::channel(false).0)
    }
}

impl Stopper {
    /// A future for one service: resolves once the process stops.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    fn stop(&self) {
        self.0.send_replace(true);
    }
}

fn failure(service: &'static str, ended: Result<Outcome, JoinError>) -> Option<Failure> {
    let reason = match ended {
        Ok(Ok(())) => return None,
        Ok(Err(reason)) => reason,
        Err(e) => e.to_string(),
    };
    tracing::error!(service, error = %reason, "service failed");
    Some(Failure { service, reason })
}

/// Waits for `signal` or for the first of `services` (spawned with `stopper.stopped()`, at least one) to
/// end by itself; then stops them all and waits for them. Returns what failed, in the order it did.
pub async fn supervise(
    signal: impl Future<Output = ()>,
    stopper: Stopper,
    services: Vec<(&'static str, JoinHandle<Outcome>)>,
) -> Vec<Failure> {
    let (mut names, mut running): (Vec<_>, Vec<_>) = services.into_iter().unzip();
    let mut failures = Vec::new();
    let early = tokio::select! {
        _ = signal => None,
        (ended, index, _) = futures_util::future::select_all(running.iter_mut()) => Some((index, ended)),
    };
    if let Some((index, ended)) = early {
        let service = names.remove(index);
        running.remove(index);
        let ended = ended.map(|outcome| outcome.and(Err("stopped by itself".to_string())));
        failures.extend(failure(service, ended));
        tracing::error!(service, "stopping the other services");
    }
    stopper.stop();
    for (service, task) in names.into_iter().zip(running) {
        failures.extend(failure(service, task.await));
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A service that runs until stopped and records that it was.
    fn polite(stopper: &Stopper, stopped: Arc<AtomicBool>) -> JoinHandle<Outcome> {
        let stop = stopper.stopped();
        tokio::spawn(async move {
            stop.await;
            stopped.store(true, Ordering::SeqCst);
            Ok(())
        })
    }

    async fn panics() -> Outcome {
        panic!("bug")
    }

    #[tokio::test]
    async fn the_signal_stops_every_service_and_nothing_failed() {
        let stopper = Stopper::default();
        let (a, b) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let services = vec![("a", polite(&stopper, a.clone())), ("b", polite(&stopper, b.clone()))];
        assert!(supervise(async {}, stopper, services).await.is_empty());
        assert!(a.load(Ordering::SeqCst) && b.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_service_that_fails_stops_the_others_and_is_named() {
        let stopper = Stopper::default();
        let other = Arc::new(AtomicBool::new(false));
        let services = vec![
            ("steady", polite(&stopper, other.clone())),
            ("broken", tokio::spawn(async { Err("cannot reach Genesys".to_string()) })),
        ];
        let failures = supervise(std::future::pending(), stopper, services).await;
        assert_eq!(failures, [Failure { service: "broken", reason: "cannot reach Genesys".into() }]);
        assert!(other.load(Ordering::SeqCst), "the steady service was stopped, not abandoned");
    }

    #[tokio::test]
    async fn ending_unasked_or_panicking_is_a_failure() {
        let stopper = Stopper::default();
        let services = vec![("quiet", tokio::spawn(async { Ok(()) }))];
        let failures = supervise(std::future::pending(), stopper, services).await;
        assert_eq!(failures, [Failure { service: "quiet", reason: "stopped by itself".into() }]);

        let stopper = Stopper::default();
        let services = vec![("panicky", tokio::spawn(panics()))];
        let failures = supervise(std::future::pending(), stopper, services).await;
        assert_eq!(failures[0].service, "panicky");
        assert!(failures[0].reason.contains("panicked"), "{}", failures[0].reason);
    }
}
