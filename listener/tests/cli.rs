//! The `listener` binary as operators run it: `listener audiohook` and `listener all` as real processes on
//! loopback, driven by `listener simulate` with a WAV file (and a fake Genesys), stopped with SIGTERM;
//! `listener build-topics` against the fake Genesys.

#[path = "../../shared/tests/process/modes.rs"]
mod modes;
#[path = "../../shared/tests/process/mod.rs"]
mod process;
#[path = "support/mod.rs"]
mod support;

use shared::adapters::embedded::{DATABASE_FILE, SqliteStore};
use shared::ports::Heartbeats;
use shared::process::health::{GENESYS_AUDIOHOOK, GENESYS_CONNECTOR};
use std::path::Path;
use std::process::{Child, Command, Output};

const SECRET_B64: &str = "Y2xpIHRlc3Qgc2VjcmV0";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn listener() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_listener"));
    for k in ["TABLE_NAME", "GENESYS_AUDIOHOOK_CREDENTIALS", "RUST_LOG"] {
        c.env_remove(k);
    }
    c
}

/// Starts `listener audiohook` (with `extra` flags and `env` settings) and waits until it logs that it listens.
fn serve(dir: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Child {
    let (child, mut lines) = process::spawn_lines(
        listener()
            .envs(env.iter().copied())
            .arg("audiohook")
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--path", "/hook/"])
            .args(extra)
            .env("DATA_DIR", dir)
            .env("GENESYS_AUDIOHOOK_API_KEY", "cli-key")
            .env("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET_B64)
            .env("REALTIME_INGEST_URL", "http://127.0.0.1:9") // nothing listens: forwarding spools
            .env("LOG_FORMAT", "json"),
    );
    let listening = lines.next().unwrap().unwrap();
    assert!(listening.contains("audiohook: listening"), "{listening}");
    std::thread::spawn(move || lines.for_each(drop));
    child
}

fn simulate(port: u16, secret: &str, wav: &Path, extra: &[&str]) -> Output {
    listener()
        .arg("simulate")
        .args(["--uri", &format!("ws://127.0.0.1:{port}/hook"), "--api-key", "cli-key", "--client-secret", secret])
        .arg("--wav")
        .arg(wav)
        .args(["--speed", "0"])
        .args(extra)
        .output()
        .unwrap()
}

fn stop(mut child: Child) {
    let exit = process::terminate(&mut child);
    assert!(exit.success(), "{exit:?}");
}

fn write_wav(path: &Path, channels: u16, rate: u32) {
    let spec =
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..rate * u32::from(channels) {
        w.write_sample(if (i / 16) % 2 == 0 { 3000i16 } else { -3000 }).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn simulate_reports_each_session_and_fails_on_a_wrong_secret() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("call.wav");
    write_wav(&wav, 2, 8000);
    let port = free_port();
    let child = serve(dir.path(), port, &[], &[]);

    let out = simulate(port, SECRET_B64, &wav, &["--sessions", "3"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ok     session ")).count(), 3, "{text}");
    assert!(text.contains("3/3 sessions succeeded"), "{text}");

    let out = simulate(port, "d3Jvbmcgc2VjcmV0", &wav, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAILED") && text.contains("unauthorized"), "{text}");

    let out = simulate(port, SECRET_B64, &wav, &["--probe"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    stop(child);
    // Three calls recorded; the probe and the refused session left nothing.
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs/recordings"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_file())
            .count(),
        3
    );
}

/// Recordings, the spool of undelivered events and the heartbeat store are the service user's alone, in a
/// DATA_DIR the listener creates itself.
#[test]
fn everything_audiohook_writes_under_data_dir_is_private() {
    let tmp = tempfile::tempdir().unwrap();
    let (wav, data) = (tmp.path().join("call.wav"), tmp.path().join("data"));
    write_wav(&wav, 2, 8000);
    let port = free_port();
    // A small per-session memory, so the undeliverable events go to the disk spool.
    let child = serve(&data, port, &[], &[("GENESYS_AUDIOHOOK_STREAM_MEMORY_BYTES", "2000")]);
    let out = simulate(port, SECRET_B64, &wav, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let written = |folder: &str| std::fs::read_dir(data.join(folder)).is_ok_and(|mut d| d.next().is_some());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(written("blobs/recordings") && written("spool/audiohook")) {
        assert!(std::time::Instant::now() < deadline, "no recording or no spool file");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // While it runs (SQLite's -wal and -shm exist only then), and after it stopped.
    let (open, seen) = modes::not_private(&data);
    assert!(open.is_empty() && seen > 5, "readable by others while serving ({seen} looked at): {open:#?}");
    stop(child);
    let (open, _) = modes::not_private(&data);
    assert!(open.is_empty(), "readable by others after stopping: {open:#?}");
}

/// Two listener tasks on one store (as `ListenerDesiredCount: 2` on AWS): each keeps its own heartbeat, so
/// when one is killed the component's health names it and is not healthy, instead of showing the live one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_task_shows_in_health_beside_a_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let task = |n: &str| {
        let spool = dir.path().join(format!("spool-{n}")).display().to_string();
        let env = [("GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS", "1"), ("GENESYS_AUDIOHOOK_SPOOL_DIR", spool.as_str())];
        tokio::task::block_in_place(|| serve(dir.path(), free_port(), &[], &env))
    };
    let (mut doomed, live) = (task("a"), task("b"));
    let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.list(GENESYS_AUDIOHOOK).await.unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "both tasks beat");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let beats = store.list(GENESYS_AUDIOHOOK).await.unwrap();
    let doc = shared::process::health::evaluate(GENESYS_AUDIOHOOK, &beats, chrono::Utc::now(), 2);
    assert_eq!((doc["healthy"].as_bool(), doc["reason"].as_str()), (Some(false), Some("instance_unhealthy")), "{doc}");
    assert_eq!((doc["instances_healthy"].as_u64(), doc["instances_failing"].as_u64()), (Some(1), Some(1)), "{doc}");
    tokio::task::block_in_place(|| stop(live));
}

#[test]
fn simulate_rejects_a_wav_it_cannot_stream() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("wideband.wav");
    write_wav(&wav, 1, 16_000);
    let out = simulate(free_port(), SECRET_B64, &wav, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("8000 Hz"));
}

#[test]
fn dry_run_answers_sessions_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("call.wav");
    write_wav(&wav, 1, 8000);
    let port = free_port();
    let child = serve(dir.path(), port, &["--dry-run"], &[]);
    let out = simulate(port, SECRET_B64, &wav, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    stop(child);
    assert!(!dir.path().join("blobs").exists(), "no recording in a dry run");
    assert!(!dir.path().join("spool/audiohook").read_dir().is_ok_and(|mut d| d.next().is_some()), "nothing spooled");
}

#[test]
fn missing_credentials_are_named() {
    let out = listener()
        .arg("audiohook")
        .env_remove("GENESYS_AUDIOHOOK_API_KEY")
        .env_remove("GENESYS_AUDIOHOOK_CLIENT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GENESYS_AUDIOHOOK_API_KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_topics_prints_what_the_connector_would_subscribe_to() {
    let (g, base) = support::genesys::start(&[]).await;
    *g.queues.lock().unwrap() = vec![
        serde_json::json!({"id": "q1", "name": "EU Support"}),
        serde_json::json!({"id": "q2", "name": "Sales"}),
        serde_json::json!({"id": "q3", "name": "US support"}),
    ];
    let dir = tempfile::tempdir().unwrap();
    let preview = dir.path().join("preview.json");
    let run = |args: Vec<String>| {
        let mut c = listener();
        c.arg("build-topics")
            .args(args)
            .env("GENESYS_SUBSCRIPTION_TOPICS", "v2.manual.topic")
            .env("DATA_DIR", dir.path());
        for (k, v) in support::genesys::env(&base) {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut a = args(&["--mode", "queues", "--queue-filter", "Support", "--as-env", "--output-file"]);
    a.push(preview.display().to_string());
    let out = tokio::task::block_in_place(|| run(a));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "GENESYS_SUBSCRIPTION_TOPICS=v2.manual.topic,v2.routing.queues.q1.conversations.calls,v2.routing.queues.q3.conversations.calls"
    );
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&preview).unwrap()).unwrap();
    assert_eq!(saved["builder"]["queues"][1], serde_json::json!({"id": "q3", "name": "US support"}));
    assert!(
        !dir.path().join("call_analytics.db").exists(),
        "no heartbeat is touched (the seed clobbered the connector's)"
    );
}

fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// The seed's shapes: the file `{topics, manual_topic_count, preset_topic_count, builder}`, the printed
/// summary `{mode, manual_topic_count, preset_topic_count, total_topics, builder, topics}`, and `builder`
/// `{mode, generated_at, topics, queues: [{id, name}], users: [{id, name, email}]}` in both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_topics_writes_and_prints_the_seeds_builder() {
    let (g, base) = support::genesys::start(&[]).await;
    *g.queues.lock().unwrap() = vec![serde_json::json!({"id": "q1", "name": "EU Support"})];
    *g.users.lock().unwrap() = vec![
        serde_json::json!({"id": "u2", "name": "Bo", "email": "Bo@Example.com"}),
        serde_json::json!({"id": "u1", "name": "Al"}),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preview.json");
    let mut c = listener();
    c.args(["build-topics", "--mode", "queues_users", "--output-file"])
        .arg(&file)
        .env("GENESYS_SUBSCRIPTION_TOPICS", "v2.manual.topic")
        .env("DATA_DIR", dir.path());
    for (k, v) in support::genesys::env(&base) {
        c.env(k, v);
    }
    let out = tokio::task::block_in_place(|| c.output().unwrap());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(keys(&saved), ["builder", "manual_topic_count", "preset_topic_count", "topics"]);
    assert_eq!(
        keys(&printed),
        ["builder", "manual_topic_count", "mode", "preset_topic_count", "topics", "total_topics"]
    );
    let builder = &saved["builder"];
    assert_eq!(keys(builder), ["generated_at", "mode", "queues", "topics", "users"]);
    assert!(shared::values::timestamps::parse_iso(builder["generated_at"].as_str().unwrap()).is_some());
    assert_eq!(builder["mode"], "queues_users");
    assert_eq!(
        builder["topics"],
        serde_json::json!([
            "v2.routing.queues.q1.conversations.calls",
            "v2.users.u1.conversations.calls",
            "v2.users.u2.conversations.calls"
        ]),
        "the builder's own topics, sorted"
    );
    assert_eq!(builder["queues"], serde_json::json!([{"id": "q1", "name": "EU Support"}]));
    assert_eq!(
        builder["users"],
        serde_json::json!([{"id": "u2", "name": "Bo", "email": "bo@example.com"}, {"id": "u1", "name": "Al", "email": ""}])
    );
    assert_eq!((&saved["manual_topic_count"], &saved["preset_topic_count"]), (&1.into(), &3.into()));
    assert_eq!(saved["topics"].as_array().unwrap().len(), 4);
    assert_eq!(printed["builder"], *builder, "the same builder printed and written");
    assert_eq!((&printed["topics"], &printed["total_topics"]), (&saved["topics"], &4.into()));
}

/// `listener all` with the AudioHook settings, the connector pointed at a fake Genesys and both forwarding
/// to a fake ingest. Returns the command, not yet started.
fn all(dir: &Path, port: u16, genesys: &str, ingest: &str) -> Command {
    let mut c = listener();
    c.arg("all")
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--path", "/hook/"])
        .env("DATA_DIR", dir)
        .env("GENESYS_AUDIOHOOK_API_KEY", "cli-key")
        .env("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET_B64)
        .env("REALTIME_INGEST_URL", ingest)
        .env("GENESYS_TOPIC_BUILDER_MODE", "manual")
        .env("GENESYS_SUBSCRIPTION_TOPICS", "v2.routing.queues.q1.conversations.calls")
        .env("LOG_FORMAT", "json");
    for (k, v) in support::genesys::env(genesys) {
        c.env(k, v);
    }
    c
}

/// One process serves AudioHook and runs the connector; SIGTERM stops both, each reporting `stopped`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_runs_audiohook_and_the_connector_until_sigterm() {
    use support::genesys::Script;
    let (genesys, genesys_base) = support::genesys::start(&[Script::NotifyAndHold("conv-all")]).await;
    let (ingest, ingest_base) = support::ingest::start().await;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("call.wav");
    write_wav(&wav, 2, 8000);
    let port = free_port();
    let mut cmd = all(dir.path(), port, &genesys_base, &ingest_base);
    let (child, mut lines) = process::spawn_lines(&mut cmd);
    let listening = tokio::task::block_in_place(|| lines.next().unwrap().unwrap());
    assert!(listening.contains("audiohook: listening"), "{listening}");
    std::thread::spawn(move || lines.for_each(drop));

    let out = tokio::task::block_in_place(|| simulate(port, SECRET_B64, &wav, &[]));
    assert!(out.status.success(), "AudioHook answers: {}", String::from_utf8_lossy(&out.stdout));
    let forwarded = |wanted: &dyn Fn(&serde_json::Value) -> bool| ingest.accepted.lock().unwrap().iter().any(wanted);
    support::wait_for("AudioHook to forward the simulated call's audio", || forwarded(&|b| b["audio_b64"].is_string()))
        .await;
    support::wait_for("the connector to forward the Genesys notification", || {
        forwarded(&|b| b["call_id"] == "conv-all")
    })
    .await;
    assert_eq!(genesys.subscriptions.lock().unwrap()[0].1, ["v2.routing.queues.q1.conversations.calls"]);

    tokio::task::block_in_place(|| stop(child));
    let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
    for component in [GENESYS_AUDIOHOOK, GENESYS_CONNECTOR] {
        let hb = store
            .list(component)
            .await
            .unwrap()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {component} heartbeat"));
        assert_eq!(hb.status["state"], "stopped", "{component}: {}", hb.status);
    }
}

/// A service that cannot start stops the lot, named, with exit code 1: the connector without credentials
/// (before AudioHook binds), AudioHook on a port already taken (the connector never starts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_fails_as_a_whole_when_a_service_cannot_start() {
    let (_genesys, genesys_base) = support::genesys::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = tokio::task::block_in_place(|| {
        all(dir.path(), port, &genesys_base, "http://127.0.0.1:9").env_remove("GENESYS_CLIENT_ID").output().unwrap()
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("listener all: connector:") && stderr.contains("GENESYS_CLIENT_ID"), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out =
        tokio::task::block_in_place(|| all(dir.path(), port, &genesys_base, "http://127.0.0.1:9").output().unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("listener all: audiohook: cannot listen on 127.0.0.1:"), "{stderr}");
    let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
    assert!(store.list(GENESYS_CONNECTOR).await.unwrap().is_empty(), "the connector never started");
}
