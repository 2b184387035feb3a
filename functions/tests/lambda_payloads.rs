//! No Lambda response carries audio: a Lambda response is capped at 6 MB, counted on the JSON the function
//! returns to API Gateway, where a binary body is base64 (4 bytes for 3). The handlers are driven through
//! `lambda_http`'s own adapter (what `lambda_http::run` does) on moto, and the response JSON it would send is
//! measured, for a 10-minute upload and a full 300 s live window, both well over the cap as bytes. The link
//! each answers with, fetched from moto, gives the very bytes the local process streams.
#![cfg(feature = "aws")]

mod common;
mod lambda_env;
#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use axum::Router;
use base64::Engine;
use common::{INGEST, SUPERVISOR, TestServer};
use functions::routes::{batch, live_audio};
use functions::state::AppState;
use lambda_env::{fixture, functions_on_moto};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceExt};
use serde_json::{Value, json};

/// Lambda's limit on a synchronous invocation's response payload.
const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// Invokes `group` with an API Gateway event as `lambda_http::run` does, and returns the response payload
/// the function would hand to Lambda, serialized as the runtime sends it.
async fn invoke(state: &AppState, group: fn(&AppState) -> Router<AppState>, event: &Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(event.clone()).unwrap();
    let mut adapter = lambda_http::Adapter::from(group(state).with_state(state.clone()));
    let response = adapter.ready().await.unwrap().call(LambdaEvent::new(request, Context::default())).await.unwrap();
    serde_json::to_value(&response).unwrap()
}

/// The sample `live-audio` event (a supervisor's GET with the authorizer's claims), for `path` and `query`.
fn get(path: &str, query: &str) -> Value {
    let mut e = fixture("live-audio");
    e["rawPath"] = path.into();
    e["requestContext"]["http"]["path"] = path.into();
    e["rawQueryString"] = query.into();
    let params: serde_json::Map<String, Value> =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
    e["queryStringParameters"] = params.into();
    e.as_object_mut().unwrap().remove("routeKey");
    e["requestContext"].as_object_mut().unwrap().remove("routeKey");
    e
}

