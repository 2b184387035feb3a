//! Spending verified signatures' nonces (see `signature`): through the `Nonces` port, shared by every task
//! on AWS (DynamoDB), or in this process's memory ([`NonceCache`], the local process). A nonce spent before
//! is a replay; a store that cannot say in time refuses the upgrade too.

use super::signature::{AuthError, NonceClaim};
use async_trait::async_trait;
use shared::ports::{Nonces, StoreError};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Longest wait for the nonce store to record a signature's nonce; past it the upgrade is refused.
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

/// Spends a verified signature's nonce: refused when it was spent before (a replay, on this task or another),
/// or when the store cannot say in time (a replay must not pass while it is down).
pub async fn spend(nonces: &dyn Nonces, claim: &NonceClaim, now: i64) -> Result<(), AuthError> {
    match tokio::time::timeout(NONCE_TIMEOUT, nonces.claim_nonce(&claim.nonce, claim.until, now)).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(AuthError::Replayed),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "audiohook: the nonce store failed; upgrade refused");
            Err(AuthError::NonceStore)
        }
        Err(_) => {
            tracing::error!(timeout = ?NONCE_TIMEOUT, "audiohook: the nonce store did not answer; upgrade refused");
            Err(AuthError::NonceStore)
        }
    }
}
