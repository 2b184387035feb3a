//! Batch calls in the SQLite file: one versioned JSON row per call, listed by id (upload time).

use super::rows::{json, to_json};
use super::{SqliteStore, db_err};
use crate::batch::BatchCall;
use crate::ports::{BatchStore, StoreError, Versioned};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl BatchStore for SqliteStore {
    async fn create_batch_call(&self, call: &BatchCall) -> Result<bool, StoreError> {
        let (id, body) = (call.id.clone(), to_json(call)?);
        self.write(move |c| {
            let n = c
                .execute("INSERT OR IGNORE INTO batch_call (id, version, body) VALUES (?1, 1, ?2)", params![id, body])
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn get_batch_call(&self, id: &str) -> Result<Option<Versioned<BatchCall>>, StoreError> {
        let id = id.to_string();
        self.read(move |c| {
            let row: Option<(i64, String)> = c
                .query_row("SELECT version, body FROM batch_call WHERE id = ?1", [&id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db_err)?;
            row.map(|(version, body)| Ok(Versioned { value: json(&body)?, version: version as u64 })).transpose()
        })
        .await
    }

    async fn save_batch_call(&self, call: &BatchCall, expected_version: u64) -> Result<bool, StoreError> {
        let (id, body) = (call.id.clone(), to_json(call)?);
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE batch_call SET version = version + 1, body = ?3 WHERE id = ?1 AND version = ?2",
                    params![id, expected_version as i64, body],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_batch_calls(&self, limit: usize) -> Result<Vec<BatchCall>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare("SELECT body FROM batch_call ORDER BY id DESC LIMIT ?1").map_err(db_err)?;
            let rows = stmt.query_map([limit as i64], |r| r.get::<_, String>(0)).map_err(db_err)?;
            rows.map(|r| json(&r.map_err(db_err)?)).collect()
        })
        .await
    }

    async fn delete_batch_call(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.write(move |c| {
            c.execute("DELETE FROM batch_call WHERE id = ?1", [&id]).map_err(db_err)?;
            Ok(())
        })
        .await
    }
}
