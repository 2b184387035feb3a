//! Exports of one call and bulk actions over many, in the seed's file names,
//! headers and JSON shapes.

use super::record::BatchCall;
use super::service::BatchService;
use crate::batch::exports::{self, CallInfo, INSIGHTS_HEADER, TRANSCRIPT_HEADER};
use crate::realtime::ServiceError;
use crate::values::timestamps::iso;
use serde_json::{Value, json};

/// Most calls one bulk request may name. A bulk action runs inside its request, and on AWS the HTTP API
/// answers 503 after 30 s while the function runs on (the client told it failed, half the calls deleted).
/// Deleting a call costs about 13 storage requests (its record, upload, six outputs, recordings listed and
/// deleted, realtime rows), one after another: 50 calls are some 650 requests, about 13 s at 20 ms each,
/// half the limit; an export of 50 analyses also stays far under Lambda's 6 MB response. More calls are
/// refused (400) and the client sends them in several requests.
pub const MAX_BULK_IDS: usize = 50;

/// A file to hand to the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    pub filename: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BulkResult {
    File(Download),
    /// Calls requeued or deleted.
    Changed {
        action: String,
        count: usize,
    },
}

const JSON: &str = "application/json";
const CSV: &str = "text/csv; charset=utf-8";

fn info(c: &BatchCall) -> CallInfo {
    CallInfo {
        id: c.id.clone(),
        filename: c.filename.clone(),
        status: c.status.as_str().into(),
        created_at: iso(&c.created_at),
        language_code: c.options.language_code.clone(),
        stt_model: c.options.stt_model.clone(),
    }
}

fn json_file(filename: String, v: &Value) -> Download {
    Download { filename, content_type: JSON, body: serde_json::to_vec_pretty(v).unwrap_or_default() }
}

fn csv_file(filename: String, header: &[&str], rows: &[Vec<String>]) -> Download {
    Download { filename, content_type: CSV, body: exports::csv(header, rows).into_bytes() }
}

impl BatchService {
    /// `GET /api/calls/{id}/export`: `format` json (default) or csv; `scope` transcript, anything else
    /// insights (as the seed read it).
    pub async fn export(&self, id: &str, format: Option<&str>, scope: Option<&str>) -> Result<Download, ServiceError> {
        let format = format.unwrap_or("json").trim().to_lowercase();
        if format != "json" && format != "csv" {
            return Err(ServiceError::BadRequest("Unsupported export format".into()));
        }
        let call = self.get(id).await?.value;
        let scope =
            if scope.is_some_and(|s| s.trim().eq_ignore_ascii_case("transcript")) { "transcript" } else { "insights" };
        let name = format!("call_{}_{scope}.{format}", call.id);
        let transcript = self.artifact(id, "transcript.json").await?;
        let analysis = self.artifact(id, "analysis.json").await?;
        Ok(match (format.as_str(), scope) {
            ("json", _) => json_file(name, &exports::call_json(&info(&call), scope, &transcript, &analysis)),
            (_, "transcript") => csv_file(name, &TRANSCRIPT_HEADER, &exports::transcript_rows(&transcript)),
            _ => csv_file(name, &INSIGHTS_HEADER, &[exports::insights_row(&info(&call), &analysis)]),
        })
    }

    /// `POST /api/calls/bulk`. Unknown ids are ignored; none known → "No calls selected" (checked before
    /// the action, as the seed did).
    pub async fn bulk(&self, action: &str, ids: &[String]) -> Result<BulkResult, ServiceError> {
        if ids.len() > MAX_BULK_IDS {
            return Err(ServiceError::BadRequest(format!("At most {MAX_BULK_IDS} calls per bulk action")));
        }
        let mut calls = Vec::new();
        for id in ids.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
            if let Ok(c) = self.get(id).await {
                calls.push(c.value);
            }
        }
        if calls.is_empty() {
            return Err(ServiceError::BadRequest("No calls selected".into()));
        }
        let ids: Vec<String> = calls.iter().map(|c| c.id.clone()).collect();
        let action = action.trim().to_lowercase();
        match action.as_str() {
            "export_json" => {
                let mut docs = Vec::new();
                for c in &calls {
                    let i = info(c);
                    docs.push(
                        json!({"id": i.id, "filename": i.filename, "status": i.status, "created_at": i.created_at,
                                     "analysis": self.artifact(&c.id, "analysis.json").await?}),
                    );
                }
                Ok(BulkResult::File(json_file("calls_export.json".into(), &Value::Array(docs))))
            }
            "export_csv" => {
                let mut rows = Vec::new();
                for c in &calls {
                    let i = info(c);
                    let mut row = exports::insights_row(&i, &self.artifact(&c.id, "analysis.json").await?);
                    row.splice(2..2, [i.status.clone(), i.created_at.clone()]);
                    rows.push(row);
                }
                let mut header: Vec<&str> = INSIGHTS_HEADER.to_vec();
                header.splice(2..2, ["status", "created_at"]);
                Ok(BulkResult::File(csv_file("calls_export.csv".into(), &header, &rows)))
            }
            "export_transcript_csv" => {
                let mut rows = Vec::new();
                for c in &calls {
                    for mut row in exports::transcript_rows(&self.artifact(&c.id, "transcript.json").await?) {
                        row.insert(0, c.id.clone());
                        rows.push(row);
                    }
                }
                let header: Vec<&str> = std::iter::once("call_id").chain(TRANSCRIPT_HEADER).collect();
                Ok(BulkResult::File(csv_file("calls_export.csv".into(), &header, &rows)))
            }
            "reprocess" => Ok(BulkResult::Changed { count: self.reprocess(&ids).await?, action }),
            "delete" => Ok(BulkResult::Changed { count: self.delete(&ids).await?, action }),
            _ => Err(ServiceError::BadRequest("Unsupported bulk action".into())),
        }
    }
}
