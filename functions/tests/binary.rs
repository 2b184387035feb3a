//! The `call-analytics` binary as an operator runs it: a real process, real signals.

#[path = "../../shared/tests/process/modes.rs"]
mod modes;
#[path = "../../shared/tests/process/mod.rs"]
mod process;

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_call-analytics"));
    c.env_remove("SUPERVISOR_TOKEN").env_remove("REALTIME_INGEST_TOKEN").env_remove("HTTP_ADDR");
    c.env("GENESYS_AUDIOHOOK_PORT", "0");
    c
}

#[test]
fn serve_prints_generated_tokens_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::TempDir::new().unwrap();
    let logs = dir.path().join("logs");
    let (mut child, mut lines) = process::spawn_lines(
        bin()
            .args(["serve"])
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("DATA_DIR", dir.path())
            .env("LOG_DIR", &logs)
            .env("LOG_FORMAT", "json"),
    );
    let banner = lines.next().unwrap().unwrap();
    assert!(banner.starts_with("Call Analytics listening on http://127.0.0.1:"), "{banner}");
    let token_line = lines.next().unwrap().unwrap();
    let token = token_line.split_whitespace().last().unwrap().to_string();
    assert_eq!(token.len(), 64, "{token_line}");
    let saved = std::fs::read_to_string(dir.path().join("credentials.json")).unwrap();
    assert!(saved.contains(&token));
    // AudioHook runs in the same process, on loopback, with generated credentials kept beside the tokens.
    let rest: Vec<String> = (0..7).map(|_| lines.next().unwrap().unwrap()).collect();
    // No model in DATA_DIR and no provider: the banner says how to get one.
    assert!(rest[2].starts_with("  transcription: none: ") && rest[2].contains("models install tiny.en"), "{rest:?}");
    assert!(rest[3].starts_with("  AudioHook: ws://127.0.0.1:") && rest[3].ends_with("/audiohook/ws"), "{rest:?}");
    let api_key = rest[4].split_whitespace().last().unwrap();
    let kept = std::fs::read_to_string(dir.path().join("audiohook.json")).unwrap();
    assert!(kept.contains(api_key) && api_key.len() == 64, "{rest:?}");

    let exit = process::terminate(&mut child);
    assert!(exit.success(), "{exit:?}");

    // LOG_DIR holds a dated file of JSON lines, flushed on shutdown.
    let files: Vec<_> = std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].file_name().unwrap().to_string_lossy().starts_with("call-analytics.log."));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let messages: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["fields"]["message"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(messages.iter().any(|m| m == "serving"), "{text}");
    assert!(messages.iter().any(|m| m == "stopped"), "{text}");
}

#[test]
fn refuses_a_public_bind_without_configured_credentials() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = bin().args(["serve"]).env("HTTP_ADDR", "0.0.0.0:0").env("DATA_DIR", dir.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on non-loopback 0.0.0.0:0"), "{err}");
}

#[test]
fn bad_settings_are_named() {
    let out = bin().args(["serve"]).env("REALTIME_HIGH_RISK_THRESHOLD", "lots").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("REALTIME_HIGH_RISK_THRESHOLD"), "{err}");
}

/// Settings also come from a `.env` file in the working directory (as the Django system's did), under the
/// environment: a bad value there is named like any other, the environment's value wins over it, and a
/// setting of that system nothing reads any more is named in the log with what replaced it.
#[test]
fn settings_come_from_a_dotenv_file_under_the_environment() {
    let dir = tempfile::TempDir::new().unwrap();
    let dotenv = "# from the old system\nexport REALTIME_HIGH_RISK_THRESHOLD=lots\nCHUNK_MINUTES=30\n";
    std::fs::write(dir.path().join(".env"), dotenv).unwrap();
    // A public address without credentials is refused too, so a server that ignored the file still exits.
    let out = bin().args(["serve"]).current_dir(dir.path()).env("HTTP_ADDR", "0.0.0.0:0").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("REALTIME_HIGH_RISK_THRESHOLD=\"lots\""), "{err}");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("no longer read") && log.contains("CHUNK_MINUTES") && log.contains("STT_CHUNK_SECONDS"),
        "{log}"
    );

    let (mut child, mut lines) = process::spawn_lines(
        bin()
            .args(["serve"])
            .current_dir(dir.path())
            .env("REALTIME_HIGH_RISK_THRESHOLD", "80")
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("DATA_DIR", dir.path().join("data")),
    );
    let listening = lines.by_ref().map(Result::unwrap).any(|l| l.starts_with("Call Analytics listening on"));
    std::thread::spawn(move || lines.for_each(drop));
    assert!(listening, "the environment wins");
    assert!(process::terminate(&mut child).success());
}

/// The address in the banner's `Call Analytics listening on http://ADDR (data in …)`.
fn listening_on(banner: &str) -> std::net::SocketAddr {
    let addr = banner.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next());
    addr.and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("no address in {banner:?}"))
}

