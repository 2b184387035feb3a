//! The batch use cases over the ports, written once for the local process and the Lambdas: accept an
//! upload, read calls, their artifacts and the dashboard, and manage calls in bulk. Processing is in
//! `process`, the queue loop in `worker`.

use super::job::call_job;
use super::listing::{self, Filter};
use super::record::{BatchCall, CallOptions, new_id, safe_filename};
use super::settings::BatchConfig;
use super::staging::StagedAudio;
use crate::analysis::glossary;
use crate::ports::delivery::{self, FileMeta, Handout};
use crate::ports::{BatchStore, BlobStore, CallStore, JobQueue, Push, PushMessage, StoreError, Versioned};
use crate::realtime::{Clock, ServiceError};
use crate::speech::Transcriber;
use crate::speech::transcript;
use crate::values::ids::validate_call_id;
use serde_json::{Value, json};
use std::sync::Arc;

/// The artifacts a completed call has under `outputs/<id>/` (the seed's file names).
pub const ARTIFACTS: [&str; 7] = [
    "transcript.json",
    "transcript.txt",
    "analysis_input.txt",
    "analysis.json",
    "summary.json",
    "qa.json",
    "analysis_raw.txt",
];
/// Where `POST /api/glossary` keeps the glossary file (the seed's `GLOSSARY_PATH`).
pub const GLOSSARY_KEY: &str = "config/glossary.csv";
/// The name an uploaded transcript is stored under, beside the audio.
pub const TRANSCRIPT_UPLOAD: &str = "transcript.json";
/// How long a direct-upload URL stays valid.
pub const UPLOAD_URL_LIFETIME: std::time::Duration = std::time::Duration::from_secs(900);
/// Largest transcript JSON accepted.
pub const MAX_TRANSCRIPT_BYTES: usize = 20 * 1024 * 1024;

/// An upload: audio, a transcript, or both (the transcript is then used instead of transcription).
#[derive(Default)]
pub struct Upload {
    pub filename: String,
    /// Already in storage (`stage_audio`): an upload is never held in memory.
    pub audio: Option<StagedAudio>,
    /// Held in memory to be checked before anything is stored: at most `MAX_TRANSCRIPT_BYTES`.
    pub transcript: Option<Vec<u8>>,
    pub options: CallOptions,
}

/// What batch processing runs on: the ports of the host's backend and the speech-to-text engine. Named
/// fields, because the embedded backend is one store behind several of them.
pub struct BatchPorts {
    /// Batch call records.
    pub store: Arc<dyn BatchStore>,
    /// Uploads, transcripts and artifacts.
    pub blobs: Arc<dyn BlobStore>,
    /// Processing jobs.
    pub queue: Arc<dyn JobQueue>,
    /// `call_update` messages to supervisors.
    pub push: Arc<dyn Push>,
    /// Realtime rows of the same id, removed with the call.
    pub calls: Arc<dyn CallStore>,
    pub stt: Arc<dyn Transcriber>,
}

/// How a call's job reaches the queue once its upload is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadsQueued {
    /// Storing under `uploads/` queues the job by itself (S3 event notifications on AWS), so the upload
    /// path must not queue it a second time.
    ByStorageNotification,
    /// Nothing watches the blob store (the embedded folder): the upload path queues the job.
    ByService,
}

/// The ports and settings batch processing runs on.
pub struct BatchService {
    pub ports: BatchPorts,
    /// `LLM_PROVIDER`'s client: enriches the embedded analysis when configured.
    pub llm: Option<Arc<crate::analysis::llm::LlmClient>>,
    pub audio: crate::audio::AudioConfig,
    pub config: BatchConfig,
    pub uploads: UploadsQueued,
    pub(super) clock: Clock,
}

pub fn output_key(id: &str, name: &str) -> String {
    format!("outputs/{id}/{name}")
}

fn bad(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::BadRequest(e.to_string())
}

impl BatchService {
    pub fn new(
        ports: BatchPorts,
        audio: crate::audio::AudioConfig,
        config: BatchConfig,
        uploads: UploadsQueued,
    ) -> Self {
        Self { ports, llm: None, audio, config, uploads, clock: Arc::new(chrono::Utc::now) }
    }

