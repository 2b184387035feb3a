//! The Genesys Platform API client: OAuth client credentials (token cached, renewed 60 s before expiry,
//! a 401 renews it once and retries), every call paced by the request budget, 429 honoured with
//! `Retry-After`, network errors, 408 and 5xx retried with exponential backoff and jitter.

use super::budget::{Budget, REQUESTS_PER_MINUTE};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::settings::env::{self, EnvError, EnvSource};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Renew the token this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Longest error body quoted.
const QUOTED_BODY_CHARS: usize = 240;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    /// `GENESYS_LOGIN_BASE_URL` (`https://login.` + `GENESYS_REGION`, which defaults to mypurecloud.com).
    pub login_base: String,
    /// `GENESYS_API_BASE_URL` (`https://api.` + `GENESYS_REGION`).
    pub api_base: String,
    /// `GENESYS_CLIENT_ID`, `GENESYS_CLIENT_SECRET` (required).
    pub client_id: String,
    pub client_secret: String,
    /// `GENESYS_HTTP_TIMEOUT_SECONDS` (20, at least 5).
    pub timeout: Duration,
    /// `GENESYS_RETRY_MAX_ATTEMPTS` (5, at least 1).
    pub max_attempts: u32,
    /// `GENESYS_RETRY_BACKOFF_SECONDS` (1.5, at least 0.2): first retry delay, doubled per attempt.
    pub backoff: Duration,
}

impl ApiSettings {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let region = env::string(e, "GENESYS_REGION").unwrap_or_else(|| "mypurecloud.com".into());
        let base = |name, host: &str| {
            env::string(e, name).unwrap_or_else(|| format!("https://{host}.{region}")).trim_end_matches('/').to_string()
        };
        Ok(Self {
            login_base: base("GENESYS_LOGIN_BASE_URL", "login"),
            api_base: base("GENESYS_API_BASE_URL", "api"),
            client_id: env::required(e, "GENESYS_CLIENT_ID")?,
            client_secret: env::required(e, "GENESYS_CLIENT_SECRET")?,
            timeout: Duration::from_secs_f64(env::float(e, "GENESYS_HTTP_TIMEOUT_SECONDS", 20.0)?.clamp(5.0, 600.0)),
            max_attempts: env::parsed(e, "GENESYS_RETRY_MAX_ATTEMPTS", 5u32, "whole number")?.max(1),
            backoff: Duration::from_secs_f64(env::float(e, "GENESYS_RETRY_BACKOFF_SECONDS", 1.5)?.clamp(0.2, 60.0)),
        })
    }
}

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("Genesys {0}: {1}")]
    Transport(String, String),
    #[error("Genesys {path}: HTTP {status} {body}")]
    Status { path: String, status: u16, body: String },
    #[error("Genesys OAuth: {0}")]
    Auth(String),
}

/// A successful answer: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

struct Token {
    value: String,
    renew_at: Instant,
}

pub struct Api {
    http: reqwest::Client,
    settings: ApiSettings,
    token: Mutex<Option<Token>>,
    budget: std::sync::Mutex<Budget>,
    started: Instant,
}

fn quoted(text: &str) -> String {
    text.chars().take(QUOTED_BODY_CHARS).collect()
}

