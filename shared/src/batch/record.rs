//! A batch call: one uploaded recording (or transcript) on its way through the queue, the worker and the
//! analysis, in the seed's `call` fields plus progress, attempts and a digest of the analysis that lets
//! the dashboard filter and chart without reading every call's `analysis.json` (the seed did, per request).

use crate::values::timestamps::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The seed's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchStatus {
    Queued,
    Processing,
    Completed,
    Failed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

/// What the uploader chose (the seed's upload fields, already validated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallOptions {
    pub language_code: String,
    pub stt_model: String,
    pub with_diarization: bool,
    pub num_speakers: Option<u32>,
    pub prompt: Option<String>,
    pub prompt_pack: String,
    pub glossary_terms: String,
}

/// The parts of `analysis.json` the dashboard filters and charts on, kept on the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub topics: Vec<String>,
    /// Distinct speaker roles (Agent, Customer, Other).
    pub roles: Vec<String>,
    pub sentiment_overall: Option<f64>,
    pub resolution_status: Option<String>,
    pub sla_breach: bool,
    pub talk_ratio: Option<f64>,
    pub interruptions: Option<f64>,
    pub empathy: Option<f64>,
    pub auto_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCall {
    pub id: String,
    /// The uploader's file name (display only; storage uses `upload_key`).
    pub filename: String,
    /// The blob holding the upload (`uploads/<id>/<safe name>`).
    pub upload_key: String,
    /// A transcript uploaded with (or instead of) the audio: imported instead of transcribing.
    pub transcript_key: Option<String>,
    pub status: BatchStatus,
    /// 0–100, with the stage that set it (the seed's `call_update` stages).
    pub progress: u8,
    pub stage: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub duration_seconds: Option<f64>,
    pub options: CallOptions,
    pub error_message: Option<String>,
    /// Processing attempts started.
    pub attempts: u32,
    pub digest: Option<Digest>,
}

impl BatchCall {
    pub fn new(id: String, filename: String, upload_key: String, options: CallOptions, now: Timestamp) -> Self {
        Self {
            id,
            filename,
            upload_key,
            transcript_key: None,
            status: BatchStatus::Queued,
            progress: 0,
            stage: "queued".into(),
            created_at: now,
            updated_at: now,
            duration_seconds: None,
            options,
            error_message: None,
            attempts: 0,
            digest: None,
        }
    }

    /// Moves to `status` at `stage`/`progress`.
    pub fn advance(&mut self, status: BatchStatus, stage: &str, progress: u8, now: Timestamp) {
        self.status = status;
        self.stage = stage.to_string();
        self.progress = progress.min(100);
        self.updated_at = now;
    }

    /// Back to the queue (reprocess): the error goes, the upload and earlier outputs' record stay.
    pub fn requeue(&mut self, now: Timestamp) {
        self.advance(BatchStatus::Queued, "queued", 0, now);
        self.error_message = None;
        self.attempts = 0;
    }

    pub fn fail(&mut self, reason: &str, now: Timestamp) {
        self.advance(BatchStatus::Failed, "failed", 100, now);
        self.error_message = Some(reason.to_string());
    }

    /// The seed's `GET /api/calls/<id>` shape plus progress and stage.
    pub fn status_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "status": self.status.as_str(),
            "error_message": self.error_message,
            "progress": self.progress,
            "stage": self.stage,
        })
    }

    /// The `call_update` push message for this state (the seed's SSE message, keyed by the batch id).
    pub fn update_message(&self, meta: Value) -> Value {
        let mut m = serde_json::json!({
            "type": "call_update",
            "call_id": self.id,
            "status": self.status.as_str(),
            "progress": self.progress,
            "stage": self.stage,
            "meta": meta,
        });
        if let Some(e) = &self.error_message {
            m["error"] = Value::String(e.clone());
        }
        m
    }
}

/// A new batch call id: the seed's 20-digit UTC timestamp (`YYYYMMDDHHMMSSffffff`), so ids sort by upload
/// time. `bump` microseconds are added to step past an id already taken.
pub fn new_id(now: &Timestamp, bump: u32) -> String {
    let t = *now + chrono::Duration::microseconds(i64::from(bump));
    t.format("%Y%m%d%H%M%S%6f").to_string()
}

/// The storage name of an uploaded file: the base name with anything outside a safe set replaced, bounded,
/// never hidden or empty.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    let trimmed = cleaned.trim_start_matches('.');
    let mut out: String = trimmed.chars().rev().take(100).collect::<Vec<_>>().into_iter().rev().collect();
    if out.is_empty() {
        out = "upload".into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::timestamps::parse_iso;

    #[test]
    fn ids_are_the_seeds_timestamps() {
        let now = parse_iso("2026-02-10T10:15:20.123456Z").unwrap();
        assert_eq!(new_id(&now, 0), "20260210101520123456");
        assert_eq!(new_id(&now, 1), "20260210101520123457");
    }

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\calls\\my call (1).mp3"), "my_call__1_.mp3");
        assert_eq!(safe_filename(".hidden.wav"), "hidden.wav");
        assert_eq!(safe_filename(""), "upload");
        assert_eq!(safe_filename("..."), "upload");
        assert_eq!(safe_filename(&format!("{}.wav", "a".repeat(300))).len(), 100);
    }

    #[test]
    fn lifecycle() {
        let now = parse_iso("2026-02-10T10:15:20Z").unwrap();
        let mut c = BatchCall::new("1".into(), "a.wav".into(), "uploads/1/a.wav".into(), CallOptions::default(), now);
        c.advance(BatchStatus::Processing, "transcription_start", 10, now);
        c.fail("no provider", now);
        assert_eq!(c.status_json()["status"], "failed");
        assert_eq!(c.update_message(serde_json::json!({}))["error"], "no provider");
        c.requeue(now);
        assert_eq!((c.status, c.progress, c.error_message.as_deref()), (BatchStatus::Queued, 0, None));
    }
}
