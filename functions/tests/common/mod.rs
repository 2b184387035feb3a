//! Test harness: the real local server on a loopback port over a real SQLite file in a temp dir.
#![allow(dead_code)] // each test binary uses a different part of the harness

#[path = "../../../shared/tests/process/mod.rs"]
pub mod process;

use functions::server::LocalServer;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const INGEST: &str = "test-ingest-token";
pub const SUPERVISOR: &str = "test-supervisor-token";

pub struct TestServer {
    pub base: String,
    /// `ws://…/audiohook/ws` when started with `GENESYS_AUDIOHOOK_ENABLED=true`.
    pub audiohook_uri: Option<String>,
    pub data_dir: PathBuf,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _tmp: Option<TempDir>,
}

impl TestServer {
    /// A server on a fresh temp data dir with known tokens.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like `start`, with extra settings (e.g. `REALTIME_ALERT_COOLDOWN_SECONDS`).
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_in(&dir, extra).await;
        s._tmp = Some(tmp);
        s
    }

    /// A server on an existing data dir (for restart tests).
    pub async fn start_in(dir: &Path, extra: &[(&str, &str)]) -> Self {
        let mut env: HashMap<String, String> =
            [("HTTP_ADDR", "127.0.0.1:0"), ("REALTIME_INGEST_TOKEN", INGEST), ("SUPERVISOR_TOKEN", SUPERVISOR)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        env.insert("DATA_DIR".into(), dir.display().to_string());
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env.entry("GENESYS_AUDIOHOOK_ENABLED".into()).or_insert_with(|| "false".into());
        env.insert("GENESYS_AUDIOHOOK_PORT".into(), "0".into());
        let bound = LocalServer::bind(&env).await.unwrap();
        let base = format!("http://{}", bound.http.local_addr().unwrap());
        let audiohook_uri = bound.audiohook.map(|(url, _)| url);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.server.serve(bound.http, async {
            let _ = rx.await;
        }));
        Self {
            base,
            audiohook_uri,
            data_dir: dir.to_path_buf(),
            http: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
            _tmp: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The WebSocket URL (`ws://…/ws`) with the supervisor token in the query.
    pub fn ws_url(&self) -> String {
        format!("{}/ws?token={SUPERVISOR}", self.base.replacen("http", "ws", 1))
    }

    async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap();
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, body)
    }

    /// POST JSON with the ingest token.
    pub async fn ingest(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        Self::read(self.http.post(self.url(path)).header("X-Cloud-Token", INGEST).json(body).send().await.unwrap())
            .await
    }

    pub async fn post_event(&self, body: &Value) -> (StatusCode, Value) {
        self.ingest("/api/realtime/events", body).await
    }

    pub async fn post_audio(&self, body: &Value) -> (StatusCode, Value) {
        self.ingest("/api/realtime/audio/chunk", body).await
    }

    /// GET with the supervisor token, JSON (or text) body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        Self::read(self.http.get(self.url(path)).bearer_auth(SUPERVISOR).send().await.unwrap()).await
    }

    /// POST (no body) with the supervisor token.
    pub async fn post(&self, path: &str) -> (StatusCode, Value) {
        Self::read(self.http.post(self.url(path)).bearer_auth(SUPERVISOR).send().await.unwrap()).await
    }

    /// POST a multipart form with the supervisor token.
    pub async fn post_form(&self, path: &str, form: reqwest::multipart::Form) -> (StatusCode, Value) {
        Self::read(self.http.post(self.url(path)).bearer_auth(SUPERVISOR).multipart(form).send().await.unwrap()).await
    }

    /// POST JSON with the supervisor token; the raw response (exports are files).
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http.post(self.url(path)).bearer_auth(SUPERVISOR).json(body).send().await.unwrap()
    }

    /// GET with the supervisor token; the raw response.
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(SUPERVISOR).send().await.unwrap()
    }

    /// GETs `path` every 50 ms until `done` holds of the body (at most 30 s); returns the last body.
    pub async fn get_until(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut body = Value::Null;
        for _ in 0..600 {
            body = self.get(path).await.1;
            if done(&body) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        body
    }

    /// Polls a batch call until it settles (completed or failed) and returns its status document.
    pub async fn settled(&self, id: &str) -> Value {
        let settled = |v: &Value| v["status"] == "completed" || v["status"] == "failed";
        let v = self.get_until(&format!("/api/calls/{id}"), settled).await;
        assert!(settled(&v), "call {id} did not settle: {v}");
        v
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// The next JSON text message of a WebSocket (10 s at most).
pub async fn next_json(
    ws: &mut (
             impl futures_util::StreamExt<
        Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>,
    > + Unpin
         ),
) -> Value {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Starts the real `call-analytics serve` process on `dir` with the test tokens, AudioHook off, and `extra`
/// settings; returns the process and its base URL.
pub fn serve_binary(dir: &Path, extra: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_call-analytics"));
    cmd.arg("serve")
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("DATA_DIR", dir)
        .env("SUPERVISOR_TOKEN", SUPERVISOR)
        .env("REALTIME_INGEST_TOKEN", INGEST)
        .env("GENESYS_AUDIOHOOK_ENABLED", "false")
        .envs(extra.iter().copied());
    let (child, mut lines) = process::spawn_lines(&mut cmd);
    // Logs share stdout (a restart logs the jobs it releases before the banner).
    let banner = lines.by_ref().map(Result::unwrap).find(|l| l.starts_with("Call Analytics listening on")).unwrap();
    std::thread::spawn(move || lines.for_each(drop)); // keep reading, so logging never hits a closed pipe
    let base = banner.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();
    (child, base)
}

/// A fake transcription server that says the same line for any audio. It reads the whole upload before it
/// answers, as a real one does: answering first and closing the connection breaks the client's pipe
/// mid-body, and the worker then retries until the test's deadline (seen in CI on a loaded machine).
pub async fn fake_stt() -> String {
    let app = axum::Router::new()
        .route(
            "/v1/audio/transcriptions",
            axum::routing::post(|_audio: axum::body::Bytes| async {
                serde_json::json!({"text": "hello", "segments": [{"start": 0.0, "end": 1.0, "text": "hello"}]})
                    .to_string()
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::disable());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    base
}
