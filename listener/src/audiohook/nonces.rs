//! Spending verified signatures' nonces (see `signature`): through the `Nonces` port, shared by every task
//! on AWS (DynamoDB, with this task's memory standing in while it cannot answer: [`SharedNonces`]), or in
//! this process's memory ([`NonceCache`], the local process). A nonce spent before is a replay.

use super::signature::{AuthError, NonceClaim};
use async_trait::async_trait;
use shared::ports::{Nonces, StoreError};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest wait for the shared nonce store; past it this task's own memory decides (see [`SharedNonces`]).
const NONCE_TIMEOUT: Duration = Duration::from_secs(5);

/// Nonces seen within the signature window, in memory: the nonce store of one process (the local one).
#[derive(Debug, Default)]
pub struct NonceCache(Mutex<Remembered>);

#[derive(Debug, Default)]
struct Remembered {
    seen: HashMap<String, i64>,
    order: VecDeque<(i64, String)>,
}

impl NonceCache {
    /// Most nonces remembered; at the limit the oldest are forgotten first.
    const CAPACITY: usize = 100_000;

    /// Records `nonce` until `until`; `false` when it is still remembered.
    pub fn remember(&self, nonce: &str, until: i64, now: i64) -> bool {
        let mut r = self.0.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((expiry, _)) = r.order.front() {
            if *expiry >= now && r.order.len() < Self::CAPACITY {
                break;
            }
            let (_, old) = r.order.pop_front().expect("front exists");
            r.seen.remove(&old);
        }
        if r.seen.contains_key(nonce) {
            return false;
        }
        r.seen.insert(nonce.to_string(), until);
        r.order.push_back((until, nonce.to_string()));
        true
    }
}

#[async_trait]
impl Nonces for NonceCache {
    async fn claim_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        Ok(self.remember(nonce, expires_at, now))
    }
}

/// The nonce store every task shares (the table on AWS), with this process's memory standing in while it
/// cannot answer in time: a table outage must not refuse every call's AudioHook session (the calls would go
/// unmonitored and unrecorded while their data could still be spooled). Meanwhile a replay to this task is
/// still refused, and one to another task only until the table answers again.
pub struct SharedNonces {
    shared: Arc<dyn Nonces>,
    local: NonceCache,
}

impl SharedNonces {
    pub fn new(shared: Arc<dyn Nonces>) -> Self {
        Self { shared, local: NonceCache::default() }
    }
}

#[async_trait]
impl Nonces for SharedNonces {
    async fn claim_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        match tokio::time::timeout(NONCE_TIMEOUT, self.shared.claim_nonce(nonce, expires_at, now)).await {
            Ok(Ok(first)) => return Ok(first),
            Ok(Err(e)) => tracing::warn!(error = %e, "audiohook: nonce store failed; checking this task's nonces only"),
            Err(_) => {
                tracing::warn!(timeout = ?NONCE_TIMEOUT, "audiohook: nonce store too slow; checking this task's nonces only")
            }
        }
        Ok(self.local.remember(nonce, expires_at, now))
    }
}

/// Spends a verified signature's nonce: refused when it was spent before (a replay), or when the store fails.
pub async fn spend(nonces: &dyn Nonces, claim: &NonceClaim, now: i64) -> Result<(), AuthError> {
    match nonces.claim_nonce(&claim.nonce, claim.until, now).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AuthError::Replayed),
        Err(e) => {
            tracing::error!(error = %e, "audiohook: the nonce store failed; upgrade refused");
            Err(AuthError::NonceStore)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared store that is down.
    struct Down;

    #[async_trait]
    impl Nonces for Down {
        async fn claim_nonce(&self, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
            Err(StoreError::Backend("unreachable".into()))
        }
    }

    #[tokio::test]
    async fn while_the_shared_store_is_down_this_task_still_refuses_a_replay() {
        let nonces = SharedNonces::new(Arc::new(Down));
        let claim = NonceClaim { nonce: "n".repeat(22), until: 100 };
        assert_eq!(spend(&nonces, &claim, 10).await, Ok(()), "the session is not refused for the outage");
        assert_eq!(spend(&nonces, &claim, 11).await, Err(AuthError::Replayed));
        let shared = NonceCache::default();
        assert_eq!(spend(&shared, &claim, 10).await, Ok(()));
        assert_eq!(spend(&shared, &claim, 11).await, Err(AuthError::Replayed));
    }
}
