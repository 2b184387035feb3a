//! The Sarvam batch-job provider against `FakeSarvam`, an axum server on loopback that plays the documented
//! job API (create, upload-files, presigned PUT, start, status, download-files, presigned GET) and checks
//! the key header and the request fields on the way: diarized and non-diarized outputs, refusals, a busy
//! API, a failed job and a hanging server.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use shared::speech::{Sarvam, SarvamSettings, Segment, SttError, Transcriber};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk-test-key";

/// A scripted Sarvam: what the job's status polls answer (in turn, the last repeating), what its output
/// file holds, how many creates it refuses as busy first, and whether creating a job hangs.
#[derive(Default)]
struct FakeSarvam {
    base: String,
    statuses: Vec<(StatusCode, Value)>,
    output: Value,
    busy_creates: AtomicUsize,
    hang: bool,
    polls: AtomicUsize,
    /// (job kind from the path, job_parameters) of every accepted create.
    created: Mutex<Vec<(String, Value)>>,
    uploaded: AtomicUsize,
}

type Fake = State<Arc<FakeSarvam>>;
type Answer = (StatusCode, Json<Value>);

fn key_ok(headers: &HeaderMap) -> bool {
    headers.get("api-subscription-key").and_then(|v| v.to_str().ok()) == Some(KEY)
}

fn refused() -> Answer {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": {"message": "Invalid API key", "code": "invalid_api_key_error"}})))
}

