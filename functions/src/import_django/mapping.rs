//! The old system's rows as this system's records (pure: rows in, records or a reason out). Stable keys
//! derived from the old ids make the import idempotent: an event or alert is written under the idempotency
//! key of its old id, so a second run finds it instead of writing it again.

use super::row::Row;
use serde_json::Value;
use shared::batch::{BatchCall, BatchStatus, CallOptions, output_key, record::safe_filename};
use shared::realtime::domain::{AlertType, CallState, NewAlert, NewEvent, Severity};
use shared::values::ids::validate_call_id;
use shared::values::timestamps::Timestamp;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Written with a call's first commit: the call exists because the importer made it.
pub const BEGIN_KEY: &str = "django:import-started";
/// Written with a call's last commit: everything of it is in.
pub const DONE_KEY: &str = "django:imported";

pub fn event_key(old_id: i64) -> String {
    format!("django:event:{old_id}")
}

pub fn alert_key(old_id: i64) -> String {
    format!("django:alert:{old_id}")
}

/// A row left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// `call`, `realtime call`, `event` or `alert`.
    pub kind: &'static str,
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAlert {
    pub old_id: i64,
    pub alert: NewAlert,
    pub acknowledged_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEvent {
    pub old_id: i64,
    pub event: NewEvent,
    /// The alerts this event raised (their `metadata.event_id`), committed with it so the store links them.
    pub alerts: Vec<PlannedAlert>,
}

/// A realtime call as it will be stored: its final state, its events (oldest first) and the alerts no
/// imported event raised.
#[derive(Debug, Clone, PartialEq)]
pub struct RealtimePlan {
    pub state: CallState,
    pub events: Vec<PlannedEvent>,
    pub loose_alerts: Vec<PlannedAlert>,
}

impl RealtimePlan {
    pub fn alerts(&self) -> impl Iterator<Item = &PlannedAlert> {
        self.events.iter().flat_map(|e| &e.alerts).chain(&self.loose_alerts)
    }
}

fn id_of(row: &Row, col: &str) -> Result<i64, String> {
    match row.number(col)? {
        Some(x) if x.fract() == 0.0 => Ok(x as i64),
        _ => Err(format!("{col} is not a whole number")),
    }
}

/// A score kept in its range (this system's invariant; the old one did not clamp).
fn clamped(x: Option<f64>, lo: f64, hi: f64) -> Option<f64> {
    x.map(|v| v.clamp(lo, hi))
}

fn event(row: &Row) -> Result<(i64, NewEvent), String> {
    let id = id_of(row, "id")?;
    let event = NewEvent {
        occurred_at: row.required_time("occurred_at")?,
        event_type: row.text("event_type").map_or_else(|| "transcript".into(), |t| t.trim().to_lowercase()),
        speaker: row.text("speaker").map(|s| s.trim().to_lowercase()),
        text: row.text("text").unwrap_or_default(),
        sentiment: clamped(row.number("sentiment")?, -1.0, 1.0),
        confidence: clamped(row.number("confidence")?, 0.0, 1.0),
        metadata: row.object("metadata")?,
    };
    Ok((id, event))
}

fn alert(row: &Row) -> Result<(PlannedAlert, Option<i64>), String> {
    let old_id = id_of(row, "id")?;
    let kind = row.text("alert_type").unwrap_or_default();
    let alert_type = AlertType::parse(kind.trim()).ok_or_else(|| format!("unknown alert_type {kind:?}"))?;
    let sev = row.text("severity").unwrap_or_default();
    let severity = Severity::parse(sev.trim()).ok_or_else(|| format!("unknown severity {sev:?}"))?;
    let created_at = row.required_time("created_at")?;
    let mut metadata = row.object("metadata")?;
    // The old event id means nothing here: the store writes the new one when the alert goes in with its event.
    let event_id = metadata.remove("event_id").and_then(|v| v.as_i64());
    let acknowledged_at = match row.flag("acknowledged") {
        Some(true) => Some(row.time("acknowledged_at")?.unwrap_or(created_at)),
        _ => None,
    };
    let message = row.text("message").unwrap_or_default();
    let alert = NewAlert { alert_type, severity, message, created_at, metadata };
    Ok((PlannedAlert { old_id, alert, acknowledged_at }, event_id))
}

/// Maps a `realtime_call` row with its event and alert rows. A bad call row refuses the whole call; a bad
/// event or alert row is left out and reported.
pub fn realtime_call(call: &Row, events: &[Row], alerts: &[Row]) -> Result<(RealtimePlan, Vec<Skipped>), String> {
    let call_id = call.text("call_id").unwrap_or_default();
    validate_call_id(&call_id).map_err(|e| e.to_string())?;
    let created_at = call.required_time("created_at")?;
    let updated_at = call.time("updated_at")?.unwrap_or(created_at);
    let mut skipped = Vec::new();
    let skip = |kind, row: &Row, reason| Skipped { kind, id: row.text("id").unwrap_or_default(), reason };
    let mut planned: Vec<PlannedEvent> = Vec::new();
    for row in events {
        match event(row) {
            Ok((old_id, event)) => planned.push(PlannedEvent { old_id, event, alerts: Vec::new() }),
            Err(reason) => skipped.push(skip("event", row, reason)),
        }
    }
    planned.sort_by_key(|e| (e.event.occurred_at, e.old_id));
    let mut state = CallState {
        call_id,
        provider: call.text("provider").unwrap_or_else(|| "generic".into()),
        status: call.text("status").map_or_else(|| "active".into(), |s| s.trim().to_lowercase()),
        created_at,
        updated_at,
        agent_id: call.text("agent_id"),
        customer_id: call.text("customer_id"),
        last_speaker: call.text("last_speaker").map(|s| s.to_lowercase()),
        last_text: call.text("last_text").unwrap_or_default(),
        sentiment_score: clamped(call.number("sentiment_score")?, -1.0, 1.0).unwrap_or(0.0),
        sentiment_samples: planned.iter().filter(|e| e.event.sentiment.is_some()).count() as u64,
        risk_score: clamped(call.number("risk_score")?, 0.0, 1.0).unwrap_or(0.0),
        // No decay from the import's time: the score reads as the old system left it.
        risk_updated_at: None,
        metadata: call.object("metadata")?,
        last_alert_at: BTreeMap::new(),
        last_alert_severity: BTreeMap::new(),
        dead_air_counted_seconds: 0.0,
        event_count: 0,
    };
    let event_ids: HashSet<i64> = planned.iter().map(|e| e.old_id).collect();
    let mut loose = Vec::new();
    let mut by_time: Vec<PlannedAlert> = Vec::new();
    for row in alerts {
        match alert(row) {
            Ok((a, Some(ev))) if event_ids.contains(&ev) => {
                by_time.push(a.clone());
                planned.iter_mut().filter(|e| e.old_id == ev).for_each(|e| e.alerts.push(a.clone()));
            }
            Ok((a, _)) => {
                by_time.push(a.clone());
                loose.push(a);
            }
            Err(reason) => skipped.push(skip("alert", row, reason)),
        }
    }
    // Cooldowns go on from the old system's last alert of each type.
    by_time.sort_by_key(|a| a.alert.created_at);
    for a in by_time {
        state.last_alert_at.insert(a.alert.alert_type, a.alert.created_at);
        state.last_alert_severity.insert(a.alert.alert_type, a.alert.severity);
    }
    Ok((RealtimePlan { state, events: planned, loose_alerts: loose }, skipped))
}

/// Whether `serve`'s housekeeping would delete the call at once (`retention_days` 0: never).
pub fn expired(state: &CallState, now: Timestamp, retention_days: u64) -> bool {
    retention_days > 0 && now - state.updated_at > chrono::Duration::days(retention_days.min(1_000_000) as i64)
}

/// A file to copy into the blob store: where the old system may have left it, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFile {
    pub key: String,
    pub candidates: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    pub call: BatchCall,
    pub upload: PlannedFile,
    pub artifacts: Vec<PlannedFile>,
}

