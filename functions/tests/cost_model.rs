//! What a call-hour costs on AWS, counted rather than estimated. Calls run on moto behind a metering proxy
//! that counts every DynamoDB, S3 and SQS request and works out DynamoDB's request units from item sizes;
//! a fake API Gateway Management API counts WebSocket messages; Lambda invocations and their durations are
//! counted where the handlers are invoked. Each simulated call has what the issue that asked for this
//! named: transcript events from its provider through the ingest-event function every 5 s, AudioHook audio
//! in 750 ms chunks through the realtime service in the listener, three supervisors following all calls,
//! and one batch upload of the call's recording (presigned PUT, S3 notification, SQS, the worker function
//! with a fake speech-to-text server). The bill is in `cost::prices`; the figures are in `docs/cost.md`.
//!
//! `COST_CALLS` (default 1) calls of `COST_MINUTES` (default 6: the live window, 300 s, fills and trims)
//! are simulated in compressed time (the services' clock is the simulation's); what the realtime part
//! uses is scaled to an hour, the batch part counted per call. A whole simulated hour (`COST_MINUTES=60`)
//! lost its moto server partway through on the development machine.
#![cfg(feature = "aws")]

mod common;
mod cost;
mod lambda_env;
#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use cost::prices::CallHour;
use cost::proxy::{Meter, Usage};
use functions::lambda::{LambdaConfig, app_state};
use functions::routes::{batch, ingest};
use lambda_env::{fixture, invoke, sqs_event};
use serde_json::{Value, json};
use shared::adapters::aws::{ApiGatewayPush, AwsSettings, DynamoStore, S3BlobStore};
use shared::realtime::RealtimeService;
use shared::realtime::ingest::{Ingest, Outgoing, ServiceIngest};
use shared::values::timestamps::{Timestamp, iso};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const SUPERVISORS: u64 = 3;
/// The listener's chunk cadence (`GENESYS_AUDIOHOOK_FLUSH_INTERVAL_MS`), 8 kHz stereo 16-bit.
const CHUNK_MS: i64 = 750;
const CHUNK_BYTES: usize = 6_000 * 4;
/// One transcript line from the provider every 5 s.
const UTTERANCE_MS: i64 = 5_000;
/// Lambda memory as the template sets it: ingest-event (Globals), calls-upload, batch-worker.
const INGEST_GB: f64 = 0.25;
const UPLOAD_GB: f64 = 0.5;
const WORKER_GB: f64 = 2.0;
/// The listener task (the template's defaults: 512 CPU units, 1,024 MiB) and the sessions one task
/// carries. 200 is a planning figure well under what docs/benchmarks.md measured for the listener alone
/// (about 1,500 sessions per core without transcription), leaving room for the AWS SDK's work per chunk.
const LISTENER_VCPU: f64 = 0.5;
const LISTENER_GB: f64 = 1.0;
const LISTENER_SESSIONS_PER_TASK: f64 = 200.0;
/// `RetentionDays`' default: what S3 keeps of a call stays 90 days (3 months).
const RETENTION_MONTHS: f64 = 90.0 / 30.0;

/// The most a call-hour may use, about 1.5 times what the default run measures (docs/cost.md), so a change
/// that doubles any of them fails.
const MAX_DYNAMODB_WRITE_UNITS: f64 = 55_000.0;
const MAX_DYNAMODB_READ_UNITS: f64 = 19_000.0;
const MAX_S3_CLASS_A: f64 = 7_200.0;
const MAX_WEBSOCKET_MESSAGES: f64 = 2_500.0;
const MAX_LAMBDA_INVOCATIONS: f64 = 360.0;
const MAX_USD_PER_THOUSAND_CALL_HOURS: f64 = 85.0;

