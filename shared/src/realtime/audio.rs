//! Ingesting one live audio chunk: append it to the rolling window (bytes to the blob store, appended to the
//! call's segment file where blobs grow in place, else a blob of its own; its entry and the window's head
//! conditionally to the call store; O(1) bytes whatever the call's length), measure silence, then ingest the
//! events it carries.

use super::ahead::Ahead;
use super::{MAX_COMMIT_ATTEMPTS, RealtimeService, ServiceError, backoff};
use crate::audio::silence;
use crate::ports::AppendOutcome;
use crate::realtime::audio_chunk::{AudioChunk, derive_events, parse_chunk};
use crate::realtime::domain::Alert;
use crate::realtime::events::Answer;
use crate::realtime::live_audio::{LiveHead, TRIM_BATCH};
use crate::realtime::normalize::normalize_event;
use serde_json::{Map, Value, json};

/// Result of appending a chunk to the window.
enum Appended {
    Stored { meta: Value, dead_air: Option<f64> },
    Duplicate { meta: Value },
}

impl RealtimeService {
    /// `POST /api/realtime/audio/chunk`: the seed's response shape. A repeated `chunk_id` stores no audio
    /// (`duplicate: true`) but still ingests the chunk's events, each idempotent under `chunk:<id>:<n>`, so a
    /// retry completes whatever an interrupted or rejected attempt left undone and never applies anything twice.
    pub async fn ingest_audio(&self, body: &Map<String, Value>) -> Result<Value, ServiceError> {
        self.ingest_chunk(body, None, Answer::Snapshot).await
    }

    /// Like [`Self::ingest_audio`], with the PCM handed over as bytes instead of `audio_b64` in the body: the
    /// in-process ingest, which has no reason to encode audio only to decode it again.
    pub async fn ingest_audio_pcm(&self, body: &Map<String, Value>, pcm: &[u8]) -> Result<Value, ServiceError> {
        self.ingest_chunk(body, Some(pcm), Answer::Snapshot).await
    }

    /// The chunk with its audio as bytes (`pcm`) or in the body, answering as `answer` says: the answer carries
    /// the call's snapshot only with [`Answer::Snapshot`] and when something a supervisor sees changed.
    pub async fn ingest_chunk(
        &self,
        body: &Map<String, Value>,
        pcm: Option<&[u8]>,
        answer: Answer,
    ) -> Result<Value, ServiceError> {
        let c = &self.config;
        let mut chunk =
            parse_chunk(body, pcm, c.audio_default_sample_rate, c.audio_default_channels, c.audio_max_chunk_bytes)
                .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let fb = chunk.format.frame_bytes();
        chunk.pcm.truncate(chunk.pcm.len() / fb * fb);
        let (meta, dead_air, repeated) = match self.append_chunk(&chunk).await? {
            Appended::Duplicate { meta } => (meta, None, true),
            Appended::Stored { meta, dead_air } => (meta, dead_air, false),
        };
        let mut metrics = Map::new();
        if let Some(d) = dead_air {
            metrics.insert("dead_air_seconds".into(), json!(d));
            metrics.insert("dead_air_source".into(), json!("live_audio"));
        }
        let mut warnings = Vec::new();
        let mut alerts: Vec<Alert> = Vec::new();
        let mut last = None;
        let (mut applied, mut already) = (0, 0);
        let mut quiet = true;
        let mut ahead = Ahead::answering(answer, Some(meta.clone()));
        for obj in derive_events(body, chunk.chunk_id.as_deref(), &meta, &metrics) {
            let outcome = match normalize_event(&obj, self.config.max_text_chars) {
                Ok(ev) => self.ingest_ahead(&ev, &mut ahead).await,
                Err(e) => Err(ServiceError::BadRequest(e.to_string())),
            };
            match outcome {
                Ok(done) => {
                    quiet &= done.quiet;
                    if done.duplicate {
                        already += 1;
                    } else {
                        applied += 1;
                    }
                    for a in done.alerts {
                        if !alerts.iter().any(|x| x.id == a.id) {
                            alerts.push(a);
                        }
                    }
                    last = done.state;
                }
                Err(ServiceError::BadRequest(w)) => warnings.push(w),
                // The audio is stored by now. With a chunk_id a retry completes exactly what is missing, so a
                // 5xx asks for one; without, a retry would store the audio twice, so once anything is applied
                // the answer reports what was committed and names what was not.
                Err(e) if chunk.chunk_id.is_some() || applied + already == 0 => return Err(e),
                Err(e) => {
                    tracing::error!(call_id = %chunk.call_id, error = %e, "an event of an audio chunk was not stored");
                    warnings.push(format!(
                        "An event of this chunk was not stored ({e}); send a chunk_id to make retries exact"
                    ));
                }
            }
        }
        if applied + already == 0 {
            return Err(ServiceError::AudioEventsRejected { audio: meta, warnings });
        }
        let snapshot = match answer {
            Answer::Snapshot if !quiet => Some(self.snapshot_answer(ahead, &chunk.call_id, last.as_ref()).await),
            _ => None,
        };
        let mut out = json!({"ok": true, "call_id": chunk.call_id, "audio": meta, "ingested_events": applied,
            "alerts": alerts, "warnings": warnings});
        if let Some(snapshot) = snapshot {
            out["snapshot"] = snapshot.to_value();
        }
        if repeated {
            out["duplicate"] = json!(true);
        }
        Ok(out)
    }

