//! Batch calls: upload (`POST /api/calls`, multipart; `POST /api/calls/upload-url` for direct-to-storage
//! uploads on AWS), reads (list with the dashboard filters, status, detail, audio, export, metrics,
//! insights) and management (bulk actions, glossary). All behind the supervisor credential.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::batch::downloads::{BulkResult, Download};
use shared::batch::listing::Filter;
use shared::batch::{MAX_TRANSCRIPT_BYTES, Upload, list_row, settings};
use std::collections::HashMap;

/// Room for the multipart framing and form fields around the file.
const FORM_OVERHEAD: usize = 1024 * 1024;
/// Longest text field of the upload form: room for the longest field the form takes (`glossary_terms`, 8000
/// characters) at four bytes a character.
const MAX_FIELD_BYTES: usize = 32 * 1024;

fn bad(detail: impl Into<Value>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, detail)
}

fn multipart_error(e: impl std::fmt::Display + HasStatus) -> ApiError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Upload too large"),
        _ => bad(format!("Invalid multipart form: {e}")),
    }
}

/// Both multipart error types carry the status axum would answer with.
trait HasStatus {
    fn status(&self) -> StatusCode;
}
impl HasStatus for MultipartRejection {
    fn status(&self) -> StatusCode {
        MultipartRejection::status(self)
    }
}
impl HasStatus for axum::extract::multipart::MultipartError {
    fn status(&self) -> StatusCode {
        axum::extract::multipart::MultipartError::status(self)
    }
}

/// A form field's bytes, read only up to `max`: past it the request is refused with `too_long` (400) and
/// the rest is not read.
async fn field_bytes(mut field: Field<'_>, max: usize, too_long: &str) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > max {
            return Err(bad(too_long));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// An uploaded transcript: small, parsed before anything is stored, so read whole up to its own bound.
async fn transcript_bytes(field: Field<'_>) -> Result<Vec<u8>, ApiError> {
    field_bytes(field, MAX_TRANSCRIPT_BYTES, "Transcript file is too large").await
}

fn is_json_file(name: &str, content_type: Option<&str>) -> bool {
    name.to_lowercase().ends_with(".json") || content_type.is_some_and(|t| t.starts_with("application/json"))
}

/// `POST /api/calls`: `file` (audio, or a transcript `.json`), optional `transcript`, and the seed's fields,
/// in any order. Audio is streamed to storage as it arrives (`BatchService::stage_audio`), never held; what
/// was staged is deleted if the form is then refused or the client goes away.
async fn upload(State(s): State<AppState>, form: Result<Multipart, MultipartRejection>) -> Result<Response, ApiError> {
    let mut form = form.map_err(multipart_error)?;
    let mut up = Upload::default();
    let mut fields = HashMap::new();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let filename = field.file_name().unwrap_or("upload").to_string();
                if is_json_file(&filename, field.content_type()) {
                    up.transcript = Some(transcript_bytes(field).await?).filter(|b| !b.is_empty());
                    if up.transcript.is_none() {
                        return Err(bad("Missing file"));
                    }
                } else {
                    up.audio = Some(s.batch.stage_audio(field.map_err(std::io::Error::other).boxed()).await?);
                }
                up.filename = filename;
            }
            "transcript" => up.transcript = Some(transcript_bytes(field).await?).filter(|b| !b.is_empty()),
            _ => {
                let bytes = field_bytes(field, MAX_FIELD_BYTES, &format!("Field {name} is too long")).await?;
                fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    up.options = settings::call_options(&fields, &s.batch.config).map_err(|e| bad(e.to_string()))?;
    let call = s.batch.submit(up).await?;
    Ok((StatusCode::CREATED, Json(list_row(&call))).into_response())
}

#[derive(Deserialize)]
struct DirectUpload {
    filename: String,
    #[serde(default)]
    fields: HashMap<String, String>,
}

/// `POST /api/calls/upload-url` `{"filename", "fields": {...}}`: the call is recorded and the client `PUT`s
/// the file to the returned URL (S3 presigned, 15 minutes); its arrival queues the job. For uploads larger
/// than an API request may carry.
async fn upload_url(
    State(s): State<AppState>,
    body: Result<Json<DirectUpload>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(|e| bad(format!("Invalid upload request: {}", e.body_text())))?;
    if b.filename.trim().is_empty() || b.filename.chars().count() > 512 {
        return Err(bad("filename is required (at most 512 characters)"));
    }
    let options = settings::call_options(&b.fields, &s.batch.config).map_err(|e| bad(e.to_string()))?;
    match s.batch.direct_upload(&b.filename, options).await? {
        Some((call, url)) => {
            let mut row = list_row(&call);
            row["upload"] =
                json!({"method": "PUT", "url": url, "expires_in": shared::batch::UPLOAD_URL_LIFETIME.as_secs()});
            Ok((StatusCode::CREATED, Json(row)).into_response())
        }
        None => Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, "Direct uploads need S3; upload with POST /api/calls")),
    }
}

