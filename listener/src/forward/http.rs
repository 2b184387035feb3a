//! The ingest over HTTP (`X-Cloud-Token`), as a separately deployed listener reaches it.

use super::{DeliveryError, Ingest, Kind, Outgoing};
use async_trait::async_trait;
use reqwest::StatusCode;
use std::time::Duration;

/// Longest response body quoted in an error.
const QUOTED_BODY_CHARS: usize = 240;

/// The two ingest endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestUrls {
    pub audio: String,
    pub events: String,
}

pub struct HttpIngest {
    client: reqwest::Client,
    urls: IngestUrls,
    token: String,
}

impl HttpIngest {
    pub fn new(urls: IngestUrls, token: String, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("call-analytics-listener/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, urls, token })
    }
}

/// Only a refusal of the payload itself is final; everything else may heal (a fixed token, a deployed
/// route, a recovered service), so it is retried.
fn is_rejection(status: StatusCode) -> bool {
    matches!(status, StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY)
}

#[async_trait]
impl Ingest for HttpIngest {
    async fn deliver(&self, item: &Outgoing) -> Result<(), DeliveryError> {
        let url = match item.kind {
            Kind::Audio => &self.urls.audio,
            Kind::Event => &self.urls.events,
        };
        let response = self
            .client
            .post(url)
            .header("X-Cloud-Token", &self.token)
            .json(&*item.wire_body())
            .send()
            .await
            .map_err(|e| DeliveryError::Unavailable(shared::outbound::error_chain(&e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = response.text().await.unwrap_or_default().chars().take(QUOTED_BODY_CHARS).collect();
        let why = format!("HTTP {} {body}", status.as_u16());
        Err(if is_rejection(status) { DeliveryError::Rejected(why) } else { DeliveryError::Unavailable(why) })
    }
}