/// One plain HTTP/1.1 GET; the answer does not matter, only what the server logs about it.
fn get(addr: std::net::SocketAddr, target: &str) {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    write!(socket, "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    socket.read_to_end(&mut Vec::new()).unwrap();
}

#[test]
fn request_logs_never_record_query_strings() {
    let dir = tempfile::TempDir::new().unwrap();
    let (mut child, mut lines) = process::spawn_lines(
        bin()
            .args(["serve"])
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("DATA_DIR", dir.path())
            .env_remove("RUST_LOG")
            .env("LOG_LEVEL", "trace"),
    );
    let addr = listening_on(&lines.next().unwrap().unwrap());
    let output = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    get(addr, "/ws?token=secret-xyz");
    get(addr, "/api/realtime/calls?ticket=secret-xyz&limit=5");
    let exit = process::terminate(&mut child);
    assert!(exit.success(), "{exit:?}");
    let output = output.join().unwrap();
    assert!(output.contains("/api/realtime/calls"), "the requests are traced at this level:\n{output}");
    assert!(!output.contains("secret-xyz"), "a query string was logged:\n{output}");
}

/// Runs `serve` with JSON logs until it logs that it serves, stops it with SIGTERM, and returns everything
/// it printed.
fn serve_once(cmd: &mut Command) -> String {
    let (mut child, lines) = process::spawn_lines(cmd.arg("serve").env("LOG_FORMAT", "json"));
    let (serving_tx, serving) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let seen = |l: &String| {
            if l.contains(r#""message":"serving""#) {
                let _ = serving_tx.send(());
            }
        };
        lines.map_while(Result::ok).inspect(seen).collect::<Vec<_>>().join("\n")
    });
    let started = serving.recv_timeout(std::time::Duration::from_secs(60));
    let exit = process::terminate(&mut child);
    let output = reader.join().unwrap();
    assert!(started.is_ok() && exit.success(), "{exit:?}\n{output}");
    output
}

/// Every string in a JSON file of secrets under DATA_DIR.
fn kept_secrets(path: &std::path::Path) -> Vec<String> {
    let kept: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    kept.as_object().unwrap().values().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[test]
fn generated_secrets_are_printed_once_then_only_where_they_are_kept() {
    let dir = tempfile::TempDir::new().unwrap();
    let start = || serve_once(bin().env("HTTP_ADDR", "127.0.0.1:0").env("DATA_DIR", dir.path()));
    let (first, second) = (start(), start());
    let files = [dir.path().join("credentials.json"), dir.path().join("audiohook.json")];
    let secrets: Vec<String> = files.iter().flat_map(|f| kept_secrets(f)).collect();
    assert_eq!(secrets.len(), 4, "{secrets:?}");
    for secret in &secrets {
        assert!(first.contains(secret.as_str()), "the first start shows what it generated:\n{first}");
        assert!(!second.contains(secret.as_str()), "a later start printed a secret:\n{second}");
    }
    for file in &files {
        assert!(second.contains(&file.display().to_string()), "{}:\n{second}", file.display());
    }
}

/// A one-second mono WAV, for an upload.
fn wav() -> Vec<u8> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    (0..8000).for_each(|i| w.write_sample(if (i / 16) % 2 == 0 { 3000i16 } else { -3000 }).unwrap());
    w.finalize().unwrap();
    out.into_inner()
}

/// Call data and secrets are the service user's alone: the SQLite file with its -wal and -shm, blobs, the
/// generated credentials and the logs, in a DATA_DIR the process creates itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_serve_writes_under_data_dir_is_private() {
    let tmp = tempfile::TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let (mut child, mut lines) = process::spawn_lines(
        bin().args(["serve"]).env("HTTP_ADDR", "127.0.0.1:0").env("DATA_DIR", &data).env("LOG_DIR", data.join("logs")),
    );
    let base = format!("http://{}", listening_on(&lines.next().unwrap().unwrap()));
    std::thread::spawn(move || lines.for_each(drop)); // keep reading, so logging never hits a closed pipe
    let tokens: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("credentials.json")).unwrap()).unwrap();
    let http = reqwest::Client::new();
    let event = serde_json::json!({"call_id": "private-1", "text": "hello", "sentiment": -1});
    let ingested = http
        .post(format!("{base}/api/realtime/events"))
        .bearer_auth(tokens["ingest_token"].as_str().unwrap())
        .json(&event)
        .send()
        .await
        .unwrap();
    assert!(ingested.status().is_success(), "{ingested:?}");
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(wav()).file_name("call.wav"));
    let uploaded = http
        .post(format!("{base}/api/calls"))
        .bearer_auth(tokens["supervisor_token"].as_str().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(uploaded.status().is_success(), "{uploaded:?}");

    // While it runs (SQLite's -wal and -shm exist only then), and after it stopped.
    let db = data.join(shared::adapters::embedded::DATABASE_FILE);
    assert!(db.with_extension("db-wal").exists() && data.join("blobs").is_dir(), "nothing written?");
    let (open, seen) = modes::not_private(&data);
    assert!(open.is_empty() && seen > 8, "readable by others while serving ({seen} looked at): {open:#?}");
    let exit = process::terminate(&mut child);
    assert!(exit.success(), "{exit:?}");
    let (open, _) = modes::not_private(&data);
    assert!(open.is_empty(), "readable by others after stopping: {open:#?}");
}