    /// With an LLM to enrich the analysis (`LLM_PROVIDER`).
    pub fn with_llm(mut self, llm: Option<crate::analysis::llm::LlmClient>) -> Self {
        self.llm = llm.map(Arc::new);
        self
    }

    /// With another clock (tests of time-based housekeeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub(super) fn now(&self) -> crate::values::timestamps::Timestamp {
        (self.clock)()
    }

    /// Records the call as queued, moves its staged audio under it, stores its transcript and queues its
    /// job. Bad transcripts are refused here, before anything is stored; on any failure the staged audio is
    /// deleted and no call stays recorded.
    pub async fn submit(&self, upload: Upload) -> Result<BatchCall, ServiceError> {
        if upload.audio.is_none() && upload.transcript.is_none() {
            return Err(bad("Missing file"));
        }
        if let Some(t) = &upload.transcript {
            parse_transcript(t)?;
        }
        let name = safe_filename(&upload.filename);
        let mut call =
            BatchCall::new(String::new(), upload.filename.clone(), String::new(), upload.options, self.now());
        let (audio, transcript) = (upload.audio.is_some(), upload.transcript.is_some());
        self.record(&mut call, |c| {
            c.upload_key = if audio { format!("uploads/{}/{name}", c.id) } else { String::new() };
            c.transcript_key = transcript.then(|| format!("uploads/{}/{TRANSCRIPT_UPLOAD}", c.id));
        })
        .await?;
        let stored = self.store_upload(&call, upload.audio, upload.transcript).await;
        if let Err(e) = stored {
            self.delete(std::slice::from_ref(&call.id)).await?;
            return Err(e.into());
        }
        tracing::info!(call_id = %call.id, file = %call.filename, "batch call queued");
        Ok(call)
    }

    /// `POST /api/calls/upload-url`: records the call and returns where to `PUT` the file (an upload to
    /// storage then queues the job through its notification). `None` where storage takes no direct uploads,
    /// known before anything is recorded.
    pub async fn direct_upload(
        &self,
        filename: &str,
        options: CallOptions,
    ) -> Result<Option<(BatchCall, String)>, ServiceError> {
        if !self.ports.blobs.presigns() {
            return Ok(None);
        }
        let name = safe_filename(filename);
        let transcript = name.to_lowercase().ends_with(".json");
        let mut call = BatchCall::new(String::new(), filename.to_string(), String::new(), options, self.now());
        call.stage = "awaiting_upload".into();
        self.record(&mut call, |c| {
            c.upload_key = if transcript { String::new() } else { format!("uploads/{}/{name}", c.id) };
            c.transcript_key = transcript.then(|| format!("uploads/{}/{TRANSCRIPT_UPLOAD}", c.id));
        })
        .await?;
        let key = call.transcript_key.clone().unwrap_or_else(|| call.upload_key.clone());
        match self.ports.blobs.upload_url(&key, UPLOAD_URL_LIFETIME).await? {
            Some(url) => Ok(Some((call, url))),
            None => {
                self.ports.store.delete_batch_call(&call.id).await?;
                Ok(None)
            }
        }
    }

    /// Stores a new call under the first free id from its upload time on (the seed's timestamp ids collide
    /// when two uploads share a microsecond); `keys` names its blobs for the id.
    async fn record(&self, call: &mut BatchCall, keys: impl Fn(&mut BatchCall)) -> Result<(), ServiceError> {
        let at = call.created_at;
        for bump in 0..1000 {
            call.id = new_id(&at, bump);
            keys(call);
            if self.ports.store.create_batch_call(call).await? {
                return Ok(());
            }
        }
        Err(ServiceError::Contention)
    }

    /// Puts the files and, unless storage queues the job itself, the job.
    async fn store_upload(
        &self,
        call: &BatchCall,
        audio: Option<StagedAudio>,
        transcript: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        // The transcript first: with S3 notifications, the audio's arrival starts the job.
        if let (Some(key), Some(t)) = (&call.transcript_key, transcript) {
            self.ports.blobs.put(key, t).await?;
        }
        if let Some(a) = audio {
            a.place(&call.upload_key).await?;
        }
        if self.uploads == UploadsQueued::ByService {
            self.queue_job(&call.id).await?;
        }
        Ok(())
    }

    /// Sends call `id`'s job to the queue, counted as queued.
    pub(super) async fn queue_job(&self, id: &str) -> Result<(), StoreError> {
        self.ports.queue.enqueue(&call_job(id)).await?;
        super::worker::job_state("queued");
        Ok(())
    }

    async fn save(&self, call: &BatchCall, version: u64) -> Result<(), StoreError> {
        if self.ports.store.save_batch_call(call, version).await? {
            Ok(())
        } else {
            Err(StoreError::Backend(format!("batch call {} changed while it was being saved", call.id)))
        }
    }

    pub async fn get(&self, id: &str) -> Result<Versioned<BatchCall>, ServiceError> {
        validate_call_id(id).map_err(|_| ServiceError::NotFound("Call not found"))?;
        self.ports.store.get_batch_call(id).await?.ok_or(ServiceError::NotFound("Call not found"))
    }

    /// Every call the dashboard considers, newest first.
    pub async fn all(&self) -> Result<Vec<BatchCall>, ServiceError> {
        Ok(self.ports.store.list_batch_calls(self.config.list_limit).await?)
    }

    /// `GET /api/calls`: one page of the filtered calls, with the metrics block.
    pub async fn list(&self, filter: &Filter, page: usize, page_size: usize) -> Result<Value, ServiceError> {
        let all = self.all().await?;
        let filtered: Vec<BatchCall> = all.iter().filter(|c| filter.matches(c)).cloned().collect();
        let (rows, page, pages) = listing::paginate(&filtered, page, page_size);
        Ok(json!({
            "calls": rows.iter().map(list_row).collect::<Vec<_>>(),
            "page": page,
            "total_pages": pages,
            "total": filtered.len(),
            "metrics": listing::metrics(&filtered, all.len()),
        }))
    }

    pub async fn daily_counts(&self) -> Result<Value, ServiceError> {
        Ok(listing::daily_counts(&self.all().await?, self.now().date_naive()))
    }

    pub async fn insights(&self, filter: &Filter) -> Result<Value, ServiceError> {
        let filtered: Vec<BatchCall> = self.all().await?.into_iter().filter(|c| filter.matches(c)).collect();
        Ok(listing::insights(&filtered, self.now().date_naive()))
    }

    /// A JSON artifact of a call, `Null` when it is not there (yet).
    pub async fn artifact(&self, id: &str, name: &str) -> Result<Value, ServiceError> {
        let Some(bytes) = self.ports.blobs.get(&output_key(id, name)).await? else { return Ok(Value::Null) };
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("{name} of {id}: {e}")).into())
    }

    /// Where a call's audio may be, best first: the upload, else a listener recording of the same id.
    /// `(blob key, file name)`; nothing for an id no call can have.
    async fn audio_sources(&self, id: &str) -> Vec<(String, String)> {
        if validate_call_id(id).is_err() {
            return Vec::new();
        }
        let call = self.get(id).await.ok().map(|v| v.value);
        let upload = call.filter(|c| !c.upload_key.is_empty()).map(|c| (c.upload_key, safe_filename(&c.filename)));
        upload.into_iter().chain([(format!("recordings/{id}.wav"), format!("{id}.wav"))]).collect()
    }

    /// The call's audio: the upload, else a listener recording of the same id; a short-lived link to it
    /// where storage presigns (see `delivery`), else its bytes.
    pub async fn audio(&self, id: &str) -> Result<Handout, ServiceError> {
        for (key, name) in self.audio_sources(id).await {
            if let Some(h) = delivery::stored(self.ports.blobs.as_ref(), &key, FileMeta::audio(&name)).await? {
                return Ok(h);
            }
        }
        Err(ServiceError::NotFound("Audio not found"))
    }

    /// Whether `audio` would find something, without reading it.
    pub async fn has_audio(&self, id: &str) -> Result<bool, ServiceError> {
        for (key, _) in self.audio_sources(id).await {
            if self.ports.blobs.exists(&key).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `POST /api/glossary`: validates and replaces the glossary file; returns its terms.
    pub async fn set_glossary(&self, bytes: Vec<u8>) -> Result<Vec<String>, ServiceError> {
        if bytes.len() > glossary::MAX_FILE_BYTES {
            return Err(bad(glossary::GlossaryError::TooLarge));
        }
        let text = String::from_utf8(bytes).map_err(|_| bad("Glossary must be UTF-8 text"))?;
        let terms = glossary::parse_file(&text).map_err(bad)?;
        self.ports.blobs.put(GLOSSARY_KEY, text.into_bytes()).await?;
        Ok(terms)
    }

    /// Publishes the call's state as `call_update` to whoever follows it.
    pub(super) async fn announce(&self, call: &BatchCall, meta: Value) {
        self.ports.push.publish(vec![PushMessage { call_id: call.id.clone(), body: call.update_message(meta) }]).await;
    }

    /// Sends calls back to the queue: outputs deleted, upload kept.
    pub async fn reprocess(&self, ids: &[String]) -> Result<usize, ServiceError> {
        let mut n = 0;
        for id in ids {
            let Ok(Versioned { mut value, version }) = self.get(id).await else { continue };
            for name in ARTIFACTS {
                self.ports.blobs.delete(&output_key(id, name)).await?;
            }
            value.requeue(self.now());
            value.digest = None;
            self.save(&value, version).await?;
            self.queue_job(id).await?;
            self.announce(&value, json!({})).await;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes calls with everything stored under their id: upload, outputs, recording (with what is under
    /// `recordings/<id>/`: a listener session's own file, parts not joined yet), realtime rows and live audio.
    pub async fn delete(&self, ids: &[String]) -> Result<usize, ServiceError> {
        let mut n = 0;
        for id in ids {
            let Ok(Versioned { value, .. }) = self.get(id).await else { continue };
            let mut keys: Vec<String> = ARTIFACTS.iter().map(|a| output_key(id, a)).collect();
            keys.extend([value.upload_key.clone(), format!("recordings/{id}.wav")]);
            keys.extend(value.transcript_key.clone());
            keys.extend(self.ports.blobs.list(&format!("recordings/{id}/")).await?);
            for key in keys.iter().filter(|k| !k.is_empty()) {
                self.ports.blobs.delete(key).await?;
            }
            self.ports.calls.delete_call(id).await?;
            crate::realtime::delete_live_blobs(self.ports.blobs.as_ref(), id).await?;
            self.ports.store.delete_batch_call(id).await?;
            tracing::info!(call_id = %id, "batch call deleted");
            n += 1;
        }
        Ok(n)
    }
}

/// Reads an uploaded transcript (the seed's `transcript.json` shapes), bounded.
pub fn parse_transcript(bytes: &[u8]) -> Result<Vec<transcript::Entry>, ServiceError> {
    if bytes.len() > MAX_TRANSCRIPT_BYTES {
        return Err(bad("Transcript file is too large"));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|_| bad("Transcript file is not valid JSON"))?;
    transcript::import(&v).map_err(|e| bad(format!("Transcript file: {e}")))
}

/// A call as the dashboard lists it.
pub fn list_row(c: &BatchCall) -> Value {
    let mut row = c.status_json();
    row["filename"] = json!(c.filename);
    row["created_at"] = json!(crate::values::timestamps::iso(&c.created_at));
    row["updated_at"] = json!(crate::values::timestamps::iso(&c.updated_at));
    row["duration_seconds"] = json!(c.duration_seconds);
    row["language_code"] = json!(c.options.language_code);
    row["stt_model"] = json!(c.options.stt_model);
    row["attempts"] = json!(c.attempts);
    row["has_audio"] = json!(!c.upload_key.is_empty());
    row["digest"] = serde_json::to_value(&c.digest).unwrap_or_default();
    row
}
