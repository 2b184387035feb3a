//! The `listener` binary's metrics: `GET /metrics` on the AudioHook port (supervisor token only; absent
//! without one configured), and with `METRICS_EMF=true` the same series as CloudWatch Embedded Metric Format
//! lines on stdout, checked against the format: `_aws.CloudWatchMetrics` with Namespace, Dimensions and
//! Metrics (Name, Unit), every dimension and metric a top-level member, at most 100 metrics and 100 values.

#[path = "../../shared/tests/metrics_text/mod.rs"]
mod metrics_text;
#[path = "../../shared/tests/process/mod.rs"]
mod process;

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command};

const SECRET_B64: &str = "Y2xpIHRlc3Qgc2VjcmV0";
const TOKEN: &str = "listener-supervisor";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `listener audiohook` on `port` with `env`; its stdout lines, read to the end on another thread.
fn serve(dir: &Path, port: u16, env: &[(&str, &str)]) -> (Child, std::thread::JoinHandle<Vec<String>>) {
    let (child, lines) = process::spawn_lines(
        Command::new(env!("CARGO_BIN_EXE_listener"))
            .env_remove("SUPERVISOR_TOKEN")
            .envs(env.iter().copied())
            .arg("audiohook")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("DATA_DIR", dir)
            .env("GENESYS_AUDIOHOOK_API_KEY", "cli-key")
            .env("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET_B64)
            .env("REALTIME_INGEST_URL", "http://127.0.0.1:9") // nothing listens: forwarding retries
            .env("LOG_FORMAT", "json"),
    );
    let mut lines = lines.map(Result::unwrap);
    let listening = lines.by_ref().find(|l| l.contains("audiohook: listening"));
    assert!(listening.is_some(), "the listener never listened");
    (child, std::thread::spawn(move || lines.collect()))
}

/// One second of stereo tone as Genesys sends it, through `listener simulate`.
fn simulate(dir: &Path, port: u16) {
    let wav = dir.join("call.wav");
    let spec =
        hound::WavSpec { channels: 2, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..16_000 {
        w.write_sample(if (i / 16) % 2 == 0 { 3000i16 } else { -3000 }).unwrap();
    }
    w.finalize().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_listener"))
        .arg("simulate")
        .args(["--uri", &format!("ws://127.0.0.1:{port}/audiohook/ws"), "--api-key", "cli-key"])
        .args(["--client-secret", SECRET_B64, "--speed", "0"])
        .arg("--wav")
        .arg(&wav)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

fn scrape(port: u16, token: Option<&str>) -> (u16, String, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let kind = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (resp.status().as_u16(), kind, resp.text().await.unwrap())
    })
}

/// Checks one EMF document against the format; returns its metric names.
fn check_emf(doc: &Value, namespace: &str) -> Vec<String> {
    let directives = doc["_aws"]["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
    assert!(doc["_aws"]["Timestamp"].is_i64(), "{doc}");
    let mut names = Vec::new();
    for d in directives {
        assert_eq!(d["Namespace"], namespace, "{doc}");
        let dimensions = d["Dimensions"].as_array().unwrap();
        assert!(dimensions.contains(&serde_json::json!(["Service"])), "{doc}");
        for set in dimensions {
            for key in set.as_array().unwrap() {
                assert!(doc[key.as_str().unwrap()].is_string(), "dimension {key} missing: {doc}");
            }
        }
        let metrics = d["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100, "{doc}");
        for m in metrics {
            let name = m["Name"].as_str().unwrap();
            assert!(["Count", "Seconds", "Bytes"].contains(&m["Unit"].as_str().unwrap()), "{doc}");
            match &doc[name] {
                Value::Number(_) => {}
                Value::Array(values) => {
                    assert!(!values.is_empty() && values.len() <= 100 && values.iter().all(Value::is_number))
                }
                other => panic!("{name} has no value ({other}): {doc}"),
            }
            names.push(name.to_string());
        }
    }
    names
}

/// The sum over `docs` of metric `name` in documents with exactly the `Service` dimension.
fn total(docs: &[Value], name: &str) -> f64 {
    docs.iter()
        .filter(|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == serde_json::json!([["Service"]]))
        .filter_map(|d| d[name].as_f64())
        .sum()
}

#[test]
fn a_session_shows_on_metrics_and_as_emf_lines() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = [("SUPERVISOR_TOKEN", TOKEN), ("METRICS_EMF", "true"), ("METRICS_NAMESPACE", "test-stack")];
    let (mut child, stdout) = serve(dir.path(), port, &env);
    simulate(dir.path(), port);

    assert_eq!(scrape(port, None).0, 401);
    assert_eq!(scrape(port, Some("wrong")).0, 401);
    let (status, kind, text) = scrape(port, Some(TOKEN));
    assert_eq!((status, kind.as_str()), (200, "text/plain; version=0.0.4"));
    let m = metrics_text::Scrape::parse(&text);
    assert_eq!(m.value("call_analytics_audiohook_sessions_opened_total", &[]), Some(1.0), "{text}");
    assert_eq!(m.value("call_analytics_audiohook_audio_seconds_total", &[]), Some(1.0), "{text}");

    assert!(process::terminate(&mut child).success());
    let lines = stdout.join().unwrap();
    let docs: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert!(!docs.is_empty(), "no EMF line in {lines:?}");
    let mut names: Vec<String> = docs.iter().flat_map(|d| check_emf(d, "test-stack")).collect();
    names.sort();
    names.dedup();
    for name in ["call_analytics_audiohook_sessions_open", "call_analytics_forward_retries_total"] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    assert!(docs.iter().all(|d| d["Service"] == "listener"));
    assert_eq!(total(&docs, "call_analytics_audiohook_sessions_opened_total"), 1.0);
    assert_eq!(total(&docs, "call_analytics_audiohook_audio_seconds_total"), 1.0);
}

/// Without a supervisor token nobody may scrape, so the port has no `/metrics` at all; the metrics still
/// reach CloudWatch as EMF.
#[test]
fn without_a_supervisor_token_there_is_no_metrics_path_but_emf_still_flows() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut child, stdout) = serve(dir.path(), port, &[("METRICS_EMF", "true")]);
    simulate(dir.path(), port);
    assert_eq!(scrape(port, None).0, 404);
    assert_eq!(scrape(port, Some(TOKEN)).0, 404);
    assert!(process::terminate(&mut child).success());
    let docs: Vec<Value> = stdout
        .join()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    docs.iter().for_each(|d| drop(check_emf(d, "CallAnalytics")));
    assert_eq!(total(&docs, "call_analytics_audiohook_sessions_opened_total"), 1.0);
}
