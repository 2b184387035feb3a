//! Worker heartbeats in the SQLite file (the seed's status JSON files, without the shared-disk coupling).

use super::rows::{json, to_json, ts};
use super::{SqliteStore, db_err};
use crate::ports::{Heartbeat, Heartbeats, StoreError};
use crate::values::timestamps::iso;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Heartbeats for SqliteStore {
    async fn put(&self, hb: &Heartbeat) -> Result<(), StoreError> {
        let (component, at, status) = (hb.component.clone(), iso(&hb.updated_at), to_json(&hb.status)?);
        self.write(move |c| {
            c.execute(
                "INSERT INTO heartbeat (component, updated_at, status) VALUES (?1, ?2, ?3)
                 ON CONFLICT (component) DO UPDATE SET updated_at = ?2, status = ?3",
                params![component, at, status],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get(&self, component: &str) -> Result<Option<Heartbeat>, StoreError> {
        let component = component.to_string();
        self.read(move |c| {
            let row: Option<(String, String)> = c
                .query_row("SELECT updated_at, status FROM heartbeat WHERE component = ?1", [&component], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(db_err)?;
            row.map(|(at, status)| Ok(Heartbeat { component, updated_at: ts(&at)?, status: json(&status)? }))
                .transpose()
        })
        .await
    }
}
