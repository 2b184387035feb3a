//! `POST /api/calls` against the real `call-analytics serve` process, with the form written by hand on a
//! socket so the test never holds the file either: a 200 MB recording is streamed to storage (the server's
//! peak memory, `VmHWM`, barely moves) and served back whole; one past `AUDIO_MAX_BYTES` is refused with 413
//! and leaves nothing; a client that goes away mid-upload leaves nothing. The form's fields come after the
//! file. A fake transcription server that never answers (`fake_stt_that_never_answers`) keeps the one batch
//! worker busy with a small call, so the large upload is not read back by the worker while memory is measured.
//! And `POST /api/calls/upload-url`, which the local folder refuses (501), records no call on the way.

mod common;

use axum::routing::post;
use common::{SUPERVISOR, process};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: u64 = 1 << 20;
const BOUNDARY: &str = "upload-streaming-test-boundary";

/// A transcription server that takes requests and never answers them.
async fn fake_stt_that_never_answers() -> String {
    let app = axum::Router::new().route("/v1/audio/transcriptions", post(std::future::pending::<String>));
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    base
}

/// A mono 8 kHz 16-bit WAV header for `len` bytes of file in all.
fn wav_header(len: u64) -> Vec<u8> {
    let data = (len - 44) as u32;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(data + 36).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&8000u32.to_le_bytes());
    h.extend_from_slice(&16000u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data.to_le_bytes());
    h
}

