//! Where an OpenAI-compatible HTTP API is and how to call it (base URL, key, model, timeout): read the same
//! way for speech-to-text (`STT_*`) and the LLM (`LLM_*`), so both parse, bound and hide their key alike.

use crate::settings::env::{self, EnvError, EnvSource};
use crate::settings::secret::Secret;
use std::time::Duration;

/// Where the API lives unless `{PREFIX}_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com";

#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiApi {
    /// `{PREFIX}_BASE_URL` (https://api.openai.com), without a trailing slash.
    pub base_url: String,
    /// `{PREFIX}_API_KEY` (optional: self-hosted servers may not ask for one).
    pub api_key: Option<Secret>,
    /// `{PREFIX}_MODEL`.
    pub model: String,
    /// `{PREFIX}_TIMEOUT_SECONDS`, kept within 1 s to 1 h.
    pub timeout: Duration,
}

impl OpenAiApi {
    /// The `{prefix}_*` settings, with this use's default model and timeout.
    pub fn from_env(e: &dyn EnvSource, prefix: &str, model: &str, timeout_seconds: f64) -> Result<Self, EnvError> {
        let var = |name: &str| format!("{prefix}_{name}");
        let base_url = env::string(e, &var("BASE_URL")).unwrap_or_else(|| DEFAULT_BASE_URL.into());
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: env::string(e, &var("API_KEY")).map(Secret::from),
            model: env::string(e, &var("MODEL")).unwrap_or_else(|| model.into()),
            timeout: Duration::from_secs_f64(
                env::float(e, &var("TIMEOUT_SECONDS"), timeout_seconds)?.clamp(1.0, 3600.0),
            ),
        })
    }

    /// An HTTP client that gives up after this API's timeout.
    pub fn http_client(&self) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder().timeout(self.timeout).build()
    }

    /// `path` under the base URL (`/v1/...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The request with the bearer key, when there is one.
    pub fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_prefix_with_its_defaults() {
        let api =
            OpenAiApi::from_env(&[("LLM_BASE_URL", "http://127.0.0.1:9/"), ("LLM_API_KEY", "sk-x")], "LLM", "m", 120.0)
                .unwrap();
        assert_eq!(api.base_url, "http://127.0.0.1:9");
        assert_eq!(api.url("/v1/chat/completions"), "http://127.0.0.1:9/v1/chat/completions");
        assert_eq!((api.model.as_str(), api.timeout), ("m", Duration::from_secs(120)));
        assert!(!format!("{api:?}").contains("sk-x"), "{api:?}");
        let other = OpenAiApi::from_env(&[("STT_TIMEOUT_SECONDS", "99999")], "STT", "whisper-1", 300.0).unwrap();
        assert_eq!(
            (other.base_url.as_str(), other.api_key, other.timeout),
            (DEFAULT_BASE_URL, None, Duration::from_secs(3600))
        );
        assert_eq!(
            OpenAiApi::from_env(&[("STT_TIMEOUT_SECONDS", "soon")], "STT", "w", 1.0).unwrap_err().name,
            "STT_TIMEOUT_SECONDS"
        );
    }
}
