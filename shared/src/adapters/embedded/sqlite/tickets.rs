//! One-time WebSocket tickets in the SQLite file; expired ones are swept on every redemption.

use super::{SqliteStore, db_err};
use crate::ports::{StoreError, Tickets};
use crate::values::timestamps::Timestamp;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl Tickets for SqliteStore {
    async fn put_ticket(&self, digest: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        let (digest, expires) = (digest.to_string(), expires_at.timestamp());
        self.write(move |c| {
            c.execute("INSERT INTO ws_ticket (digest, expires_at) VALUES (?1, ?2)", params![digest, expires])
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn redeem_ticket(&self, digest: &str, now: Timestamp) -> Result<bool, StoreError> {
        let (digest, now) = (digest.to_string(), now.timestamp());
        self.write(move |c| {
            let n = c
                .execute("DELETE FROM ws_ticket WHERE digest = ?1 AND expires_at > ?2", params![digest, now])
                .map_err(db_err)?;
            c.execute("DELETE FROM ws_ticket WHERE expires_at <= ?1", [now]).map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }
}
