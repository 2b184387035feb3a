//! One reading of an HTTP exchange with an outside provider (speech to text, LLM): send, sort the status
//! into "try again later" or "refused", and read the body up to a limit so a broken or hostile server
//! cannot make us hold an unbounded answer. Each provider turns [`ReplyError`] into its own error type.

use reqwest::{RequestBuilder, Response, StatusCode};
use thiserror::Error;

/// Most characters of an error body quoted back to operators.
const QUOTED_CHARS: usize = 240;
/// Most bytes of an error body read to quote it.
const ERROR_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplyError {
    /// Network trouble, timeouts, 408, 429 and 5xx: worth trying again later.
    #[error("{0}")]
    Transient(String),
    /// Any other non-success status: our request or credentials are wrong; retrying will not help.
    #[error("{0}")]
    Rejected(String),
    /// The body was bigger than the caller allows.
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
}

/// Statuses that may heal on their own.
pub fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error()
}

fn transport(e: reqwest::Error) -> ReplyError {
    // `without_url`: presigned URLs carry credentials in their query.
    ReplyError::Transient(crate::outbound::error_chain(&e.without_url()))
}

/// Reads at most `limit` bytes of the body, failing as soon as it is known to be larger.
pub async fn read_bounded(mut response: Response, limit: usize) -> Result<Vec<u8>, ReplyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReplyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReplyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sends the request and returns the body of a 2xx answer (at most `limit` bytes); other statuses become
/// errors quoting the start of their body.
pub async fn send(request: RequestBuilder, limit: usize) -> Result<Vec<u8>, ReplyError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return read_bounded(response, limit).await;
    }
    let body = read_bounded(response, limit.min(ERROR_BODY_BYTES)).await.unwrap_or_default();
    let quoted: String = String::from_utf8_lossy(&body).chars().take(QUOTED_CHARS).collect();
    let why = format!("HTTP {} {}", status.as_u16(), quoted.trim());
    Err(if is_transient(status) { ReplyError::Transient(why) } else { ReplyError::Rejected(why) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses() {
        for s in [429, 408, 500, 502, 503, 504] {
            assert!(is_transient(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422] {
            assert!(!is_transient(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }
}