fn page(q: &HashMap<String, String>, key: &str, default: usize) -> usize {
    q.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

async fn list(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let filter = Filter::from_query(&q).map_err(|e| bad(e.to_string()))?;
    Ok(Json(s.batch.list(&filter, page(&q, "page", 1), page(&q, "page_size", 10)).await?))
}

async fn status(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.batch.get(&id).await?.value.status_json()))
}

async fn detail(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.batch.detail(&id).await?))
}

/// The transcript artifact whole (the detail carries a long one cut short): as `audio`, a link on AWS.
async fn transcript(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    Ok(super::handout(s.batch.transcript(&id).await?, &q))
}

async fn audio(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    Ok(super::handout(s.batch.audio(&id).await?, &q))
}

/// A file to save. Where the host caps responses, one past the cap is refused (413) rather than lost at
/// the gateway: exports are text, sent as a JSON string (quotes, backslashes and newlines escaped, control
/// characters six bytes), so that string is what is measured.
fn attachment(d: Download, limit: Option<usize>) -> Result<Response, ApiError> {
    if let Some(limit) = limit {
        let sent = serde_json::to_string(&String::from_utf8_lossy(&d.body)).map_or(usize::MAX, |s| s.len());
        if sent > limit {
            let detail = format!(
                "{} would take {sent} bytes; a response here carries at most {limit} (export fewer calls at once)",
                d.filename
            );
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, detail));
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, d.content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename={}", d.filename)),
        ],
        d.body,
    )
        .into_response())
}

async fn export(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let d = s.batch.export(&id, q.get("format").map(String::as_str), q.get("scope").map(String::as_str)).await?;
    attachment(d, s.response_limit)
}

async fn metrics(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.batch.daily_counts().await?))
}

async fn insights(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let filter = Filter::from_query(&q).map_err(|e| bad(e.to_string()))?;
    Ok(Json(s.batch.insights(&filter).await?))
}

#[derive(Deserialize)]
struct BulkBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    call_ids: Vec<String>,
}

async fn bulk(
    State(s): State<AppState>,
    body: Result<Json<BulkBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(|e| bad(format!("Invalid bulk request: {}", e.body_text())))?;
    Ok(match s.batch.bulk(&b.action, &b.call_ids).await? {
        BulkResult::File(d) => attachment(d, s.response_limit)?,
        BulkResult::Changed { action, count } => {
            Json(json!({"ok": true, "action": action, "count": count})).into_response()
        }
    })
}

/// `POST /api/glossary`: multipart `file`, validated, replaces the glossary. The whole form is read first, so
/// a form malformed after its `file` part is refused like one malformed before it.
async fn glossary(
    State(s): State<AppState>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut form = form.map_err(multipart_error)?;
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() == Some("file") && file.is_none() {
            let too_large = shared::analysis::glossary::GlossaryError::TooLarge.to_string();
            file = Some(field_bytes(field, shared::analysis::glossary::MAX_FILE_BYTES, &too_large).await?);
        }
    }
    let terms = s.batch.set_glossary(file.ok_or_else(|| bad("Missing file"))?).await?;
    Ok(Json(json!({"ok": true, "terms": terms})))
}

/// Uploads (the body limit is the audio limit plus the form around it).
pub fn upload_router(state: &AppState) -> Router<AppState> {
    let limit = state.batch.audio.max_bytes.saturating_add(FORM_OVERHEAD);
    let r = Router::new()
        .route("/api/calls", post(upload).layer(DefaultBodyLimit::max(limit)))
        .route("/api/calls/upload-url", post(upload_url).layer(DefaultBodyLimit::max(64 * 1024)));
    super::supervisor(state, r)
}

/// Reads: lists, status, detail, transcript, audio, exports and the dashboard's numbers.
pub fn read_router(state: &AppState) -> Router<AppState> {
    let r = Router::new()
        .route("/api/calls", get(list))
        .route("/api/calls/{call_id}", get(status))
        .route("/api/calls/{call_id}/detail", get(detail))
        .route("/api/calls/{call_id}/transcript", get(transcript))
        .route("/api/calls/{call_id}/audio", get(audio))
        .route("/api/calls/{call_id}/export", get(export))
        .route("/api/metrics", get(metrics))
        .route("/api/insights", get(insights));
    super::supervisor(state, r)
}

/// Management: bulk actions and the glossary.
pub fn manage_router(state: &AppState) -> Router<AppState> {
    let r = Router::new().route("/api/calls/bulk", post(bulk).layer(DefaultBodyLimit::max(256 * 1024))).route(
        "/api/glossary",
        post(glossary).layer(DefaultBodyLimit::max(shared::analysis::glossary::MAX_FILE_BYTES + FORM_OVERHEAD)),
    );
    super::supervisor(state, r)
}
