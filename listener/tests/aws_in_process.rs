//! The `listener` binary as the Fargate task runs it, on moto (DynamoDB, S3) and a fake API Gateway
//! Management API: with `TABLE_NAME` and no ingest URL it feeds the realtime service in-process, so a
//! simulated AudioHook call, its events and its live window land in the table with no HTTP ingest anywhere;
//! and two such processes on one table share the signature nonces, so an upgrade replayed to the other task
//! is refused; and with the store down, what the spool holds per second of a call.
#![cfg(feature = "aws")]

#[path = "../../shared/tests/moto/mod.rs"]
mod moto;
#[path = "../../shared/tests/process/mod.rs"]
mod process;
#[path = "support/mod.rs"]
mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use listener::forward::HTTP_TARGET_SETTINGS;
use listener::simulate::{self, Audio, Options};
use serde_json::Value;
use shared::adapters::aws::DynamoStore;
use shared::ports::{CallStore, Heartbeats};
use shared::process::health::GENESYS_AUDIOHOOK;
use std::path::Path;
use std::process::{Child, Command};
use support::server::{API_KEY, CONVERSATION, Client, SECRET};

/// The task's environment on moto: the table and bucket `name`, push to `callback`, no ingest URL or token.
fn aws_listener(moto: &str, name: &str, callback: &str, dir: &Path) -> (Child, u16) {
    aws_listener_with(moto, name, callback, dir, &[])
}

/// As [`aws_listener`], with `extra` settings.
fn aws_listener_with(moto: &str, name: &str, callback: &str, dir: &Path, extra: &[(&str, &str)]) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_listener"));
    for k in HTTP_TARGET_SETTINGS.iter().chain(&["REALTIME_INGEST_TOKEN", "GENESYS_AUDIOHOOK_CREDENTIALS", "RUST_LOG"])
    {
        cmd.env_remove(k);
    }
    let secret = STANDARD.encode(SECRET);
    let env = [
        ("TABLE_NAME", name),
        ("BUCKET_NAME", name),
        ("AWS_ENDPOINT_URL", moto),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("WEBSOCKET_CALLBACK_URL", callback),
        ("GENESYS_AUDIOHOOK_API_KEY", API_KEY),
        ("GENESYS_AUDIOHOOK_CLIENT_SECRET", &secret),
        ("GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS", "1"),
        ("LOG_FORMAT", "json"),
    ];
    let (child, mut lines) =
        process::spawn_lines(cmd.envs(env).envs(extra.iter().copied()).env("DATA_DIR", dir).args([
            "audiohook",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--path",
            "/audiohook/ws",
        ]));
    let listening = lines.next().unwrap().unwrap();
    assert!(listening.contains("audiohook: listening") && listening.contains("in_process"), "{listening}");
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_aws_the_listener_feeds_the_table_in_process() {
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, "in-process").await;
    let store = DynamoStore::new(&sdk, &settings);
    let (callback, posts) = moto::fake_management_api().await;
    store.connect("board", chrono::Utc::now()).await.unwrap();
    store.subscribe("board", None, 10, chrono::Utc::now()).await.unwrap().expect("following every call");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = aws_listener(&moto.endpoint, "in-process", &callback, dir.path());

    // Five seconds of stereo tone, as fast as the listener takes it: chunks of at most 2 s, so at least two.
    let tone: Vec<i16> = (0..40_000).map(|i| if (i / 8) % 2 == 0 { 2000 } else { -2000 }).collect();
    let audio = Audio { channels: vec![tone.clone(), tone] };
    let uri = format!("ws://127.0.0.1:{port}/audiohook/ws");
    let opts = Options { speed: 0.0, ..Options::new(&uri, API_KEY, &STANDARD.encode(SECRET)) };
    let result = simulate::session(&opts, &audio).await;
    assert_eq!(result.outcome, Ok(()));
    assert!(process::terminate(&mut child).success());

    let call = &result.conversation_id;
    let state = store.load_call(call, None).await.unwrap().state.expect("the call is in the table").value;
    assert_eq!(state.status, "ended", "{state:?}");
    let events = store.recent_events(call, 40).await.unwrap();
    assert!(!events.is_empty(), "the call's events are in the table");
    let live = store.load_live_audio(call, None).await.unwrap().head.expect("a live window").value;
    assert!(live.chunk_count >= 2, "five seconds of audio in the window: {live:?}");
    let hb = store.list(GENESYS_AUDIOHOOK).await.unwrap().into_iter().next().expect("a heartbeat");
    let counter = |k: &str| hb.status[k].as_u64().unwrap_or(u64::MAX);
    assert!(counter("forwarded_chunks") >= 2 && counter("forwarded_events") >= 1, "{}", hb.status);
    assert_eq!((counter("forward_failures"), counter("spool_bytes")), (0, 0), "{}", hb.status);
    let pushed: Vec<Value> = posts.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    assert!(pushed.iter().any(|m| m["type"] == "realtime_event" && m["call_id"] == call.as_str()), "{pushed:?}");
}

