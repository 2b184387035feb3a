//! The ingest over HTTP (`X-Cloud-Token`), as a separately deployed listener reaches it.

use super::{DeliveryError, Ingest, Kind, Outgoing};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use std::time::Duration;

const TOKEN: HeaderName = HeaderName::from_static("x-cloud-token");

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
    /// Parsed once: a chunk is posted several times a second per session, and parsing the URL text was
    /// part of every request. `None` for a URL that does not parse, which then fails per request as before.
    audio: Option<Url>,
    events: Option<Url>,
    urls: IngestUrls,
    token: String,
    /// `token` as a header value, validated once (and marked sensitive, so it is never logged).
    token_header: Option<HeaderValue>,
}

impl HttpIngest {
    pub fn new(urls: IngestUrls, token: String, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("call-analytics-listener/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let token_header = HeaderValue::from_str(&token).ok().map(|mut v| {
            v.set_sensitive(true);
            v
        });
        let (audio, events) = (Url::parse(&urls.audio).ok(), Url::parse(&urls.events).ok());
        Ok(Self { client, audio, events, urls, token, token_header })
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
        let (parsed, text) = match item.kind {
            Kind::Audio => (&self.audio, &self.urls.audio),
            Kind::Event => (&self.events, &self.urls.events),
        };
        let request = match parsed {
            Some(url) => self.client.post(url.clone()),
            None => self.client.post(text),
        };
        let request = match &self.token_header {
            Some(token) => request.header(TOKEN, token.clone()),
            // A token no header can carry: the request fails as it did when the header was built per request.
            None => request.header(TOKEN, &self.token),
        };
        let response = request
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(json_body(item))
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

/// The JSON the endpoint takes ([`Outgoing::wire_body`]), written straight from the payload: a chunk's audio
/// is base64-encoded into the text where `wire_body` would copy the body and build a base64 string first,
/// three copies of each chunk's audio fewer, at several chunks a second per session.
fn json_body(item: &Outgoing) -> Vec<u8> {
    let audio = item.audio.as_deref().filter(|_| !item.body.contains_key("audio_b64"));
    let b64_len = audio.map_or(0, |pcm| pcm.len().div_ceil(3) * 4);
    let mut out = Vec::with_capacity(512 + b64_len);
    serde_json::to_writer(&mut out, &item.body).expect("a JSON map always serialises");
    if let Some(pcm) = audio {
        out.pop(); // the closing brace
        if !item.body.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(br#""audio_b64":""#);
        let start = out.len();
        out.resize(start + b64_len, 0);
        let written = STANDARD.encode_slice(pcm, &mut out[start..]).expect("sized for the padded encoding");
        out.truncate(start + written);
        out.extend_from_slice(b"\"}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn the_body_is_the_wire_body() {
        let chunk = Outgoing::audio(super::super::object(json!({"call_id": "c", "n": [1, "\""]})), vec![1, 2, 3, 4, 5]);
        let empty = Outgoing::audio(serde_json::Map::new(), vec![0xff]);
        let event = Outgoing::event(super::super::object(json!({"event_id": "e"})));
        for item in [chunk, empty, event] {
            let sent: Value = serde_json::from_slice(&json_body(&item)).unwrap();
            assert_eq!(sent, Value::Object(item.wire_body().into_owned()));
        }
    }
}