const LINES: [(&str, &str, f64); 5] = [
    ("agent", "Thanks for calling, how can I help you today?", 0.4),
    ("customer", "My bill is wrong again this month.", -0.3),
    ("agent", "I am sorry to hear that, let me look at the account.", 0.1),
    ("customer", "This is the third time, I want to cancel my account.", -0.7),
    ("agent", "I understand, I can fix the charge right now.", 0.2),
];

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `seconds` of 8 kHz mono speech-level tone as a WAV file: the call's recording as a provider uploads it.
fn recording(seconds: u64) -> Vec<u8> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut wav = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..seconds * 8000 {
        wav.write_sample(((i % 16) as i16 - 8) * 800).unwrap();
    }
    wav.finalize().unwrap();
    out.into_inner()
}

/// Lambda work counted where the handlers run: invocations, GB-seconds billed (per started millisecond) and
/// how many came through the HTTP API (the worker's come from SQS).
#[derive(Default)]
struct Lambdas {
    invocations: f64,
    gb_seconds: f64,
    api_requests: f64,
}

impl Lambdas {
    fn billed(&mut self, memory_gb: f64, started: Instant, through_api: bool) {
        self.invocations += 1.0;
        self.gb_seconds += memory_gb * (started.elapsed().as_millis() + 1) as f64 / 1000.0;
        self.api_requests += f64::from(u8::from(through_api));
    }
}

/// What one part of the simulation (the live calls, or their batch uploads) used.
struct Part {
    aws: Usage,
    lambdas: Lambdas,
    websocket_messages: f64,
}