async fn create(State(f): Fake, Path(kind): Path<String>, headers: HeaderMap, Json(body): Json<Value>) -> Answer {
    if !key_ok(&headers) {
        return refused();
    }
    if f.hang {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    if f.busy_creates.load(Ordering::SeqCst) > 0 {
        f.busy_creates.fetch_sub(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": {"message": "overloaded"}})));
    }
    f.created.lock().unwrap().push((kind, body["job_parameters"].clone()));
    (StatusCode::OK, Json(json!({"job_id": "job-1", "job_state": "Accepted", "storage_container_type": "Azure"})))
}

async fn upload_urls(State(f): Fake, headers: HeaderMap, Json(body): Json<Value>) -> Answer {
    if !key_ok(&headers) {
        return refused();
    }
    assert_eq!(body, json!({"job_id": "job-1", "files": ["audio.wav"]}));
    let url = format!("{}/storage/job-1/audio.wav?sig=secret", f.base);
    let answer = json!({"job_id": "job-1", "job_state": "Accepted", "storage_container_type": "Azure",
        "upload_urls": {"audio.wav": {"file_url": url, "file_metadata": null}}});
    (StatusCode::OK, Json(answer))
}

async fn storage_put(State(f): Fake, headers: HeaderMap, body: axum::body::Bytes) -> StatusCode {
    assert!(headers.get("api-subscription-key").is_none(), "the key never goes to the storage URL");
    assert_eq!(headers.get("x-ms-blob-type").and_then(|v| v.to_str().ok()), Some("BlockBlob"));
    assert!(body.starts_with(b"RIFF"), "the WAV is uploaded as it is");
    f.uploaded.fetch_add(1, Ordering::SeqCst);
    StatusCode::CREATED
}

async fn start(State(f): Fake, Path((_, job)): Path<(String, String)>, headers: HeaderMap) -> Answer {
    if !key_ok(&headers) {
        return refused();
    }
    assert_eq!((job.as_str(), f.uploaded.load(Ordering::SeqCst)), ("job-1", 1), "started after the upload");
    (StatusCode::OK, Json(json!({"job_id": job, "job_state": "Pending"})))
}

async fn status(State(f): Fake, headers: HeaderMap) -> Answer {
    if !key_ok(&headers) {
        return refused();
    }
    let n = f.polls.fetch_add(1, Ordering::SeqCst);
    let (code, body) = f.statuses[n.min(f.statuses.len() - 1)].clone();
    (code, Json(body))
}

async fn download_urls(State(f): Fake, headers: HeaderMap, Json(body): Json<Value>) -> Answer {
    if !key_ok(&headers) {
        return refused();
    }
    assert_eq!(body, json!({"job_id": "job-1", "files": ["0.json"]}));
    let url = format!("{}/storage/job-1/0.json?sig=secret", f.base);
    (StatusCode::OK, Json(json!({"job_id": "job-1", "download_urls": {"0.json": {"file_url": url}}})))
}

async fn storage_get(State(f): Fake, headers: HeaderMap) -> Json<Value> {
    assert!(headers.get("api-subscription-key").is_none(), "the key never goes to the storage URL");
    Json(f.output.clone())
}

impl FakeSarvam {
    async fn serve(mut self) -> Arc<Self> {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.base = format!("http://{}", socket.local_addr().unwrap());
        let fake = Arc::new(self);
        let app = Router::new()
            .route("/{kind}/job/v1", post(create))
            .route("/{kind}/job/v1/upload-files", post(upload_urls))
            .route("/{kind}/job/v1/download-files", post(download_urls))
            .route("/{kind}/job/v1/{job}/start", post(start))
            .route("/{kind}/job/v1/{job}/status", get(status))
            .route("/storage/job-1/audio.wav", put(storage_put))
            .route("/storage/job-1/0.json", get(storage_get))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
        fake
    }
}

fn state(s: &str) -> (StatusCode, Value) {
    (StatusCode::OK, json!({"job_id": "job-1", "job_state": s, "job_details": []}))
}

fn completed() -> (StatusCode, Value) {
    let detail = json!({"inputs": [{"file_name": "audio.wav", "file_id": "0"}],
        "outputs": [{"file_name": "0.json", "file_id": "0"}], "state": "Success", "error_message": null});
    (StatusCode::OK, json!({"job_id": "job-1", "job_state": "Completed", "job_details": [detail]}))
}

fn settings(base: &str, key: &str, model: &str, diarization: bool) -> SarvamSettings {
    SarvamSettings {
        base_url: base.into(),
        api_key: key.into(),
        model: model.into(),
        language_code: "en-IN".into(),
        diarization,
        num_speakers: Some(2),
        poll_interval: Duration::from_millis(20),
        request_timeout: Duration::from_secs(2),
        job_timeout: Duration::from_secs(5),
    }
}

/// A tenth of a second of 16 kHz mono silence.
fn wav() -> Vec<u8> {
    let format = shared::realtime::live_audio::AudioFormat { sample_rate: 16_000, channels: 1, sample_width: 2 };
    shared::audio::wav::encode(&format, &[0u8; 3200])
}

async fn run(s: SarvamSettings, language: Option<&str>) -> Result<Vec<Segment>, SttError> {
    Sarvam::new(s).unwrap().transcribe(wav(), language).await
}

#[tokio::test]
async fn diarized_job_gives_speakers_and_times() {
    let output = json!({"request_id": "r", "transcript": "Hello. Hi, I need help.", "language_code": "en-IN",
        "diarized_transcript": {"entries": [
            {"transcript": "Hello.", "start_time_seconds": 0.0, "end_time_seconds": 1.2, "speaker_id": "0"},
            {"transcript": "Hi, I need help.", "start_time_seconds": 1.4, "end_time_seconds": 3.0, "speaker_id": "1"}]}});
    let busy = (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "blip"}));
    let statuses = vec![state("Pending"), busy, state("Running"), completed()];
    let fake = FakeSarvam { statuses, output, ..Default::default() }.serve().await;
    let segs = run(settings(&fake.base, KEY, "saaras:v2.5", true), Some("hi-IN")).await.unwrap();
    let got: Vec<_> =
        segs.iter().map(|s| (s.speaker.as_deref(), s.start_seconds, s.end_seconds, s.text.as_str())).collect();
    assert_eq!(got, [(Some("0"), 0.0, 1.2, "Hello."), (Some("1"), 1.4, 3.0, "Hi, I need help.")]);
    assert_eq!(fake.polls.load(Ordering::SeqCst), 4, "one transient poll failure is ridden out");
    let created = fake.created.lock().unwrap().clone();
    assert_eq!(created[0].0, "speech-to-text-translate", "saaras:v2.5 runs as the seed's translate job");
    assert_eq!(created[0].1, json!({"model": "saaras:v2.5", "with_diarization": true, "num_speakers": 2}));
}

