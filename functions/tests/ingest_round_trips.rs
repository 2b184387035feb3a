//! What one ingest costs at the function, not in the service: the `ingest-event` and `ingest-audio` handlers
//! fed their sample events (`events/`), on moto behind the metering proxy (`cost::proxy`), which counts every
//! DynamoDB and S3 request, and a fake Management API that records every push, with three supervisors (one following the call, two
//! following every call). Then the same through the in-process ingest the listener uses on AWS, whose
//! answers are lean. The counts are exact, so a change that adds a request fails here and says which.
#![cfg(feature = "aws")]

mod cost;
mod lambda_env;
#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cost::proxy::{Meter, rounds};
use functions::lambda::{LambdaConfig, app_state};
use functions::routes::{calls, ingest};
use functions::state::AppState;
use lambda_env::{fixture, invoke};
use serde_json::{Value, json};
use shared::adapters::aws::DynamoStore;
use shared::realtime::ingest::{Ingest, Outgoing, ServiceIngest, object};

/// The functions' state on moto, reached through the meter.
struct Functions {
    _moto: moto::Moto,
    state: AppState,
    store: DynamoStore,
    posts: moto::Posts,
    meter: Meter,
}

/// What one ingest sent: DynamoDB operations (sorted: concurrent ones come in any order), S3 requests by
/// method, the sequential round trips all of them took (overlapping requests count once), and posts to
/// WebSocket connections.
#[derive(Debug, PartialEq)]
struct Cost {
    dynamodb: Vec<String>,
    s3: Vec<String>,
    rounds: usize,
    pushes: usize,
}

impl Cost {
    fn of(requests: &[&str], s3: &[&str], rounds: usize, pushes: usize) -> Self {
        let mut dynamodb: Vec<String> = requests.iter().map(|r| r.to_string()).collect();
        dynamodb.sort();
        Self { dynamodb, s3: s3.iter().map(|r| r.to_string()).collect(), rounds, pushes }
    }
}

/// What `ingest` cost on `f`'s wire, and what it answered.
async fn cost<T>(f: &Functions, ingest: impl Future<Output = T>) -> (Cost, T) {
    let (before, seen) = (f.meter.usage(), f.meter.spans().len());
    f.posts.lock().unwrap().clear();
    let answer = ingest.await;
    let used = f.meter.usage().since(&before);
    let of = |service: &str| -> Vec<String> {
        let ops = used.requests.iter().filter(|((s, _), _)| s == service);
        ops.flat_map(|((_, op), n)| std::iter::repeat_n(op.clone(), *n as usize)).collect()
    };
    let rounds = rounds(&f.meter.spans()[seen..]);
    (Cost { dynamodb: of("dynamodb"), s3: of("s3"), rounds, pushes: f.posts.lock().unwrap().len() }, answer)
}

/// The call's snapshot as `GET /api/realtime/calls/{id}/snapshot` reads it now, next to the one an ingest
/// answered with. Risk is compared to within its rounding: it decays between the two by the clock.
async fn same_as_fresh_snapshot(f: &Functions, answered: &Value) {
    let (status, mut fresh) = invoke(&f.state, calls::snapshot_router, &fixture("snapshot")).await;
    assert_eq!(status, 200, "{fresh}");
    let mut answered = answered.clone();
    let risk = |v: &mut Value| v["risk_score"].take().as_f64().unwrap();
    assert!((risk(&mut answered) - risk(&mut fresh)).abs() <= 0.011, "{answered}\n{fresh}");
    assert_eq!(answered, fresh);
    assert!(!answered["events"].as_array().unwrap().is_empty(), "{answered}");
}

/// The sample event `name` with `body` instead of its own.
fn event_with(name: &str, body: &Value) -> Value {
    let mut e = fixture(name);
    e["body"] = Value::from(body.to_string());
    e
}

/// 750 ms of 8 kHz mono at a speech-like level (no dead air): a chunk AudioHook sends without a transcript.
fn tone_b64() -> String {
    STANDARD.encode((0..6_000).flat_map(|i| (((i % 16) as i16 - 8) * 800).to_le_bytes()).collect::<Vec<u8>>())
}

fn chunk(id: &str, extra: Value) -> Value {
    let mut body = json!({"call_id": "demo-call-1", "audio_b64": tone_b64(), "sample_rate": 8000, "chunk_id": id});
    body.as_object_mut().unwrap().extend(object(extra));
    body
}