/// The `call` columns naming each artifact, and the artifact's name here (the old file names).
const ARTIFACT_COLUMNS: [(Option<&str>, &str); 7] = [
    (Some("transcript_json_path"), "transcript.json"),
    (Some("transcript_text_path"), "transcript.txt"),
    (Some("analysis_json_path"), "analysis.json"),
    (Some("qa_json_path"), "qa.json"),
    (Some("summary_json_path"), "summary.json"),
    (Some("raw_llm_path"), "analysis_raw.txt"),
    (None, "analysis_input.txt"),
];

/// Where a stored path may be now: as stored (absolute, or relative to the old system's folder), else the
/// conventional place under `root` (the old folder moved, or the path was absolute on another machine).
fn candidates(stored: Option<String>, root: &Path, conventional: PathBuf) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = stored.map(|s| root.join(s.trim())).into_iter().collect();
    let fallback = root.join(conventional);
    if !out.contains(&fallback) {
        out.push(fallback);
    }
    out
}

fn status(text: &str) -> Option<(BatchStatus, u8)> {
    match text {
        "queued" => Some((BatchStatus::Queued, 0)),
        "processing" => Some((BatchStatus::Processing, 10)),
        "completed" => Some((BatchStatus::Completed, 100)),
        "failed" => Some((BatchStatus::Failed, 100)),
        _ => None,
    }
}