/// A mono 16 kHz 16-bit WAV of `seconds` (a tone, so no two seconds are alike).
fn wav(seconds: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..seconds * 16_000 {
        w.write_sample(((i % 97) as i16 - 48) * 300).unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

/// The response's size as Lambda counts it, its status and where it points.
fn measured(response: &Value) -> (usize, u64, String) {
    let size = serde_json::to_vec(response).unwrap().len();
    let status = response["statusCode"].as_u64().unwrap();
    let location = response["headers"]["location"].as_str().unwrap_or_default().to_string();
    (size, status, location)
}

async fn fetch(url: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
    let r = reqwest::Client::new().get(url);
    let r = match token {
        Some(t) => r.bearer_auth(t),
        None => r,
    };
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

/// Checks that `response` (for `what`) fits in a Lambda response and is an uncached redirect, and returns
/// the WAV its link gives.
async fn redirected(response: &Value, what: &str) -> Vec<u8> {
    let (size, status, location) = measured(response);
    eprintln!("{what}: a {size}-byte Lambda response, status {status}");
    assert!(size < LAMBDA_RESPONSE_LIMIT, "{what}: the response is {size} bytes");
    assert_eq!(status, 307, "{}", response["headers"]);
    assert!(response["headers"]["cache-control"].as_str().unwrap().starts_with("no-store"));
    let (status, kind, bytes) = fetch(&location, None).await;
    assert_eq!((status, kind.as_str()), (200, "audio/wav"));
    bytes
}

/// Chunk `i` of the long live call: 10 s of 8 kHz stereo, stamped 10 s after the one before.
fn live_chunk(i: u32, start: chrono::DateTime<chrono::Utc>) -> (Value, Vec<u8>) {
    let pcm: Vec<u8> = (0..160_000u32).flat_map(|n| (((n + i) % 89) as i16 * 200).to_le_bytes()).collect();
    let at = start + chrono::Duration::seconds(10 * i as i64);
    let body = json!({"call_id": "long-live", "chunk_id": format!("c-{i}"), "audio_encoding": "pcm_s16le",
        "sample_rate": 8000, "channels": 2, "timestamp": shared::values::timestamps::iso(&at)});
    (body, pcm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_responses_stay_under_the_lambda_payload_limit() {
    let (_moto, state, _store, _posts) = functions_on_moto("payloads").await;
    let local = TestServer::start().await;

    // A 10-minute upload (19.2 MB), put through the presigned URL the upload function gives, and the same
    // file uploaded to the local process.
    let upload = wav(600);
    let mut ask = fixture("calls-upload-url");
    ask["body"] = json!({"filename": "ten minutes.wav", "fields": {}}).to_string().into();
    let created = invoke(&state, batch::upload_router, &ask).await;
    let created: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    let put = reqwest::Client::new().put(created["upload"]["url"].as_str().unwrap()).body(upload.clone()).send().await;
    assert!(put.unwrap().status().is_success());
    let id = created["id"].as_str().unwrap();
    let part = reqwest::multipart::Part::bytes(upload.clone()).file_name("ten minutes.wav");
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = local.http.post(local.url("/api/calls")).bearer_auth(SUPERVISOR).multipart(form).send().await.unwrap();
    let local_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    let response = invoke(&state, batch::read_router, &get(&format!("/api/calls/{id}/audio"), "")).await;
    let bytes = redirected(&response, &format!("10-minute upload ({} bytes)", upload.len())).await;
    let streamed = fetch(&local.url(&format!("/api/calls/{local_id}/audio")), Some(SUPERVISOR)).await;
    assert_eq!((streamed.0, streamed.1.as_str()), (200, "audio/wav"), "the local process streams it");
    assert!(bytes == streamed.2 && bytes == upload, "the link gives the bytes the local process streams");
    // The UI asks for the link itself (`?link=1`): it cannot follow a redirect to another origin.
    let response = invoke(&state, batch::read_router, &get(&format!("/api/calls/{id}/audio"), "link=1")).await;
    assert_eq!((measured(&response).1, &response["headers"]["cache-control"]), (200, &json!("no-store")));
    let link: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(link["expires_in"], 300, "{link}");
    assert!(fetch(link["url"].as_str().unwrap(), None).await.2 == upload);
    let local_link = fetch(&local.url(&format!("/api/calls/{local_id}/audio?link=1")), Some(SUPERVISOR)).await;
    assert!(local_link.2 == upload, "the local process has no link to give and streams the file");

    // A live call with a full 300 s window: 30 chunks of 10 s of 8 kHz stereo (9.6 MB), to both.
    let start = chrono::Utc::now() - chrono::Duration::seconds(300);
    let mut pcm_sent = Vec::new();
    for i in 0..30u32 {
        let (mut body, pcm) = live_chunk(i, start);
        state.realtime.ingest_audio_pcm(body.as_object().unwrap(), &pcm).await.unwrap();
        body["audio_b64"] = base64::engine::general_purpose::STANDARD.encode(&pcm).into();
        let r = local.http.post(local.url("/api/realtime/audio/chunk")).header("x-cloud-token", INGEST).json(&body);
        assert_eq!(r.send().await.unwrap().status(), 200);
        pcm_sent.extend_from_slice(&pcm);
    }
    let live = "/api/realtime/calls/long-live/audio";
    let response = invoke(&state, live_audio::live_audio_router, &get(live, "max_seconds=300")).await;
    let bytes = redirected(&response, &format!("300 s live window ({} bytes of PCM)", pcm_sent.len())).await;
    assert_eq!(response["headers"]["x-live-audio"], "1");
    assert_eq!(bytes.len(), 44 + pcm_sent.len(), "a WAV header and every chunk");
    assert!(bytes[44..] == pcm_sent[..], "the window's samples, in order");
    let streamed = fetch(&local.url(&format!("{live}?max_seconds=300")), Some(SUPERVISOR)).await;
    assert_eq!((streamed.0, streamed.1.as_str()), (200, "audio/wav"), "the local process streams it");
    assert!(bytes == streamed.2, "the link gives the window the local process streams");
}

/// Records a call through the upload function (its file never sent) and stores `transcript` as its
/// transcript artifact; returns its id.
async fn call_with_transcript(state: &AppState, transcript: &Value) -> String {
    let mut ask = fixture("calls-upload-url");
    ask["body"] = json!({"filename": "quoted.json", "fields": {}}).to_string().into();
    let created = invoke(state, batch::upload_router, &ask).await;
    let id =
        serde_json::from_str::<Value>(created["body"].as_str().unwrap()).unwrap()["id"].as_str().unwrap().to_string();
    let key = format!("outputs/{id}/transcript.json");
    state.batch.ports.blobs.put(&key, transcript.to_string().into_bytes()).await.unwrap();
    id
}

/// Exports are text, sent in the response JSON as an escaped string: a transcript of quotes is 3.6 MB as
/// a file and over 7 MB as Lambda sends it. Refused with 413 and a JSON detail, in a response that itself
/// fits; an export that fits is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_past_the_response_cap_is_refused_with_413() {
    let (_moto, state, _store, _posts) = functions_on_moto("exports").await;
    let said = "\"".repeat(1_800_000);
    let big = json!({"entries": [{"speaker_id": "agent", "start_time_seconds": 0, "end_time_seconds": 1, "transcript": said}]});
    let small = json!({"entries": [{"speaker_id": "agent", "start_time_seconds": 0, "end_time_seconds": 1, "transcript": "\"ok\""}]});
    let (big, small) = (call_with_transcript(&state, &big).await, call_with_transcript(&state, &small).await);
    let export = |id: &str| get(&format!("/api/calls/{id}/export"), "format=json&scope=transcript");

    let response = invoke(&state, batch::read_router, &export(&big)).await;
    let (size, status, _) = measured(&response);
    eprintln!("a 3.6 MB transcript export: a {size}-byte Lambda response, status {status}");
    assert!(size < LAMBDA_RESPONSE_LIMIT, "{size} bytes");
    assert_eq!(status, 413);
    let detail = serde_json::from_str::<Value>(response["body"].as_str().unwrap()).unwrap()["detail"].to_string();
    assert!(detail.contains("at most"), "{detail}");

    let response = invoke(&state, batch::read_router, &export(&small)).await;
    assert_eq!(measured(&response).1, 200);
    let file: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(file["transcript"]["entries"][0]["transcript"], "\"ok\"");
}

/// A transcript upload may be 20 MiB; the detail inlines at most 1.5 MiB of it as sent. A 12 MB transcript
/// makes a detail that fits, with its first entries, `transcript_truncated` and `transcript_url`, whose link
/// gives the whole artifact; a short one is inline whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_transcript_is_linked_from_the_detail_not_inlined() {
    let (_moto, state, _store, _posts) = functions_on_moto("details").await;
    let said = "and then I said that the plan was charged twice, which is not what the contract says at all";
    let entries: Vec<Value> = (0..80_000)
        .map(|i| json!({"speaker_id": "agent", "start_time_seconds": i, "end_time_seconds": i + 1, "transcript": format!("{i}: {said}")}))
        .collect();
    let long = json!({"entries": entries});
    let id = call_with_transcript(&state, &long).await;
    let response = invoke(&state, batch::read_router, &get(&format!("/api/calls/{id}/detail"), "")).await;
    let (size, status, _) = measured(&response);
    eprintln!("a {}-byte transcript: a {size}-byte detail response, status {status}", long.to_string().len());
    assert!(size < LAMBDA_RESPONSE_LIMIT, "{size} bytes");
    assert_eq!(status, 200);
    let detail: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(detail["transcript_truncated"], true);
    let kept = detail["transcript"]["entries"].as_array().unwrap();
    assert!(!kept.is_empty() && kept[..] == entries[..kept.len()], "the first {} entries", kept.len());

    let whole = detail["transcript_url"].as_str().unwrap();
    assert_eq!(whole, format!("/api/calls/{id}/transcript"));
    let response = invoke(&state, batch::read_router, &get(whole, "")).await;
    let (_, status, location) = measured(&response);
    assert_eq!(status, 307, "{}", response["headers"]);
    let (status, kind, bytes) = fetch(&location, None).await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), long, "the link gives the whole transcript");

    let short = json!({"entries": entries[..3]});
    let id = call_with_transcript(&state, &short).await;
    let response = invoke(&state, batch::read_router, &get(&format!("/api/calls/{id}/detail"), "")).await;
    let detail: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!((&detail["transcript"], &detail["transcript_truncated"]), (&short, &json!(false)));
    assert!(detail.get("transcript_url").is_none(), "{detail}");
}