#[tokio::test]
async fn without_diarization_segments_still_come() {
    let output = json!({"transcript": "one two", "timestamps": {"words": ["one", "two"],
        "start_time_seconds": [0.0, 0.05], "end_time_seconds": [0.05, 0.1]}});
    let fake = FakeSarvam { statuses: vec![completed()], output, ..Default::default() }.serve().await;
    let segs = run(settings(&fake.base, KEY, "saarika:v2.5", false), Some("hi-IN")).await.unwrap();
    assert_eq!(segs.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(), ["one", "two"]);
    assert!(segs.iter().all(|s| s.speaker.is_none()));
    let created = fake.created.lock().unwrap().clone();
    assert_eq!(created[0].0, "speech-to-text");
    assert_eq!(
        created[0].1,
        json!({"model": "saarika:v2.5", "with_diarization": false, "language_code": "hi-IN", "with_timestamps": true}),
        "no num_speakers without diarization; the caller's language wins"
    );

    let bare =
        FakeSarvam { statuses: vec![completed()], output: json!({"transcript": " all of it "}), ..Default::default() };
    let bare = bare.serve().await;
    let segs = run(settings(&bare.base, KEY, "saarika:v2.5", false), None).await.unwrap();
    assert_eq!(
        segs,
        [Segment {
            start_seconds: 0.0,
            end_seconds: 0.1,
            text: "all of it".into(),
            confidence: None,
            speaker: None,
            words: vec![]
        }],
        "a bare transcript spans the piece"
    );
    assert_eq!(bare.created.lock().unwrap()[0].1["language_code"], "en-IN", "LANGUAGE_CODE by default");
}

#[tokio::test]
async fn a_wrong_key_is_refused() {
    let fake = FakeSarvam { statuses: vec![completed()], ..Default::default() }.serve().await;
    let r = run(settings(&fake.base, "sk-wrong", "saaras:v2.5", true), None).await;
    assert!(matches!(&r, Err(SttError::Refused(m)) if m.contains("401") && !m.contains("sk-wrong")), "{r:?}");
}

#[tokio::test]
async fn a_busy_api_is_unavailable_then_works() {
    let output = json!({"diarized_transcript": {"entries": [{"transcript": "ok", "speaker_id": "0"}]}});
    let fake =
        FakeSarvam { statuses: vec![completed()], output, busy_creates: AtomicUsize::new(1), ..Default::default() };
    let fake = fake.serve().await;
    let s = settings(&fake.base, KEY, "saaras:v2.5", true);
    let first = run(s.clone(), None).await;
    assert!(matches!(&first, Err(SttError::Unavailable(m)) if m.contains("503")), "{first:?}");
    assert_eq!(run(s, None).await.unwrap()[0].text, "ok", "the worker's retry succeeds");
}

#[tokio::test]
async fn a_failed_job_is_refused_with_its_reason() {
    let failed = json!({"job_id": "job-1", "job_state": "Failed", "error_message": "",
        "job_details": [{"inputs": [{"file_name": "audio.wav"}], "outputs": [], "state": "Failed",
                         "error_message": "Audio duration is too short"}]});
    let fake = FakeSarvam { statuses: vec![state("Running"), (StatusCode::OK, failed)], ..Default::default() };
    let fake = fake.serve().await;
    let r = run(settings(&fake.base, KEY, "saaras:v2.5", true), None).await;
    assert!(matches!(&r, Err(SttError::Refused(m)) if m.contains("Audio duration is too short")), "{r:?}");
}

#[tokio::test]
async fn a_hanging_server_is_unavailable_after_the_timeout() {
    let fake = FakeSarvam { statuses: vec![completed()], hang: true, ..Default::default() }.serve().await;
    let mut s = settings(&fake.base, KEY, "saaras:v2.5", true);
    s.request_timeout = Duration::from_millis(300);
    let began = std::time::Instant::now();
    let r = run(s, None).await;
    assert!(matches!(r, Err(SttError::Unavailable(_))), "{r:?}");
    assert!(began.elapsed() < Duration::from_secs(3), "gave up at the timeout, not when the server did");
}

#[tokio::test]
async fn a_job_that_never_ends_is_unavailable() {
    let fake = FakeSarvam { statuses: vec![state("Running")], ..Default::default() }.serve().await;
    let mut s = settings(&fake.base, KEY, "saaras:v2.5", true);
    s.job_timeout = Duration::from_millis(200);
    let r = run(s, None).await;
    assert!(matches!(&r, Err(SttError::Unavailable(m)) if m.contains("did not finish")), "{r:?}");
}
