//! A metering proxy in front of moto: every AWS request the code under test sends passes through it and is
//! counted by service and operation, with DynamoDB's request units worked out from the items each request
//! reads or writes (`capacity`), since moto does not report them. Item sizes before and after a write are
//! read straight from moto, around the proxy, so the meter's own reads are not counted.

use super::capacity::{Written, read_cost, write_units, written_keys};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the requests so far cost, by service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Requests by (service, operation): `dynamodb`/`sqs` by their API operation, `s3` by its class of
    /// request (`PUT`, `POST`, `LIST`, `GET`, `HEAD`, `DELETE`).
    pub requests: BTreeMap<(String, String), u64>,
    pub dynamodb_write_units: u64,
    pub dynamodb_read_half_units: u64,
}

impl Usage {
    pub fn count(&self, service: &str) -> u64 {
        self.requests.iter().filter(|((s, _), _)| s == service).map(|(_, n)| n).sum()
    }

    pub fn count_of(&self, service: &str, ops: &[&str]) -> u64 {
        ops.iter().map(|op| self.requests.get(&(service.to_string(), op.to_string())).copied().unwrap_or(0)).sum()
    }

    /// What was used since `earlier`.
    pub fn since(&self, earlier: &Usage) -> Usage {
        let mut requests = self.requests.clone();
        for (k, n) in &earlier.requests {
            *requests.entry(k.clone()).or_default() -= n;
        }
        requests.retain(|_, n| *n > 0);
        Usage {
            requests,
            dynamodb_write_units: self.dynamodb_write_units - earlier.dynamodb_write_units,
            dynamodb_read_half_units: self.dynamodb_read_half_units - earlier.dynamodb_read_half_units,
        }
    }
}

/// One request's time at the proxy, from its arrival to its answer.
#[derive(Debug, Clone)]
pub struct Span {
    pub service: String,
    pub op: String,
    pub start: Instant,
    pub end: Instant,
}

/// How many sequential round trips `spans` took: requests that overlap in time count as one round.
pub fn rounds(spans: &[Span]) -> usize {
    let mut spans: Vec<&Span> = spans.iter().collect();
    spans.sort_by_key(|s| s.start);
    let mut rounds = 0;
    let mut until: Option<Instant> = None;
    for s in spans {
        match until {
            Some(end) if s.start < end => until = Some(end.max(s.end)),
            _ => {
                rounds += 1;
                until = Some(s.end);
            }
        }
    }
    rounds
}

struct Inner {
    target: String,
    http: reqwest::Client,
    usage: Mutex<Usage>,
    spans: Mutex<Vec<Span>>,
    latency: Duration,
}

/// The proxy: point the SDK's endpoint at `endpoint`.
pub struct Meter {
    pub endpoint: String,
    inner: Arc<Inner>,
}

impl Meter {
    pub async fn start(target: &str) -> Self {
        Self::with_latency(target, Duration::ZERO).await
    }

    /// A proxy that holds each request `latency` before forwarding it, as a network would: requests a client
    /// sends together then overlap whatever the emulator's speed, and ones sent after an answer never do, so
    /// [`rounds`] counts round trips, not how fast moto answered.
    pub async fn with_latency(target: &str, latency: Duration) -> Self {
        let inner = Arc::new(Inner {
            target: target.into(),
            http: reqwest::Client::new(),
            usage: Mutex::default(),
            spans: Mutex::default(),
            latency,
        });
        let app = axum::Router::new().fallback(forward).with_state(inner.clone());
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", socket.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
        Self { endpoint, inner }
    }

    pub fn usage(&self) -> Usage {
        self.inner.usage.lock().unwrap().clone()
    }

    /// Every request's span so far, in order of arrival.
    pub fn spans(&self) -> Vec<Span> {
        self.inner.spans.lock().unwrap().clone()
    }
}

