//! The live window on AWS is handed out as a presigned link to a copy of it in S3 (a Lambda response is
//! capped at 6 MB; a full window is up to 9.6 MB). A supervisor's player asks for it again and again: an
//! unchanged window must reuse its copy (one HEAD), not read every chunk and PUT the whole window again per
//! GET. Counted on moto behind the metering proxy, through the `live-audio` handler and its sample event.
#![cfg(feature = "aws")]

mod cost;
mod lambda_env;
#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use cost::proxy::Meter;
use functions::lambda::{LambdaConfig, app_state};
use functions::routes::live_audio;
use functions::state::AppState;
use lambda_env::{fixture, respond};
use serde_json::json;
use std::collections::BTreeMap;

/// One second of 8 kHz mono, different for each chunk `i`.
fn second(i: u32) -> Vec<u8> {
    (0..8_000u32).flat_map(|n| (((n * (i + 1)) % 97) as i16 * 250).to_le_bytes()).collect()
}

async fn append(state: &AppState, i: u32) -> Vec<u8> {
    let body = json!({"call_id": "demo-call-1", "chunk_id": format!("c-{i}"), "sample_rate": 8000});
    let pcm = second(i);
    state.realtime.ingest_audio_pcm(body.as_object().unwrap(), &pcm).await.unwrap();
    pcm
}

/// `GET /api/realtime/calls/demo-call-1/audio?max_seconds=30` (the sample event): the requests it sent
/// by (service, operation), and the WAV its link gives.
async fn get_window(state: &AppState, meter: &Meter) -> (BTreeMap<String, u64>, Vec<u8>) {
    let before = meter.usage();
    let response = respond(state, live_audio::live_audio_router, &fixture("live-audio")).await;
    assert_eq!(response.status(), 307);
    let used = meter.usage().since(&before);
    let requests = used.requests.into_iter().map(|((service, op), n)| (format!("{service} {op}"), n)).collect();
    let link = response.headers()["location"].to_str().unwrap();
    let wav = reqwest::get(link).await.unwrap().bytes().await.unwrap().to_vec();
    (requests, wav)
}

fn counts(requests: &[(&str, u64)]) -> BTreeMap<String, u64> {
    requests.iter().map(|(op, n)| (op.to_string(), *n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_live_window_reuses_its_copy() {
    let (moto, env, _store, _posts) = lambda_env::moto_for("live-copies", &[]).await;
    let meter = Meter::start(&moto.endpoint).await;
    let state = app_state(&LambdaConfig::from_env(&env).unwrap(), &moto::sdk(&meter.endpoint).await).unwrap();
    let mut pcm = Vec::new();
    for i in 0..3 {
        pcm.extend(append(&state, i).await);
    }

    // The first GET makes the copy: the head and the window's entries, each chunk, a HEAD that finds no
    // copy and the PUT of it.
    let (first, wav) = get_window(&state, &meter).await;
    let made = [("dynamodb BatchGetItem", 1), ("dynamodb Query", 1), ("s3 GET", 3), ("s3 HEAD", 1), ("s3 PUT", 1)];
    assert_eq!(first, counts(&made));
    assert!(wav.len() == 44 + pcm.len() && wav[44..] == pcm[..], "the window, {} bytes", wav.len());

    // Asked again, unchanged: the head and a HEAD that finds the copy.
    let (again, same) = get_window(&state, &meter).await;
    assert_eq!(again, counts(&[("dynamodb BatchGetItem", 1), ("s3 HEAD", 1)]));
    assert!(same == wav, "the same copy");

    // A new chunk moves the window: a new copy, with it.
    pcm.extend(append(&state, 3).await);
    let (moved, wav) = get_window(&state, &meter).await;
    let made = [("dynamodb BatchGetItem", 1), ("dynamodb Query", 1), ("s3 GET", 4), ("s3 HEAD", 1), ("s3 PUT", 1)];
    assert_eq!(moved, counts(&made));
    assert!(wav.len() == 44 + pcm.len() && wav[44..] == pcm[..], "the moved window, {} bytes", wav.len());
}
