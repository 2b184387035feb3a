//! HTTP errors: every failure leaves as a status code and a JSON `{"detail": ...}` body. The mapping from
//! service errors to status codes lives here and nowhere else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Bytes, extract::rejection::BytesRejection};
use serde_json::{Map, Value, json};
use shared::realtime::ServiceError;
use shared::realtime::normalize::parse_object;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<Value>) -> Self {
        Self { status, body: json!({"detail": detail.into()}) }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::BadRequest(m) => Self::new(StatusCode::BAD_REQUEST, m),
            ServiceError::AudioEventsRejected { audio, warnings } => Self {
                status: StatusCode::BAD_REQUEST,
                body: json!({"detail": "No realtime events were ingested from audio payload", "audio": audio, "warnings": warnings}),
            },
            ServiceError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m),
            ServiceError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
            ServiceError::Contention => Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            ServiceError::Store(err) => {
                tracing::error!(error = %err, "storage failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal storage error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Reads a bounded body as a JSON object (empty body = `{}`), with the seed's error texts.
pub fn json_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
        status => ApiError::new(status, r.body_text()),
    })?;
    parse_object(&bytes).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))
}