/// (service, operation) of a request as the SDKs send them: JSON protocols name the operation in
/// `x-amz-target`; S3 is REST.
fn classify(method: &str, path: &str, query: &str, target: &str) -> (String, String) {
    if let Some((prefix, op)) = target.split_once('.') {
        let service = if prefix.starts_with("DynamoDB") { "dynamodb" } else { "sqs" };
        return (service.into(), op.into());
    }
    let on_bucket = path.trim_matches('/').split('/').count() <= 1;
    let class = match method {
        "GET" if on_bucket || query.contains("list-type") => "LIST",
        other => other,
    };
    ("s3".into(), class.into())
}

/// Headers that belong to one hop, not to the request.
fn hop_by_hop(name: &str) -> bool {
    matches!(name, "host" | "content-length" | "transfer-encoding" | "connection")
}

async fn forward(State(m): State<Arc<Inner>>, req: Request) -> Response {
    let start = Instant::now();
    tokio::time::sleep(m.latency).await;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 512 << 20).await.unwrap();
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (path, query) = (parts.uri.path(), parts.uri.query().unwrap_or_default());
    let (service, op) = classify(parts.method.as_str(), path, query, &target);
    let request: Value =
        if service == "dynamodb" { serde_json::from_slice(&body).unwrap_or_default() } else { Value::Null };
    let (keys, transactional) = written_keys(&op, &request);
    let before = item_sizes(&m, &keys, Moment::Before).await;

    let url = format!("{}{}", m.target, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut out = m.http.request(parts.method.clone(), url).body(body);
    for (name, value) in parts.headers.iter().filter(|(n, _)| !hop_by_hop(n.as_str())) {
        out = out.header(name, value);
    }
    let answer = out.send().await.unwrap();
    let (status, headers) = (answer.status(), answer.headers().clone());
    let bytes: Bytes = answer.bytes().await.unwrap();

    let after = item_sizes(&m, &keys, Moment::After).await;
    let written: u64 = before.iter().zip(&after).map(|(b, a)| write_units(*b, *a, transactional)).sum();
    let read = if service == "dynamodb" && status.is_success() {
        read_cost(&op, &request, &serde_json::from_slice(&bytes).unwrap_or_default())
    } else {
        0
    };
    {
        let mut usage = m.usage.lock().unwrap();
        *usage.requests.entry((service.clone(), op.clone())).or_default() += 1;
        usage.dynamodb_write_units += written;
        usage.dynamodb_read_half_units += read;
    }
    m.spans.lock().unwrap().push(Span { service, op, start, end: Instant::now() });
    let mut response = Response::builder().status(status);
    for (name, value) in headers.iter().filter(|(n, _)| !hop_by_hop(n.as_str())) {
        response = response.header(name, value);
    }
    response.body(Body::from(bytes)).unwrap()
}

/// When an item's size is read: around the write.
#[derive(PartialEq)]
enum Moment {
    Before,
    After,
}

/// The billed size of each written item before or after the write (0 when absent), read from moto
/// directly. A put's own item is its size after; its size before is taken as 0: the code puts new items
/// (events, alerts, window entries) or rewrites one of the same shape, so reading it would double the
/// proxy's requests for nothing. Updates and deletes are read both times.
async fn item_sizes(m: &Inner, keys: &[Written], moment: Moment) -> Vec<u64> {
    let mut sizes = Vec::with_capacity(keys.len());
    for w in keys {
        let size = match (&w.put, &moment) {
            (Some(item), Moment::After) => super::capacity::item_size(item),
            (Some(_), Moment::Before) => 0,
            (None, _) => {
                let got: Value = m
                    .http
                    .post(&m.target)
                    .header("x-amz-target", "DynamoDB_20120810.GetItem")
                    .header("content-type", "application/x-amz-json-1.0")
                    .body(json!({"TableName": w.table, "Key": w.key, "ConsistentRead": true}).to_string())
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap_or_default();
                super::capacity::item_size(&got["Item"])
            }
        };
        sizes.push(size);
    }
    sizes
}