/// Maps a `call` row; `root` is the folder the old system ran in (its relative paths start there).
pub fn batch_call(row: &Row, root: &Path) -> Result<BatchPlan, String> {
    let id = row.text("id").unwrap_or_default();
    validate_call_id(&id).map_err(|e| e.to_string())?;
    let raw_status = row.text("status").unwrap_or_default();
    let (status, progress) =
        status(raw_status.trim()).ok_or_else(|| format!("unknown status {:?}", raw_status.trim()))?;
    let filename = row.text("filename").unwrap_or_else(|| "upload".into());
    let created_at = row.required_time("created_at")?;
    let num_speakers = row.number("num_speakers")?.filter(|n| *n >= 1.0 && *n <= 64.0).map(|n| n as u32);
    let options = CallOptions {
        language_code: row.text("language_code").unwrap_or_default(),
        stt_model: row.text("stt_model").unwrap_or_default(),
        with_diarization: row.flag("with_diarization").unwrap_or(false),
        num_speakers,
        prompt: row.text("prompt"),
        prompt_pack: row.text("prompt_pack").unwrap_or_else(|| "general".into()),
        glossary_terms: row.text("glossary_terms").unwrap_or_default(),
    };
    let upload_key = format!("uploads/{id}/{}", safe_filename(&filename));
    let mut call = BatchCall::new(id.clone(), filename.clone(), upload_key.clone(), options, created_at);
    call.advance(status, status.as_str(), progress, row.time("updated_at")?.unwrap_or(created_at));
    call.duration_seconds = row.number("duration_seconds")?.filter(|d| *d >= 0.0);
    call.error_message = row.text("error_message");
    call.attempts = u32::from(status != BatchStatus::Queued);
    let uploaded = PathBuf::from("data/uploads").join(format!("{id}_{filename}"));
    let upload = PlannedFile { key: upload_key, candidates: candidates(row.text("storage_path"), root, uploaded) };
    let outputs = PathBuf::from("data/outputs").join(&id);
    let artifacts = ARTIFACT_COLUMNS
        .iter()
        .map(|(col, name)| PlannedFile {
            key: output_key(&id, name),
            candidates: candidates(col.and_then(|c| row.text(c)), root, outputs.join(name)),
        })
        .collect();
    Ok(BatchPlan { call, upload, artifacts })
}

/// Whether a stored batch call is the one this row maps to (a second run), not another call that took the
/// id since.
pub fn same_batch_call(stored: &BatchCall, planned: &BatchCall) -> bool {
    stored.filename == planned.filename && stored.created_at == planned.created_at
}

/// The digest of an artifact `analysis.json`, when it is JSON.
pub fn digest_of(analysis: &[u8]) -> Option<shared::batch::Digest> {
    serde_json::from_slice::<Value>(analysis).ok().filter(Value::is_object).map(|v| shared::batch::digest(&v))
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
