//! Credentials and the two checks: the ingest token (providers; `X-Cloud-Token` or `Authorization: Bearer`,
//! as in the seed) and the supervisor bearer token (everything else). Both compared in constant time.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::settings::secret::constant_time_eq;

/// How supervisors prove who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorAuth {
    /// A bearer token, compared in constant time (the local process).
    Token(String),
    /// API Gateway's JWT authorizer (Cognito) already verified the caller; the request must carry its claims.
    #[cfg(feature = "aws")]
    ApiGatewayJwt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub ingest_token: String,
    pub supervisor: SupervisorAuth,
}

impl Credentials {
    /// The supervisor token, when supervisors use one.
    pub fn supervisor_token(&self) -> Option<&str> {
        match &self.supervisor {
            SupervisorAuth::Token(t) => Some(t),
            #[cfg(feature = "aws")]
            SupervisorAuth::ApiGatewayJwt => None,
        }
    }
}

/// The token in `Authorization: Bearer <token>` (scheme case-insensitive), trimmed.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| rest.trim())
}

fn ingest_ok(headers: &HeaderMap, token: &str) -> bool {
    let cloud = headers.get("x-cloud-token").and_then(|v| v.to_str().ok()).map(str::trim);
    cloud.is_some_and(|t| constant_time_eq(t, token)) || bearer(headers).is_some_and(|t| constant_time_eq(t, token))
}

pub fn supervisor_ok(headers: &HeaderMap, token: &str) -> bool {
    bearer(headers).is_some_and(|t| constant_time_eq(t, token))
}

pub async fn require_ingest(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if ingest_ok(req.headers(), &state.credentials.ingest_token) {
        return next.run(req).await;
    }
    ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized ingest token").into_response()
}

pub fn unauthorized() -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "Missing or invalid supervisor token").into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

fn supervisor_allowed(req: &Request, auth: &SupervisorAuth) -> bool {
    match auth {
        SupervisorAuth::Token(t) => supervisor_ok(req.headers(), t),
        #[cfg(feature = "aws")]
        SupervisorAuth::ApiGatewayJwt => crate::lambda::jwt_verified(req),
    }
}

pub async fn require_supervisor(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if supervisor_allowed(&req, &state.credentials.supervisor) {
        return next.run(req).await;
    }
    unauthorized()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn ingest_headers_as_the_seed() {
        assert!(ingest_ok(&headers(&[("x-cloud-token", " tok ")]), "tok"));
        assert!(ingest_ok(&headers(&[("authorization", "BEARER tok")]), "tok"));
        assert!(!ingest_ok(&headers(&[("authorization", "Basic tok")]), "tok"));
        assert!(!ingest_ok(&headers(&[("x-cloud-token", "nope")]), "tok"));
        assert!(!ingest_ok(&headers(&[]), "tok"));
        assert!(!supervisor_ok(&headers(&[("x-cloud-token", "tok")]), "tok"));
    }
}