/// The ingest-event function's API Gateway event for `body`.
fn event_request(body: &Value) -> Value {
    let mut event = fixture("ingest-event");
    event["body"] = Value::from(body.to_string());
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_hour_costs_no_more_than_the_docs_say() {
    let (calls, minutes) = (setting("COST_CALLS", 1), setting("COST_MINUTES", 6));
    let moto = moto::Moto::start();
    let direct = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&direct, &moto.endpoint, "cost").await;
    let (queue, _) = moto::job_queues(&direct, "cost", 5).await;
    moto::notify_uploads(&direct, "cost", &queue).await;
    let (callback, posts) = moto::fake_management_api().await;
    let stt = common::fake_stt().await;
    let meter = Meter::start(&moto.endpoint).await;
    let sdk = moto::sdk(&meter.endpoint).await;
    let env: HashMap<String, String> = [
        ("TABLE_NAME", "cost"),
        ("BUCKET_NAME", "cost"),
        ("REALTIME_INGEST_TOKEN", "replace-me"),
        ("WEBSOCKET_CALLBACK_URL", callback.as_str()),
        ("JOB_QUEUE_URL", queue.as_str()),
        ("STT_PROVIDER", "openai"),
        ("STT_BASE_URL", stt.as_str()),
        ("ENABLE_NOISE_SUPPRESSION", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let cfg = LambdaConfig::batch_worker_from_env(&env).unwrap();
    let mut state = app_state(&cfg, &sdk).unwrap();
    // The same realtime service, on the simulation's clock.
    let start: Timestamp = "2026-02-10T10:00:00Z".parse().unwrap();
    let now = Arc::new(Mutex::new(start));
    let clock = now.clone();
    let aws = AwsSettings { endpoint_url: Some(meter.endpoint.clone()), ..settings };
    let store = Arc::new(DynamoStore::new(&sdk, &aws));
    state.realtime = Arc::new(RealtimeService::with_clock(
        store.clone(),
        Arc::new(S3BlobStore::new(&sdk, &aws)),
        Arc::new(ApiGatewayPush::new(&sdk, store.clone(), &callback)),
        cfg.services.realtime.clone(),
        Arc::new(move || *clock.lock().unwrap()),
    ));
    for s in 0..SUPERVISORS {
        let id = format!("supervisor-{s}");
        store.connect(&id, start).await.unwrap();
        assert!(store.subscribe(&id, None, 100, start).await.unwrap().is_some());
    }

    // The calls: audio in-process as the listener feeds it, transcript lines through the function.
    let before = meter.usage();
    let mut lambdas = Lambdas::default();
    let pcm: Vec<u8> = (0..CHUNK_BYTES / 2).flat_map(|i| (((i % 16) as i16 - 8) * 800).to_le_bytes()).collect();
    // What the listener on Fargate feeds its audio to: the realtime service in its own process.
    let listener = ServiceIngest(state.realtime.clone());
    let steps = minutes as i64 * 60_000 / CHUNK_MS;
    for step in 0..=steps {
        let ms = step * CHUNK_MS;
        let at = start + chrono::Duration::milliseconds(ms);
        *now.lock().unwrap() = at;
        for c in 0..calls {
            let call = format!("call-{c}");
            let status = if step == steps { "ended" } else { "active" };
            let chunk = json!({"provider": "genesys", "call_id": call, "chunk_id": format!("{call}-{step}"),
                "audio_encoding": "pcm_s16le", "sample_rate": 8000, "channels": 2, "status": status,
                "timestamp": iso(&at), "metadata": {"metrics": {"dead_air_seconds": 0.0}}});
            let chunk = Outgoing::audio(chunk.as_object().unwrap().clone(), pcm.clone());
            listener.deliver(&chunk).await.unwrap();
            if ms % UTTERANCE_MS == 0 && step < steps {
                let (speaker, text, sentiment) = LINES[(ms / UTTERANCE_MS) as usize % LINES.len()];
                let body = json!({"call_id": call, "provider": "generic", "speaker": speaker, "text": text,
                    "sentiment": sentiment, "event_id": format!("{call}-line-{ms}"), "timestamp": iso(&at)});
                let began = Instant::now();
                let (code, v) = invoke(&state, ingest::events_router, &event_request(&body)).await;
                lambdas.billed(INGEST_GB, began, true);
                assert_eq!(code, 200, "{v}");
            }
        }
    }
    let pushed = posts.lock().unwrap().len() as f64;
    let live =
        Part { aws: meter.usage().since(&before), lambdas: std::mem::take(&mut lambdas), websocket_messages: pushed };

    // Each call's recording, uploaded through a presigned URL and processed by the worker function.
    let after_live = meter.usage();
    let wav = recording(minutes * 60);
    let http = reqwest::Client::new();
    let mut uploaded = Vec::new();
    for _ in 0..calls {
        let began = Instant::now();
        let mut request = fixture("calls-upload-url");
        request["body"] =
            Value::from(json!({"filename": "call.wav", "fields": {"prompt_pack": "support"}}).to_string());
        let (code, v) = invoke(&state, batch::upload_router, &request).await;
        lambdas.billed(UPLOAD_GB, began, true);
        assert_eq!(code, 201, "{v}");
        let put = http.put(v["upload"]["url"].as_str().unwrap()).body(wav.clone()).send().await.unwrap();
        assert!(put.status().is_success());
        uploaded.push(v["id"].as_str().unwrap().to_string());
    }
    let mut done = 0;
    while done < calls {
        let event = sqs_event(&state).await;
        let began = Instant::now();
        let out = functions::lambda::batch_jobs(&state.batch, event.clone()).await.unwrap();
        lambdas.billed(WORKER_GB, began, false);
        assert_eq!(out, json!({"batchItemFailures": []}));
        done += event["Records"].as_array().unwrap().len() as u64;
    }
    for id in &uploaded {
        let call = state.batch.get(id).await.unwrap().value.status_json();
        assert_eq!(call["status"], "completed", "{call}");
    }
    let websocket_messages = posts.lock().unwrap().len() as f64 - pushed;
    let batch = Part { aws: meter.usage().since(&after_live), lambdas, websocket_messages };
    let stored = stored_bytes(&direct).await;

    let bill = bill(&live, &batch, stored, calls, minutes);
    println!(
        "{calls} calls of {minutes} min, {SUPERVISORS} supervisors following all; per call-hour:\n{}",
        bill.table()
    );
    println!("requests while live: {:?}\nrequests for the batch: {:?}", live.aws.requests, batch.aws.requests);
    let pinned = [
        ("DynamoDB write units", bill.dynamodb_write_units, MAX_DYNAMODB_WRITE_UNITS),
        ("DynamoDB read units", bill.dynamodb_read_units, MAX_DYNAMODB_READ_UNITS),
        ("S3 PUT/POST/LIST requests", bill.s3_class_a, MAX_S3_CLASS_A),
        ("WebSocket messages", bill.websocket_messages, MAX_WEBSOCKET_MESSAGES),
        ("Lambda invocations", bill.lambda_invocations, MAX_LAMBDA_INVOCATIONS),
        ("USD per 1,000 call-hours", bill.per_thousand(), MAX_USD_PER_THOUSAND_CALL_HOURS),
    ];
    for (what, measured, max) in pinned {
        assert!(measured <= max, "{what} per call-hour: {measured:.1}, more than {max}");
    }
}

/// What the calls leave in the bucket for the retention period, read around the meter: (the live windows'
/// chunks, which stay at most `max_seconds` of audio per call however long it lasts; everything else, which
/// grows with the call).
async fn stored_bytes(direct: &aws_config::SdkConfig) -> (u64, u64) {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(direct).force_path_style(true).build());
    let listed = s3.list_objects_v2().bucket("cost").send().await.unwrap();
    assert!(!listed.is_truncated().unwrap_or(false), "more than a page of objects");
    let objects = listed.contents().iter().map(|o| (o.key().unwrap_or_default(), o.size().unwrap_or(0) as u64));
    objects.fold(
        (0, 0),
        |(live, rest), (key, size)| {
            if key.starts_with("live/") { (live + size, rest) } else { (live, rest + size) }
        },
    )
}

/// One call-hour's usage: the live part scaled from `calls` calls of `minutes` to one call-hour, the batch
/// part counted per call, storage per call and scaled to an hour (the recording grows with the call).
fn bill(live: &Part, batch: &Part, stored: (u64, u64), calls: u64, minutes: u64) -> CallHour {
    let (hour, per_call) = (60.0 / minutes as f64 / calls as f64, 1.0 / calls as f64);
    let both = |f: &dyn Fn(&Part) -> f64| f(live) * hour + f(batch) * per_call;
    let s3 = |ops: &'static [&'static str]| move |p: &Part| p.aws.count_of("s3", ops) as f64;
    CallHour {
        lambda_invocations: both(&|p| p.lambdas.invocations),
        lambda_gb_seconds: both(&|p| p.lambdas.gb_seconds),
        http_api_requests: both(&|p| p.lambdas.api_requests),
        websocket_messages: both(&|p| p.websocket_messages),
        // The supervisors stay connected for the whole hour, shared by the calls.
        websocket_connection_minutes: SUPERVISORS as f64 * 60.0 * per_call,
        dynamodb_write_units: both(&|p| p.aws.dynamodb_write_units as f64),
        dynamodb_read_units: both(&|p| p.aws.dynamodb_read_half_units as f64 / 2.0),
        s3_class_a: both(&s3(&["PUT", "POST", "LIST"])),
        s3_class_b: both(&s3(&["GET", "HEAD"])),
        s3_gb_months: (stored.0 as f64 + stored.1 as f64 * 60.0 / minutes as f64) * per_call / 1e9 * RETENTION_MONTHS,
        // S3's notification sends each upload's message, and Lambda's poller deletes it once the worker is
        // done: one request each, made by AWS rather than by our code, so the meter cannot see them.
        sqs_requests: both(&|p| p.aws.count("sqs") as f64) + 2.0,
        fargate_vcpu_hours: LISTENER_VCPU / LISTENER_SESSIONS_PER_TASK,
        fargate_gb_hours: LISTENER_GB / LISTENER_SESSIONS_PER_TASK,
    }
}