impl Api {
    pub fn new(settings: ApiSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("call-analytics-genesys-connector/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let started = Instant::now();
        Ok(Self {
            http,
            settings,
            token: Mutex::new(None),
            budget: std::sync::Mutex::new(Budget::new(REQUESTS_PER_MINUTE, 20.0, 0.0)),
            started,
        })
    }

    pub fn settings(&self) -> &ApiSettings {
        &self.settings
    }

    /// Waits until the budget allows one more request.
    async fn paced(&self) {
        loop {
            let now = self.started.elapsed().as_secs_f64();
            let wait = self.budget.lock().unwrap_or_else(|p| p.into_inner()).take(now);
            match wait {
                None => return,
                Some(w) => tokio::time::sleep(w).await,
            }
        }
    }

    /// A valid access token, fetched when missing or about to expire.
    async fn access_token(&self) -> Result<String, ApiError> {
        let mut token = self.token.lock().await;
        if let Some(t) = token.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.value.clone());
        }
        let basic = STANDARD.encode(format!("{}:{}", self.settings.client_id, self.settings.client_secret));
        let url = format!("{}/oauth/token", self.settings.login_base);
        let answer = self
            .send("oauth/token", || {
                self.http
                    .post(&url)
                    .header("Authorization", format!("Basic {basic}"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
            })
            .await?;
        let value = answer.body.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty());
        let value = value.ok_or_else(|| ApiError::Auth("token response without access_token".into()))?.to_string();
        let lifetime =
            Duration::from_secs(answer.body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600).max(120));
        *token = Some(Token { value: value.clone(), renew_at: Instant::now() + lifetime - RENEW_BEFORE });
        Ok(value)
    }

    /// Sends with pacing and retries; 2xx answers come back, anything else final is an error.
    async fn send(&self, what: &str, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Answer, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.paced().await;
            let last = attempt >= self.settings.max_attempts;
            let response = match build().send().await {
                Ok(r) => r,
                Err(e) if !last => {
                    tracing::debug!(what, error = %e, attempt, "genesys: request failed; retrying");
                    tokio::time::sleep(crate::backoff::delay(self.settings.backoff, attempt, MAX_BACKOFF)).await;
                    continue;
                }
                Err(e) => {
                    return Err(ApiError::Transport(what.into(), shared::outbound::error_chain(&e.without_url())));
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = response.text().await.unwrap_or_default();
            if status.is_success() {
                return Ok(Answer {
                    status: status.as_u16(),
                    body: serde_json::from_str(&text).unwrap_or(Value::Null),
                });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::REQUEST_TIMEOUT
                || status.is_server_error();
            if retryable && !last {
                let wait = match (status, retry_after) {
                    (StatusCode::TOO_MANY_REQUESTS, Some(after)) => after.min(MAX_BACKOFF),
                    _ => crate::backoff::delay(self.settings.backoff, attempt, MAX_BACKOFF),
                };
                tracing::info!(what, status = status.as_u16(), wait_ms = wait.as_millis() as u64, "genesys: retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(ApiError::Status { path: what.into(), status: status.as_u16(), body: quoted(&text) });
        }
    }

    /// An authenticated Platform API call (`path` from `/api/v2/...`). A 401 renews the token once.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer, ApiError> {
        let url = format!("{}{path}", self.settings.api_base);
        let mut renewed = false;
        loop {
            let token = self.access_token().await?;
            let result = self
                .send(path, || {
                    let r = self.http.request(method.clone(), &url).bearer_auth(&token);
                    match body {
                        Some(b) => r.json(b),
                        None => r,
                    }
                })
                .await;
            match result {
                Err(ApiError::Status { status: 401, .. }) if !renewed => {
                    renewed = true;
                    *self.token.lock().await = None;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_credentials_and_clamp() {
        assert_eq!(ApiSettings::from_env(&[]).unwrap_err().name, "GENESYS_CLIENT_ID");
        let s = ApiSettings::from_env(&[
            ("GENESYS_CLIENT_ID", "id"),
            ("GENESYS_CLIENT_SECRET", "secret"),
            ("GENESYS_API_BASE_URL", "https://api.mypurecloud.de/"),
            ("GENESYS_HTTP_TIMEOUT_SECONDS", "1"),
            ("GENESYS_RETRY_MAX_ATTEMPTS", "0"),
            ("GENESYS_RETRY_BACKOFF_SECONDS", "0"),
        ])
        .unwrap();
        assert_eq!(
            (s.api_base.as_str(), s.login_base.as_str()),
            ("https://api.mypurecloud.de", "https://login.mypurecloud.com")
        );
        let eu = ApiSettings::from_env(&[
            ("GENESYS_CLIENT_ID", "i"),
            ("GENESYS_CLIENT_SECRET", "s"),
            ("GENESYS_REGION", "mypurecloud.ie"),
        ]);
        assert_eq!(eu.unwrap().login_base, "https://login.mypurecloud.ie");
        assert_eq!((s.timeout, s.max_attempts, s.backoff), (Duration::from_secs(5), 1, Duration::from_millis(200)));
    }
}
