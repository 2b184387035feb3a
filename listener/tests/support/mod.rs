//! Test support shared by the listener's tests and benchmark (included by path).
#![allow(dead_code)] // each test uses a different part

pub mod audiohook;
pub mod genesys;
pub mod ingest;
pub mod process;
pub mod server;
pub mod stt;

/// Serves `app` on a fresh loopback port for the rest of the test; returns its `http://` base URL.
pub async fn serve(app: axum::Router) -> String {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    base
}

/// Polls `done` every 50 ms for up to 10 s; panics naming `what` if it never holds.
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The value at share `p` (0 to 1) of `sorted`, nearest rank; NaN when it is empty (benchmarks' figures).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

/// Waits until a listener process on `port` answers `GET /healthz` with success; panics after 10 s.
pub async fn wait_healthy(port: u16) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the listener did not become healthy");
}
