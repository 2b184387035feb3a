//! The live-audio window on DynamoDB: under the call's partition a head item (`live`, versioned, a few hundred
//! bytes), an item per chunk (`l#<place in the window>`) and a marker per chunk id (`lid#<chunk id>`, put
//! only if absent, so a repeated chunk is refused inside the transaction). An append is one
//! `TransactWriteItems` of the marker, the entry, the head and the deletions of what left the window: the same
//! bytes whatever the call's length, never near the 400 KB item limit. (The `audio` item of releases before
//! 2026-12, one item listing every chunk, is no longer read; it goes with the call.)

use super::calls::{Tx, cancelled};
use super::listing::Range;
use super::{DynamoStore, Item, body, call_pk, get_s, key, s, sdk_err, to_body};
use crate::ports::{AppendOutcome, CommitOutcome, LoadedLiveAudio, StoreError};
use crate::realtime::live_audio::{ChunkRef, LiveAppend};

const HEAD: &str = "live";
const ENTRY: &str = "l#";

fn marker(chunk_id: &str) -> String {
    format!("lid#{chunk_id}")
}

impl DynamoStore {
    pub(super) async fn live_load(&self, call_id: &str, chunk_id: Option<&str>) -> Result<LoadedLiveAudio, StoreError> {
        let pk = call_pk(call_id);
        let mut keys = vec![key(&pk, HEAD)];
        keys.extend(chunk_id.map(|id| key(&pk, marker(id))));
        let items = self.batch_get(keys).await?;
        let sk = |i: &Item| get_s(i, "sk").map(str::to_string).unwrap_or_default();
        let head = items.iter().find(|i| sk(i) == HEAD).map(Self::versioned).transpose()?;
        let duplicate = items.iter().any(|i| sk(i).starts_with("lid#"));
        Ok(LoadedLiveAudio { head, duplicate })
    }

    pub(super) async fn live_oldest(&self, call_id: &str, limit: usize) -> Result<Vec<ChunkRef>, StoreError> {
        let items = self.query(call_pk(call_id), Range::Prefix(ENTRY.into()), true, None, Some(limit)).await?;
        items.iter().map(body).collect()
    }

    pub(super) async fn live_append(&self, a: &LiveAppend) -> Result<AppendOutcome, StoreError> {
        let pk = call_pk(&a.head.call_id);
        let touched = a.head.updated_at.unwrap_or_else(chrono::Utc::now);
        let mut tx = Tx::new(self);
        if let Some(e) = &a.entry {
            tx.key_at = Some(tx.items.len());
            let mut mark = self.item(pk.clone(), marker(&e.id), &touched);
            mark.insert("entry".into(), s(e.order_key()));
            tx.put(mark, Some(("attribute_not_exists(pk)", None)))?;
            let mut entry = self.item(pk.clone(), format!("{ENTRY}{}", e.order_key()), &touched);
            entry.insert("body".into(), to_body(e)?);
            tx.put(entry, None)?;
        }
        let mut head = self.item(pk.clone(), HEAD.into(), &touched);
        head.insert("body".into(), to_body(&a.head)?);
        head.insert("version".into(), super::n(a.expected_version.map_or(1, |v| v + 1)));
        match a.expected_version {
            None => tx.put(head, Some(("attribute_not_exists(pk)", None)))?,
            Some(v) => tx.put(head, Some(("#ver = :v", Some(v as i64))))?,
        }
        for d in &a.dropped {
            tx.delete(pk.clone(), format!("{ENTRY}{}", d.order_key()))?;
            tx.delete(pk.clone(), marker(&d.id))?;
        }
        let key_at = tx.key_at;
        match self.client.transact_write_items().set_transact_items(Some(tx.items)).send().await {
            Ok(_) => Ok(AppendOutcome::Applied),
            Err(e) => match cancelled(&e, key_at) {
                Some(CommitOutcome::Duplicate) => Ok(AppendOutcome::Duplicate),
                Some(_) => Ok(AppendOutcome::Conflict),
                None => Err(sdk_err(e)),
            },
        }
    }
}
