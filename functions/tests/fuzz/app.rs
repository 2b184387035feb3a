//! The local process's router over a fresh data folder, and the one property every target checks.

use crate::harness::check;
use axum::body::Body;
use axum::http::Request;
use functions::server::{LocalServer, ServeConfig};
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use std::cell::Cell;
use std::collections::HashMap;
use tower::ServiceExt;

pub const INGEST: &str = "fuzz-ingest-token";
pub const SUPERVISOR: &str = "fuzz-supervisor-token";

/// The router, a runtime to drive it and the data folder under it (the SQLite file and blobs), and how many
/// requests it took (2xx) and refused (4xx): a target whose inputs are all refused tests little beyond the
/// first check, so the split is printed with the target's line.
pub struct App {
    pub rt: tokio::runtime::Runtime,
    router: axum::Router,
    target: &'static str,
    taken: Cell<u64>,
    refused: Cell<u64>,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        println!("http {} {} taken {} refused", self.target, self.taken.get(), self.refused.get());
    }
}

impl App {
    pub fn start(target: &'static str) -> Self {
        let dir = tempfile::TempDir::new().unwrap();
        let env: HashMap<String, String> = [
            ("HTTP_ADDR", "127.0.0.1:0"),
            ("REALTIME_INGEST_TOKEN", INGEST),
            ("SUPERVISOR_TOKEN", SUPERVISOR),
            ("DATA_DIR", dir.path().to_str().unwrap()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(async { LocalServer::build(&ServeConfig::from_env(&env).unwrap()).unwrap() });
        App { rt, router: server.router(), target, taken: Cell::new(0), refused: Cell::new(0), _dir: dir }
    }

    /// Sends `request`; fails the case on a 5xx, on a 4xx without a JSON `detail`, or on a panic in the
    /// handler (which tower surfaces as a panic here, caught by the harness).
    pub fn answers(&self, request: Request<Body>) -> Result<u16, TestCaseError> {
        self.answers_or(request, None)
    }

    /// [`App::answers`], where `designed` is a 5xx the route gives by design (501: not on this host).
    pub fn answers_or(&self, request: Request<Body>, designed: Option<u16>) -> Result<u16, TestCaseError> {
        let (status, body) = self.rt.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            (status, axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap())
        });
        check(status < 500 || Some(status) == designed, || {
            format!("answered {status}: {}", String::from_utf8_lossy(&body))
        })?;
        let counter = if status < 300 || Some(status) == designed { &self.taken } else { &self.refused };
        counter.set(counter.get() + 1);
        if status >= 400 {
            let detail = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("detail").cloned());
            check(detail.is_some(), || format!("{status} without a JSON detail: {}", String::from_utf8_lossy(&body)))?;
        }
        Ok(status)
    }
}

/// `POST path` with the ingest token or the supervisor's, as that group wants.
pub fn post(path: &str, supervisor: bool, content_type: &str, body: Vec<u8>) -> Request<Body> {
    let builder = Request::post(path).header("content-type", content_type);
    let builder = if supervisor {
        builder.header("authorization", format!("Bearer {SUPERVISOR}"))
    } else {
        builder.header("x-cloud-token", INGEST)
    };
    builder.body(Body::from(body)).unwrap()
}