    async fn append_chunk(&self, chunk: &AudioChunk) -> Result<Appended, ServiceError> {
        let _serial = self.locks.lock(&format!("{}#audio", chunk.call_id)).await;
        let scan = silence::scan(
            &chunk.pcm,
            chunk.format.channels,
            chunk.format.sample_rate,
            self.config.dead_air_rms_threshold,
        );
        let window = self.config.audio_window_seconds;
        let segmented = self.blobs.appends();
        // The blob of an attempt that lost a race. Deleted once the next read shows the chunk is not stored:
        // if it is, the winner may be this very chunk under the same key (same id, same sequence number).
        // Bytes appended to a segment by such an attempt stay where they are: no entry points to them.
        let mut stray: Option<String> = None;
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            let loaded = self.store.load_live_audio(&chunk.call_id, chunk.chunk_id.as_deref()).await?;
            let version = loaded.head.as_ref().map(|v| v.version);
            let mut head = loaded.head.map_or_else(|| LiveHead::new(&chunk.call_id), |v| v.value);
            if loaded.duplicate {
                return Ok(Appended::Duplicate { meta: self.live_meta(&head) });
            }
            if let Some(key) = stray.take() {
                self.blobs.delete(&key).await?;
            }
            let now = self.now();
            let entry = head
                .plan(chunk.chunk_id.as_deref(), chunk.format, chunk.pcm.len(), chunk.occurred_at.unwrap_or(now))
                .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
            let entry = if segmented { entry.in_segment(&chunk.call_id) } else { entry };
            let oldest = if head.needs_trim(&entry, chunk.format, window) {
                self.store.live_audio_chunks(&chunk.call_id, TRIM_BATCH).await?
            } else {
                Vec::new()
            };
            let dead_air = head.observe_silence(scan);
            let mut append = head.commit(entry, chunk.format, &oldest, version, window, now);
            let written = match append.entry.as_mut() {
                Some(e) if segmented => {
                    e.offset = Some(self.blobs.append(&e.key, &chunk.pcm).await?);
                    None
                }
                Some(e) => {
                    self.blobs.put(&e.key, chunk.pcm.clone()).await?;
                    Some(e.key.clone())
                }
                None => None,
            };
            match self.store.append_live_audio(&append).await? {
                AppendOutcome::Applied => {}
                AppendOutcome::Duplicate => {
                    stray = written;
                    continue;
                }
                AppendOutcome::Conflict => {
                    stray = written;
                    backoff(attempt).await;
                    continue;
                }
            }
            for key in append.dropped.iter().filter_map(|old| old.released_blob(&chunk.call_id)) {
                if let Err(e) = self.blobs.delete(&key).await {
                    tracing::warn!(call_id = %chunk.call_id, %key, error = %e, "could not delete trimmed audio");
                }
            }
            return Ok(Appended::Stored { meta: self.live_meta(&append.head), dead_air });
        }
        Err(ServiceError::Contention)
    }
}
