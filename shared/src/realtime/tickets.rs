//! One-time WebSocket tickets. A supervisor's long-lived credential (bearer token, Cognito JWT) never goes
//! into a WebSocket URL, where proxies and API Gateway access logs would keep it: the client trades it over
//! HTTPS for a ticket that opens one connection within a minute. Stores keep only the ticket's SHA-256.

use crate::ports::{StoreError, Tickets};
use crate::values::timestamps::Timestamp;
use sha2::{Digest, Sha256};

/// How long a ticket can be redeemed after it was issued.
pub const TICKET_TTL_SECONDS: i64 = 60;

/// A fresh ticket: the secret the client gets and what the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub secret: String,
    pub digest: String,
    pub expires_at: Timestamp,
}

impl Ticket {
    pub fn issue(now: Timestamp) -> Result<Self, getrandom::Error> {
        let secret = crate::settings::secret::generate_token()?;
        Ok(Self { digest: digest(&secret), secret, expires_at: now + chrono::Duration::seconds(TICKET_TTL_SECONDS) })
    }
}

/// The stored form of a ticket (hex SHA-256), so a read of the store yields nothing redeemable.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.trim().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Issues a ticket and stores its digest.
pub async fn issue(store: &dyn Tickets, now: Timestamp) -> Result<Ticket, StoreError> {
    let ticket = Ticket::issue(now).map_err(|e| StoreError::Backend(format!("no randomness for a ticket: {e}")))?;
    store.put_ticket(&ticket.digest, ticket.expires_at).await?;
    Ok(ticket)
}

/// Redeems the ticket a client presented: `true` once, within its minute.
pub async fn redeem(store: &dyn Tickets, secret: &str, now: Timestamp) -> Result<bool, StoreError> {
    store.redeem_ticket(&digest(secret), now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_random_and_stored_hashed() {
        let now = chrono::Utc::now();
        let (a, b) = (Ticket::issue(now).unwrap(), Ticket::issue(now).unwrap());
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.digest, digest(&a.secret));
        assert_ne!(a.digest, a.secret);
        assert_eq!(a.digest.len(), 64);
        assert_eq!((a.expires_at - now).num_seconds(), TICKET_TTL_SECONDS);
    }
}
