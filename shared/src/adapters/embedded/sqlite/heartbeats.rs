//! Worker heartbeats in the SQLite file (the seed's status JSON files, without the shared-disk coupling): one
//! row per component and instance. A beat deletes the component's rows silent for a day, so restarts (a new
//! instance each) do not pile up.

use super::rows::{json, to_json, ts};
use super::{SqliteStore, db_err};
use crate::ports::{Heartbeat, Heartbeats, MAX_HEARTBEAT_INSTANCES, StoreError};
use crate::values::timestamps::iso;
use async_trait::async_trait;
use rusqlite::params;

/// Rows silent this long are deleted.
const KEEP: chrono::Duration = chrono::Duration::days(1);

#[async_trait]
impl Heartbeats for SqliteStore {
    async fn put(&self, hb: &Heartbeat) -> Result<(), StoreError> {
        let (component, instance) = (hb.component.clone(), hb.instance.clone());
        let (at, forget_before, status) = (iso(&hb.updated_at), iso(&(hb.updated_at - KEEP)), to_json(&hb.status)?);
        self.write(move |c| {
            c.execute(
                "INSERT INTO worker_heartbeat (component, instance, updated_at, status) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (component, instance) DO UPDATE SET updated_at = ?3, status = ?4",
                params![component, instance, at, status],
            )
            .map_err(db_err)?;
            c.execute(
                "DELETE FROM worker_heartbeat WHERE component = ?1 AND updated_at < ?2",
                params![component, forget_before],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn list(&self, component: &str) -> Result<Vec<Heartbeat>, StoreError> {
        let component = component.to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT instance, updated_at, status FROM worker_heartbeat WHERE component = ?1
                     ORDER BY updated_at DESC LIMIT ?2",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![component, MAX_HEARTBEAT_INSTANCES as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .map_err(db_err)?;
            let mut beats = Vec::new();
            for row in rows {
                let (instance, at, status) = row.map_err(db_err)?;
                let beat = ts(&at).and_then(|updated_at| {
                    Ok(Heartbeat { component: component.clone(), instance, updated_at, status: json(&status)? })
                });
                beats.extend(StoreError::skip_corrupt(beat, "heartbeat")?);
            }
            Ok(beats)
        })
        .await
    }
}