/// `POST /api/calls` with a WAV of `len` bytes (a header, then silence written 1 MiB at a time) as `file`,
/// then `language` as the `language_code` field. With `hang_up_after`, the socket is closed once that many bytes of the
/// file are sent and `None` comes back; else the status and JSON body of the answer.
async fn upload(base: &str, len: u64, language: &str, hang_up_after: Option<u64>) -> Option<(u16, Value)> {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long call.wav\"\r\n\
         Content-Type: audio/wav\r\n\r\n"
    );
    let tail = format!(
        "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"language_code\"\r\n\r\n{language}\r\n--{BOUNDARY}--\r\n"
    );
    let addr = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/calls HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {SUPERVISOR}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        head.len() as u64 + len + tail.len() as u64
    );
    let sent = async {
        socket.write_all(request.as_bytes()).await?;
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(&wav_header(len)).await?;
        let silence = vec![0u8; MIB as usize];
        let mut written = 44;
        while written < len {
            if hang_up_after.is_some_and(|at| written >= at) {
                return Ok(false);
            }
            let n = (len - written).min(MIB);
            socket.write_all(&silence[..n as usize]).await?;
            written += n;
        }
        socket.write_all(tail.as_bytes()).await?;
        Ok::<_, std::io::Error>(true)
    };
    // A refusal may come (and the server stop reading) before the whole form is sent.
    if !sent.await.unwrap_or(true) {
        return None;
    }
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    Some((status, serde_json::from_str(body).unwrap_or(Value::String(body.to_string()))))
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files(&path)) } else { out.push(path.display().to_string()) }
    }
    out
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).bearer_auth(SUPERVISOR).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_is_streamed_to_storage_not_held_in_memory() {
    let stt = fake_stt_that_never_answers().await;
    let dir = tempfile::TempDir::new().unwrap();
    let settings = [("STT_PROVIDER", "openai"), ("STT_BASE_URL", stt.as_str()), ("WORKER_CONCURRENCY", "1")];
    let (mut server, base) = common::serve_binary(dir.path(), &settings);
    let http = reqwest::Client::new();
    // The worker's one slot is taken by a short call whose transcription never comes back.
    let (status, busy) = upload(&base, 16_044, "hi-IN", None).await.unwrap();
    assert_eq!(status, 201, "{busy}");
    let busy_url = format!("{base}/api/calls/{}", busy["id"].as_str().unwrap());
    while get_json(&http, &busy_url).await["stage"] != "transcription_start" {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let before = process::peak_rss(server.id());
    let len = 200 * MIB;
    let (status, call) = upload(&base, len, "hi-IN", None).await.unwrap();
    let grown = process::peak_rss(server.id()).saturating_sub(before);
    assert_eq!(status, 201, "{call}");
    eprintln!("peak memory grew by {} KiB for a {} MiB upload", grown / 1024, len / MIB);
    assert!(grown < 50 * MIB, "peak memory grew by {} MiB for a {} MiB upload", grown / MIB, len / MIB);

    let id = call["id"].as_str().unwrap();
    assert_eq!((call["status"].as_str(), call["language_code"].as_str()), (Some("queued"), Some("hi-IN")));
    let mut audio = http.get(format!("{base}/api/calls/{id}/audio")).bearer_auth(SUPERVISOR).send().await.unwrap();
    assert_eq!(audio.status(), 200);
    let (mut served, header) = (Vec::new(), wav_header(len));
    let mut total = 0u64;
    while let Some(chunk) = audio.chunk().await.unwrap() {
        if served.len() < 44 {
            served.extend_from_slice(&chunk[..chunk.len().min(44 - served.len())]);
        }
        let silence_from = 44u64.saturating_sub(total).min(chunk.len() as u64) as usize;
        assert!(chunk[silence_from..].iter().all(|&b| b == 0), "the audio comes back as it was sent");
        total += chunk.len() as u64;
    }
    assert_eq!((total, served), (len, header));
    server.kill().unwrap(); // its worker waits on the transcription that never comes
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_past_the_limit_or_cut_off_leaves_nothing_behind() {
    let dir = tempfile::TempDir::new().unwrap();
    let (mut server, base) = common::serve_binary(dir.path(), &[("AUDIO_MAX_BYTES", "2000000")]);
    let http = reqwest::Client::new();

    let (status, refused) = upload(&base, 3 * MIB, "hi-IN", None).await.unwrap();
    assert_eq!((status, refused), (413, serde_json::json!({"detail": "Upload too large"})));
    assert_eq!(upload(&base, 64 * MIB, "hi-IN", Some(MIB)).await, None);
    // A field after the file that is refused: the file was already in storage.
    let (status, refused) = upload(&base, MIB, "hi IN; drop", None).await.unwrap();
    assert_eq!(
        (status, refused["detail"].as_str()),
        (400, Some("language_code may only hold letters, digits and . _ - : /"))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let list = get_json(&http, &format!("{base}/api/calls")).await;
    assert_eq!(list["total"], 0, "no call is recorded: {list}");
    let blobs = files(&dir.path().join("blobs"));
    assert!(blobs.is_empty(), "nothing is left in storage: {blobs:?}");

    // Within the limit, the same form is taken.
    let (status, call) = upload(&base, 1_900_000, "hi-IN", None).await.unwrap();
    assert_eq!(status, 201, "{call}");
    assert!(process::terminate(&mut server).success());
}

/// Locally the folder store cannot presign, so `POST /api/calls/upload-url` answers 501. It must record
/// nothing on the way: a call inserted then deleted shows in a list taken at that moment. A trigger on the
/// running server's own SQLite file keeps every insert into the batch calls, so even a row that lived for a
/// microsecond is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_direct_upload_records_no_call_even_for_a_moment() {
    let dir = tempfile::TempDir::new().unwrap();
    let (mut server, base) = common::serve_binary(dir.path(), &[]);
    let db = rusqlite::Connection::open(dir.path().join("call_analytics.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute_batch(
        "CREATE TABLE inserted (id TEXT);
         CREATE TRIGGER keep_inserts AFTER INSERT ON batch_call BEGIN INSERT INTO inserted VALUES (NEW.id); END;",
    )
    .unwrap();

    let asked = reqwest::Client::new()
        .post(format!("{base}/api/calls/upload-url"))
        .bearer_auth(SUPERVISOR)
        .json(&serde_json::json!({"filename": "big.wav"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 501);
    let detail: Value = asked.json().await.unwrap();
    assert_eq!(detail, serde_json::json!({"detail": "Direct uploads need S3; upload with POST /api/calls"}));
    let inserted: Vec<String> = db
        .prepare("SELECT id FROM inserted")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(inserted.is_empty(), "calls recorded on the way to the 501: {inserted:?}");

    // The trigger sees what it should: an upload through the API is recorded.
    let (status, call) = upload(&base, 16_044, "hi-IN", None).await.unwrap();
    assert_eq!(status, 201, "{call}");
    let count: i64 = db.query_row("SELECT count(*) FROM inserted", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 1);
    assert!(process::terminate(&mut server).success());
}
