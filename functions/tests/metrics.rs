//! `GET /metrics` of the real `call-analytics serve` process after real traffic: ingested events (one raising
//! alerts, a repeat, an invalid one), an AudioHook session from the `listener simulate` client, a supervisor
//! push connection and a batch job transcribed by a fake OpenAI-compatible server. The exporter's text names
//! every series with the values the traffic implies; without the supervisor token it answers 401; and no
//! label takes unbounded values.

mod common;
#[path = "../../shared/tests/metrics_text/mod.rs"]
mod metrics_text;

use axum::routing::post;
use common::{INGEST, SUPERVISOR, process};
use listener::simulate::{self, Audio, Options};
use metrics_text::Scrape;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const KEY: &str = "metrics-key";
const SECRET: &str = "bWV0cmljcyBzZWNyZXQ=";

/// The fake speech-to-text server: one segment per request; counts requests.
async fn fake_stt() -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().route(
        "/v1/audio/transcriptions",
        post(move |_body: axum::body::Bytes| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                json!({"text": "hello", "segments": [{"start": 0.1, "end": 0.9, "text": "hello"}]}).to_string()
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (base, seen)
}

/// `call-analytics serve` with AudioHook on (live transcription off, so speech to text is the batch's
/// alone) and the batch transcribing with the fake at `stt`: the process, its base URL and AudioHook's URL.
fn serve(dir: &std::path::Path, stt: &str) -> (std::process::Child, String, String) {
    common::serve_binary_with_audiohook(
        dir,
        &[
            ("GENESYS_AUDIOHOOK_API_KEY", KEY),
            ("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET),
            ("LIVE_TRANSCRIPTION_ENABLED", "false"),
            ("STT_PROVIDER", "openai"),
            ("STT_BASE_URL", stt),
            ("ENABLE_NOISE_SUPPRESSION", "false"),
        ],
    )
}

/// The process with its base URL and a client, on a fresh data dir (kept until the end of the test).
fn plain_serve() -> (tempfile::TempDir, std::process::Child, String, reqwest::Client) {
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = common::serve_binary(dir.path(), &[]);
    (dir, child, base, reqwest::Client::new())
}

/// A supervisor's request, answered in JSON.
async fn supervisor_json(req: reqwest::RequestBuilder) -> Value {
    req.bearer_auth(SUPERVISOR).send().await.unwrap().json().await.unwrap()
}

async fn scrape(http: &reqwest::Client, base: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = http.get(format!("{base}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn metrics(http: &reqwest::Client, base: &str) -> Scrape {
    let resp = scrape(http, base, Some(SUPERVISOR)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain; version=0.0.4");
    Scrape::parse(&resp.text().await.unwrap())
}

/// Polls `/metrics` until `done` holds (10 s at most).
async fn metrics_until(http: &reqwest::Client, base: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    for _ in 0..200 {
        let m = metrics(http, base).await;
        if done(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("metrics never got there:\n{}", metrics(http, base).await.text);
}

async fn ingest(http: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let resp = http.post(format!("{base}/api/realtime/events")).bearer_auth(INGEST).json(body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// A stereo 16-bit WAV of `seconds` of two tones.
fn stereo_call(seconds: f64) -> Vec<u8> {
    let spec =
        hound::WavSpec { channels: 2, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..(seconds * 8000.0) as usize {
        for f in [440.0, 1000.0] {
            let t = i as f64 / 8000.0;
            w.write_sample((8000.0 * (2.0 * std::f64::consts::PI * f * t).sin()) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
    out.into_inner()
}

#[tokio::test]
async fn the_exporter_counts_real_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let (stt, stt_requests) = fake_stt().await;
    let (mut child, base, hook) = serve(dir.path(), &stt);
    let http = reqwest::Client::new();

    // Ingest: one event raising alerts, its repeat, and one invalid event.
    let event = json!({"call_id": "m-1", "event_id": "m-1-a", "text": "I want a lawyer, get me your supervisor", "sentiment": -0.9});
    let (status, first) = ingest(&http, &base, &event).await;
    assert_eq!(status, 200, "{first}");
    let raised = first["alerts"].as_array().unwrap().clone();
    assert!(!raised.is_empty(), "{first}");
    let (_, again) = ingest(&http, &base, &event).await;
    assert_eq!(again["duplicate"], true);
    let (status, _) = ingest(&http, &base, &json!({"call_id": "bad id!", "text": "x"})).await;
    assert_eq!(status, 400);

    // A supervisor's push connection.
    let ws_url = format!("{}/ws?token={SUPERVISOR}", base.replacen("http", "ws", 1));
    let (ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();

    // An AudioHook session: three seconds of stereo audio.
    let tone: Vec<i16> = (0..24_000).map(|i| if (i / 8) % 2 == 0 { 3000 } else { -3000 }).collect();
    let opts = Options { speed: 0.0, ..Options::new(&hook, KEY, SECRET) };
    let session = simulate::session(&opts, &Audio { channels: vec![tone.clone(), tone] }).await;
    assert_eq!(session.outcome, Ok(()));

    // A batch job: a two-second stereo call, one piece per channel.
    let form = Form::new().part("file", Part::bytes(stereo_call(2.0)).file_name("call.wav"));
    let up = supervisor_json(http.post(format!("{base}/api/calls")).multipart(form)).await;
    let id = up["id"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let call = supervisor_json(http.get(format!("{base}/api/calls/{id}"))).await;
        if call["status"] == "completed" {
            break;
        }
        assert_ne!(call["status"], "failed", "{call}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let m = metrics_until(&http, &base, |m| {
        m.value("call_analytics_audiohook_sessions_open", &[]) == Some(0.0)
            && m.value("call_analytics_batch_jobs_total", &[("state", "completed")]) == Some(1.0)
    })
    .await;
    let events =
        |outcome| m.value("call_analytics_ingest_requests_total", &[("endpoint", "events"), ("outcome", outcome)]);
    assert_eq!(
        (events("accepted"), events("duplicate"), events("rejected")),
        (Some(1.0), Some(1.0), Some(1.0)),
        "{}",
        m.text
    );
    assert_eq!(events("failed"), Some(0.0));
    assert_eq!(m.value("call_analytics_ingest_request_duration_seconds_count", &[("endpoint", "events")]), Some(3.0));
    for a in &raised {
        let (kind, severity) = (a["type"].as_str().unwrap(), a["severity"].as_str().unwrap());
        let same = raised.iter().filter(|b| b["type"] == a["type"] && b["severity"] == a["severity"]).count();
        let labels = [("type", kind), ("severity", severity)];
        assert_eq!(m.value("call_analytics_alerts_raised_total", &labels), Some(same as f64), "{}", m.text);
    }
    assert_eq!(m.value("call_analytics_audiohook_sessions_opened_total", &[]), Some(1.0));
    assert_eq!(m.value("call_analytics_audiohook_audio_seconds_total", &[]), Some(3.0));
    assert_eq!(m.value("call_analytics_push_connections", &[]), Some(1.0));
    assert!(m.value("call_analytics_push_messages_total", &[]).unwrap() >= 2.0, "the event and its alerts");
    assert_eq!(m.value("call_analytics_spool_bytes", &[]), Some(0.0));
    assert_eq!(m.value("call_analytics_spool_oldest_age_seconds", &[]), Some(0.0));
    assert_eq!(m.value("call_analytics_batch_jobs_total", &[("state", "queued")]), Some(1.0));
    for stage in ["decode", "transcribe", "analyse", "store"] {
        let count = m.value("call_analytics_batch_stage_duration_seconds_count", &[("stage", stage)]);
        assert_eq!(count, Some(1.0), "{stage}: {}", m.text);
    }
    let requests = stt_requests.load(Ordering::SeqCst) as f64;
    assert_eq!(requests, 2.0, "one piece per channel");
    let stt_count = m.value("call_analytics_stt_request_duration_seconds_count", &[("provider", "openai")]);
    assert_eq!(stt_count, Some(requests));
    assert!(m.text.contains("# HELP call_analytics_ingest_requests_total "), "{}", m.text);
    assert!(m.text.contains("# TYPE call_analytics_stt_request_duration_seconds histogram"), "{}", m.text);

    // The push connection gone, the gauge reads it at once: sampled, not counted up and down.
    drop(ws);
    metrics_until(&http, &base, |m| m.value("call_analytics_push_connections", &[]) == Some(0.0)).await;
    process::terminate(&mut child);
}

#[tokio::test]
async fn without_the_supervisor_token_metrics_are_refused() {
    let (_dir, mut child, base, http) = plain_serve();
    for token in [None, Some("not-the-token"), Some(INGEST)] {
        let resp = scrape(&http, &base, token).await;
        assert_eq!(resp.status(), 401, "{token:?}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["detail"].is_string(), "{body}");
    }
    assert_eq!(scrape(&http, &base, Some(SUPERVISOR)).await.status(), 200);
    process::terminate(&mut child);
}

#[tokio::test]
async fn call_ids_never_become_labels() {
    let (_dir, mut child, base, http) = plain_serve();
    let post = |i: usize| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let body = json!({"call_id": format!("call-{i}"), "event_id": format!("ev-{i}"), "text": "get me your supervisor", "sentiment": -0.9});
            assert_eq!(ingest(&http, &base, &body).await.0, 200);
        }
    };
    post(0).await;
    let one = metrics(&http, &base).await;
    for i in 1..20 {
        post(i).await;
    }
    let twenty = metrics(&http, &base).await;
    assert_eq!(one.series(), twenty.series(), "twenty calls, the same series as one");
    let accepted = [("endpoint", "events"), ("outcome", "accepted")];
    assert_eq!(twenty.value("call_analytics_ingest_requests_total", &accepted), Some(20.0));
    for i in 0..20 {
        assert!(!twenty.text.contains(&format!("call-{i}\"")) && !twenty.text.contains(&format!("ev-{i}\"")));
    }
    process::terminate(&mut child);
}