/// The first message a connection gets after sending `open`: `opened`, or `disconnect` for a refused upgrade.
async fn first_answer(port: u16, session: &str) -> Value {
    let (_client, reply) = Client::open(&format!("127.0.0.1:{port}"), session, CONVERSATION).await;
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_upgrade_replayed_to_another_task_is_refused() {
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    moto::fixture(&sdk, &moto.endpoint, "nonces").await;
    let (callback, _) = moto::fake_management_api().await;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, a_port) = aws_listener(&moto.endpoint, "nonces", &callback, a_dir.path());
    let (mut b, b_port) = aws_listener(&moto.endpoint, "nonces", &callback, b_dir.path());

    // The client signs with a nonce per session id: the same session id is the same signed upgrade again.
    let session = "30b0e395-84d3-4570-ac13-9a62d8f514c0";
    let first = first_answer(a_port, session).await;
    assert_eq!(first["type"], "opened", "{first}");
    for (task, port) in [("the other task", b_port), ("the same task", a_port)] {
        let replay = first_answer(port, session).await;
        assert_eq!(
            (&replay["type"], &replay["parameters"]["reason"]),
            (&"disconnect".into(), &"unauthorized".into()),
            "{task}: {replay}"
        );
    }
    let fresh = first_answer(b_port, "4f4c7a8e-21b7-4a53-9d61-0d9c2e1f7b3a").await;
    assert_eq!(fresh["type"], "opened", "a new nonce is accepted: {fresh}");
    assert!(process::terminate(&mut a).success());
    assert!(process::terminate(&mut b).success());
}

/// With in-process forwarding the spool holds only what the store refused, and on Fargate it is on the task's
/// ephemeral disk: what a task that dies during a store outage loses. Measured here with the store down
/// (nothing listens at the endpoint) and no backlog kept in memory: bytes on disk per second of a call's
/// audio (8 kHz stereo PCM is 32,000 bytes a second, base64 in the spool, plus each chunk's metadata).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_store_refuses_a_session_spools_its_audio_at_a_known_rate() {
    let down = format!("http://{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let memory = [("GENESYS_AUDIOHOOK_STREAM_MEMORY_BYTES", "0"), ("AWS_MAX_ATTEMPTS", "1")];
    let (mut child, port) = aws_listener_with(&down, "down", &down, dir.path(), &memory);
    const SECONDS: usize = 20;
    let tone: Vec<i16> = (0..8_000 * SECONDS).map(|i| if (i / 8) % 2 == 0 { 2000 } else { -2000 }).collect();
    let audio = Audio { channels: vec![tone.clone(), tone] };
    let uri = format!("ws://127.0.0.1:{port}/audiohook/ws");
    let opts = Options { speed: 0.0, ..Options::new(&uri, API_KEY, &STANDARD.encode(SECRET)) };
    assert_eq!(simulate::session(&opts, &audio).await.outcome, Ok(()), "Genesys sees nothing of the outage");
    assert!(process::terminate(&mut child).success());

    let spool = dir.path().join("spool/audiohook");
    let bytes: u64 = std::fs::read_dir(&spool).unwrap().flatten().map(|e| e.metadata().unwrap().len()).sum();
    let per_second = bytes / SECONDS as u64;
    eprintln!("spooled {bytes} bytes for {SECONDS} s of stereo audio: {per_second} bytes per second of call");
    assert!((42_667..=46_000).contains(&per_second), "{per_second} bytes per second of audio");
}