async fn post(state: &AppState, group: fn(&AppState) -> axum::Router<AppState>, event: &Value) -> Value {
    let (status, v) = invoke(state, group, event).await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ingest_costs_what_the_docs_say() {
    let (moto, env, store, posts) = lambda_env::moto_for("round-trips", &[]).await;
    let meter = Meter::with_latency(&moto.endpoint, std::time::Duration::from_millis(20)).await;
    let state = app_state(&LambdaConfig::from_env(&env).unwrap(), &moto::sdk(&meter.endpoint).await).unwrap();
    let f = Functions { _moto: moto, state, store, posts, meter };
    let now = chrono::Utc::now();
    for (connection, call) in [("follower", Some("demo-call-1")), ("board-1", None), ("board-2", None)] {
        f.store.connect(connection, now).await.unwrap();
        f.store.subscribe(connection, call, 100, now).await.unwrap().expect("subscribed");
    }
    // The first call and alert of the day put the day in the registries (once per container): not counted.
    let warm_up = json!({"call_id": "warm-up", "text": "I want a lawyer", "sentiment": -0.9, "event_id": "w"});
    post(&f.state, ingest::events_router, &event_with("ingest-event", &warm_up)).await;

    // The sample event: a new call's first event, raising three alerts (four messages to three followers).
    // Round 1 loads the call and, beside it, what the push and the answer need: the subscribers (two
    // queries), the snapshot's events, alerts and live window. Round 2 commits. Then only the posts.
    let (event, answer) = cost(&f, post(&f.state, ingest::events_router, &fixture("ingest-event"))).await;
    assert_eq!(answer["alerts"].as_array().unwrap().len(), 3, "{answer}");
    let (load, commit, query) = ("BatchGetItem", "TransactWriteItems", "Query");
    assert_eq!(event, Cost::of(&[load, query, query, query, query, load, commit], &[], 2, 12));
    same_as_fresh_snapshot(&f, &answer["snapshot"]).await;

    // A chunk with a transcript: the live window (load, audio to S3, append), then its event as above, the
    // window's meta known already: two rounds more.
    let said = chunk("chunk-0001", json!({"segments": [{"text": "thanks for holding", "speaker": "agent"}]}));
    let (transcript, answer) =
        cost(&f, post(&f.state, ingest::audio_router, &event_with("ingest-audio-chunk", &said))).await;
    assert_eq!(transcript, Cost::of(&[load, commit, load, query, query, query, query, commit], &["PUT"], 5, 3));
    same_as_fresh_snapshot(&f, &answer["snapshot"]).await;

    // A bare chunk (the first after speech may be written: its silence reading starts afresh). Then one
    // that changes nothing a supervisor sees: the window and the call's load, no push, no snapshot, nothing
    // read ahead.
    post(&f.state, ingest::audio_router, &event_with("ingest-audio-chunk", &chunk("chunk-0002", json!({})))).await;
    let quiet = event_with("ingest-audio-chunk", &chunk("chunk-0003", json!({})));
    let (bare, answer) = cost(&f, post(&f.state, ingest::audio_router, &quiet)).await;
    assert!(answer.get("snapshot").is_none(), "a lean answer: {answer}");
    assert_eq!(bare, Cost::of(&[load, commit, load], &["PUT"], 4, 0));

    // In-process (the listener on AWS): acknowledged once stored, nothing read back; the subscribers are
    // looked up beside the load.
    let service = ServiceIngest(f.state.realtime.clone());
    let (in_process_event, _) = cost(&f, async {
        let body =
            object(json!({"call_id": "demo-call-1", "text": "one moment", "speaker": "agent", "event_id": "e2"}));
        service.deliver(&Outgoing::event(body)).await.unwrap();
    })
    .await;
    assert_eq!(in_process_event, Cost::of(&[load, query, query, commit], &[], 2, 3));
    let (in_process_chunk, _) = cost(&f, async {
        let body = object(json!({"call_id": "demo-call-1", "sample_rate": 8000, "chunk_id": "chunk-0004"}));
        let pcm = STANDARD.decode(tone_b64()).unwrap();
        service.deliver(&Outgoing::audio(body, pcm)).await.unwrap();
    })
    .await;
    assert_eq!(in_process_chunk, Cost::of(&[load, commit, load], &["PUT"], 4, 0));
}
