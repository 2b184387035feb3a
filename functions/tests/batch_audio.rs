//! Audio uploads through the real local server: decoding, per-channel transcription against a fake
//! OpenAI-compatible server (`FakeWhisperForCalls`, which tells the channels apart by their tone), the
//! analysis, the audio route, the failures a call must explain (no provider, undecodable audio), and a
//! worker killed mid-job (the real binary, SIGKILL) whose job completes after a restart. With the `whisper`
//! feature, also the offline default: real speech transcribed by the embedded engine with nothing configured.

mod common;
#[cfg(feature = "whisper")]
#[path = "../../shared/tests/speech/mod.rs"]
mod speech;
#[path = "../../shared/tests/telephony/mod.rs"]
mod telephony;

use axum::body::Bytes;
use axum::routing::post;
use common::{TestServer, process};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const CUSTOMER_LINE: &str = "I need to speak to a supervisor right now about my refund.";
const AGENT_LINE: &str = "I understand, I will process the refund today.";

/// A stereo 16-bit WAV: 440 Hz on the left (customer), 1 kHz on the right (agent).
fn stereo_call(seconds: f64, rate: u32) -> Vec<u8> {
    let spec =
        hound::WavSpec { channels: 2, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..(seconds * f64::from(rate)) as usize {
        let t = i as f64 / f64::from(rate);
        for f in [440.0, 1000.0] {
            w.write_sample((8000.0 * (2.0 * std::f64::consts::PI * f * t).sin()) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
    out.into_inner()
}

/// The dominant frequency of a mono WAV, from zero crossings.
fn tone_of(wav: &[u8]) -> f64 {
    let mut r = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
    let rate = r.spec().sample_rate as f64;
    let s: Vec<i32> = r.samples::<i16>().map(|x| i32::from(x.unwrap())).collect();
    let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (s.len() as f64 / rate)
}

/// The fake transcription server; counts requests, and never answers while `hang` is set.
async fn fake_whisper_for_calls(hang: Arc<AtomicBool>) -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().route(
        "/v1/audio/transcriptions",
        post(move |body: Bytes| {
            let (counter, hang) = (counter.clone(), hang.clone());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                while hang.load(Ordering::SeqCst) {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                let at = body.windows(4).position(|w| w == b"RIFF").expect("a WAV file part");
                let text = if tone_of(&body[at..]) < 700.0 { CUSTOMER_LINE } else { AGENT_LINE };
                json!({"text": text, "segments": [{"start": 0.5, "end": 2.5, "text": text}]}).to_string()
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (base, seen)
}

async fn upload_audio(s: &TestServer, name: &str, bytes: Vec<u8>) -> String {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    let (status, v) = s.post_form("/api/calls", form).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// 16-bit PCM, and the layout of the Genesys AudioHook reference recording (stereo μ-law, a 16-byte `fmt `
/// without `cbSize`) that telephony systems write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stereo_call_is_transcribed_per_channel_with_the_channels_roles() {
    let (base, seen) = fake_whisper_for_calls(Arc::default()).await;
    let s = TestServer::start_with(&[
        ("STT_PROVIDER", "openai"),
        ("STT_BASE_URL", &base),
        ("ENABLE_NOISE_SUPPRESSION", "false"),
    ])
    .await;
    for (name, wav) in
        [("support call.wav", stereo_call(3.0, 8000)), ("genesys call.wav", telephony::genesys_mulaw(3.0))]
    {
        let requests_before = seen.load(Ordering::SeqCst);
        let id = upload_audio(&s, name, wav.clone()).await;
        let status = s.settled(&id).await;
        assert_eq!(status["status"], "completed", "{name}: {status}");
        assert_eq!(seen.load(Ordering::SeqCst) - requests_before, 2, "{name}: one request per channel");

        let (_, d) = s.get(&format!("/api/calls/{id}/detail")).await;
        let entries = d["transcript"]["entries"].as_array().unwrap();
        let said: Vec<(&str, &str)> =
            entries.iter().map(|e| (e["speaker_id"].as_str().unwrap(), e["transcript"].as_str().unwrap())).collect();
        assert!(said.contains(&("customer", CUSTOMER_LINE)) && said.contains(&("agent", AGENT_LINE)), "{said:?}");
        assert_eq!(d["analysis"]["speaker_roles"], json!({"agent": "Agent", "customer": "Customer"}));
        assert!(d["analysis"]["auto_tags"].as_array().unwrap().contains(&json!("escalation")), "{}", d["analysis"]);
        assert_eq!(d["duration_seconds"], 3.0, "{name}");

        let audio = s.get_raw(&format!("/api/calls/{id}/audio")).await;
        assert_eq!(audio.headers()["content-type"], "audio/wav");
        let disposition = format!("inline; filename=\"{}\"", name.replace(' ', "_"));
        assert_eq!(audio.headers()["content-disposition"], disposition.as_str());
        assert_eq!(audio.bytes().await.unwrap().to_vec(), wav, "{name}: the upload, byte for byte");
    }
    s.stop().await;
}

/// The Genesys layout with a transcript beside it (no speech-to-text needed): the call completes with the
/// recording's length read from its header, not the transcript's last line, and plays back as uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genesys_recording_with_its_transcript_completes_with_the_recordings_length() {
    let s = TestServer::start().await;
    let wav = telephony::genesys_mulaw(12.5);
    let transcript = json!({"entries": [
        {"speaker_id": "customer", "start_time_seconds": 0.5, "end_time_seconds": 3.0, "transcript": CUSTOMER_LINE},
        {"speaker_id": "agent", "start_time_seconds": 3.5, "end_time_seconds": 6.0, "transcript": AGENT_LINE}
    ]});
    let form = Form::new()
        .part("file", Part::bytes(wav.clone()).file_name("genesys.wav"))
        .part("transcript", Part::bytes(transcript.to_string().into_bytes()).file_name("transcript.json"));
    let (status, v) = s.post_form("/api/calls", form).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap();
    let status = s.settled(id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let (_, d) = s.get(&format!("/api/calls/{id}/detail")).await;
    assert_eq!(d["duration_seconds"], 12.5);
    assert_eq!(d["transcript"]["entries"].as_array().map(Vec::len), Some(2));
    let audio = s.get_raw(&format!("/api/calls/{id}/audio")).await;
    assert_eq!(audio.bytes().await.unwrap().to_vec(), wav, "the upload, byte for byte");
    s.stop().await;
}

/// `STT_PROVIDER` unset and tiny.en installed with the CLI: the local process transcribes with whisper.cpp.
#[cfg(feature = "whisper")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_model_installed_calls_are_transcribed_offline_with_nothing_configured() {
    let dir = tempfile::TempDir::new().unwrap();
    let installed = std::process::Command::new(env!("CARGO_BIN_EXE_call-analytics"))
        .args(["models", "install", "tiny.en"])
        .env("DATA_DIR", dir.path())
        .env("WHISPER_SOURCES_DIR", speech::sources())
        .env_remove("WHISPER_MODEL_BASE_URL")
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    let s = TestServer::start_in(dir.path(), &[]).await;
    let (agent, customer) = (speech::GREETING, speech::ESCALATION);
    let call = speech::stereo_call(8_000, &[(4.0, customer)], &[(0.3, agent)]);
    let id = upload_audio(&s, "offline.wav", call).await;
    let status = s.settled(&id).await;
    assert_eq!(status["status"], "completed", "{status}");

    let (_, d) = s.get(&format!("/api/calls/{id}/detail")).await;
    let said = |speaker: &str| -> String {
        let entries = d["transcript"]["entries"].as_array().unwrap().iter();
        let theirs = entries.filter(|e| e["speaker_id"] == speaker).map(|e| e["transcript"].as_str().unwrap());
        theirs.collect::<Vec<_>>().join(" ").to_lowercase()
    };
    assert!(said("customer").contains("manager"), "{}", d["transcript"]);
    let entries = d["transcript"]["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["confidence"].as_f64().is_some_and(|c| c > 0.0 && c <= 1.0)), "{entries:?}");
    assert!(said("agent").contains("help you") && !said("agent").contains("manager"), "{}", d["transcript"]);
    assert!(d["analysis"]["auto_tags"].as_array().unwrap().contains(&json!("escalation")), "{}", d["analysis"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_cannot_be_processed_fail_with_a_reason() {
    let s = TestServer::start().await;
    let no_provider = upload_audio(&s, "a.wav", stereo_call(1.0, 8000)).await;
    let garbage = upload_audio(&s, "b.mp3", b"definitely not audio".repeat(100)).await;
    let v = s.settled(&no_provider).await;
    assert_eq!(
        (v["status"].as_str(), v["error_message"].as_str()),
        (Some("failed"), Some("no speech-to-text provider is configured (set STT_PROVIDER)"))
    );
    let v: Value = s.settled(&garbage).await;
    assert_eq!(v["status"], "failed");
    assert_eq!(
        v["error_message"],
        "The file is not a recording in a supported format (WAV, MP3, M4A/AAC, OGG/Vorbis or FLAC)"
    );
    let (_, list) = s.get("/api/calls?status=failed").await;
    assert_eq!(list["total"], 2);
    s.stop().await;
}

/// `call-analytics serve` on `dir`, transcribing with the fake at `stt`, with 5 s job leases (so a job a
/// killed run held waits at most 5 s at the next start) and at most `attempts` attempts a call.
fn serve(dir: &std::path::Path, stt: &str, attempts: &str) -> (std::process::Child, String) {
    common::serve_binary(
        dir,
        &[
            ("STT_PROVIDER", "openai"),
            ("STT_BASE_URL", stt),
            ("ENABLE_NOISE_SUPPRESSION", "false"),
            ("BATCH_JOB_TIMEOUT_SECONDS", "5"),
            ("BATCH_MAX_ATTEMPTS", attempts),
        ],
    )
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).bearer_auth(common::SUPERVISOR).send().await.unwrap().json().await.unwrap()
}

/// Uploads a two-second stereo call to the process at `base`; its id.
async fn upload_to(http: &reqwest::Client, base: &str) -> String {
    let form = Form::new().part("file", Part::bytes(stereo_call(2.0, 8000)).file_name("long call.wav"));
    let v: Value = http
        .post(format!("{base}/api/calls"))
        .bearer_auth(common::SUPERVISOR)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// Waits (at most 30 s) until the fake transcription server has had `n` requests.
async fn until_seen(seen: &AtomicUsize, n: usize) {
    for _ in 0..1500 {
        if seen.load(Ordering::SeqCst) >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the transcription server had {} requests, not {n}", seen.load(Ordering::SeqCst));
}

/// SIGKILL, as the OOM killer sends it: no shutdown code runs.
fn kill(mut server: std::process::Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_off_by_a_killed_worker_completes_after_a_restart() {
    let hang = Arc::new(AtomicBool::new(true));
    let (stt, seen) = fake_whisper_for_calls(hang.clone()).await;
    let dir = tempfile::TempDir::new().unwrap();
    let http = reqwest::Client::new();
    let (first, base) = serve(dir.path(), &stt, "5");
    let id = upload_to(&http, &base).await;
    until_seen(&seen, 1).await;
    kill(first); // mid-transcription

    hang.store(false, Ordering::SeqCst);
    let (mut second, base) = serve(dir.path(), &stt, "5");
    let status = loop {
        let v = get_json(&http, &format!("{base}/api/calls/{id}")).await;
        if v["status"] == "completed" || v["status"] == "failed" {
            break v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status["status"], "completed", "{status}");
    let list = get_json(&http, &format!("{base}/api/calls")).await;
    assert_eq!(list["calls"][0]["attempts"], 2, "the second run picked the job up after its pause: {list}");
    assert!(process::terminate(&mut second).success());
}

/// A recording whose processing kills the process every time (the OOM killer, simulated by SIGKILL while
/// the fake transcription server holds the call) does not crash-loop it: a restarted process serves and
/// holds the job back for a pause before running it again, and once the call is out of attempts the next
/// start fails it with the reason, and never runs it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_kills_the_process_every_time_fails_after_its_attempts() {
    let (stt, seen) = fake_whisper_for_calls(Arc::new(AtomicBool::new(true))).await;
    let dir = tempfile::TempDir::new().unwrap();
    let http = reqwest::Client::new();
    let (first, base) = serve(dir.path(), &stt, "2");
    let id = upload_to(&http, &base).await;
    until_seen(&seen, 1).await;
    kill(first);

    let (second, base) = serve(dir.path(), &stt, "2");
    let call = get_json(&http, &format!("{base}/api/calls/{id}")).await;
    assert_eq!((call["status"].as_str(), call["stage"].as_str()), (Some("queued"), Some("interrupted")), "{call}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the restarted process did not run the job that killed it at once");
    until_seen(&seen, 2).await; // after the pause (one 5 s lease)
    kill(second);

    let (mut third, base) = serve(dir.path(), &stt, "2");
    let call = get_json(&http, &format!("{base}/api/calls/{id}")).await;
    assert_eq!(call["status"], "failed", "{call}");
    assert!(
        call["error_message"]
            .as_str()
            .unwrap()
            .starts_with("processing stopped after 2 attempts: the process running it"),
        "{call}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 2, "a failed call is not run again");
    assert_eq!(get_json(&http, &format!("{base}/api/calls/{id}")).await["status"], "failed");
    assert!(process::terminate(&mut third).success());
}
