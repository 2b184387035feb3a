//! The port contract on the AWS adapters (DynamoDB, S3, SQS) against a moto server this test starts on a free
//! loopback port, and the DynamoDB requests one ingested event costs.
#![cfg(feature = "aws")]

mod moto;
#[macro_use]
mod port_contract;

use moto::{Moto, fixture, sdk};
use shared::adapters::aws::{DynamoStore, S3BlobStore, SqsJobQueue};
use shared::ports::JobQueue;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_adapters_pass_the_port_contract() {
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    macro_rules! run {
        ($($case:ident),* $(,)?) => {$(
            let settings = fixture(&sdk, &moto.endpoint, &stringify!($case).replace('_', "-")).await;
            eprintln!("contract on DynamoDB: {}", stringify!($case));
            port_contract::$case(Arc::new(DynamoStore::new(&sdk, &settings))).await;
        )*};
    }
    call_store_cases!(run);

    let settings = fixture(&sdk, &moto.endpoint, "heartbeats").await;
    port_contract::heartbeat_round_trip(Arc::new(DynamoStore::new(&sdk, &settings))).await;
    let settings = fixture(&sdk, &moto.endpoint, "tickets").await;
    port_contract::ticket_redeemed_once(Arc::new(DynamoStore::new(&sdk, &settings))).await;
    let (queue, _) = moto::job_queues(&sdk, "jobs", 5).await;
    port_contract::job_delivery(Arc::new(SqsJobQueue::new(&sdk, &queue))).await;
    let settings = fixture(&sdk, &moto.endpoint, "blobs").await;
    port_contract::blob_round_trip(Arc::new(S3BlobStore::new(&sdk, &settings))).await;
    port_contract::blob_conditional_writes(Arc::new(S3BlobStore::new(&sdk, &settings))).await;
    port_contract::blob_streams(Arc::new(S3BlobStore::new(&sdk, &settings))).await;
    port_contract::blob_ranges(Arc::new(S3BlobStore::new(&sdk, &settings))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_moves_a_job_to_the_dead_letter_queue_after_the_receive_limit() {
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    let (queue, dlq) = moto::job_queues(&sdk, "dead-letters", 3).await;
    port_contract::job_dead_letter(Arc::new(SqsJobQueue::new(&sdk, &queue)), 3).await;
    let dead = SqsJobQueue::new(&sdk, &dlq).receive(10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(dead.iter().map(|j| j.body.as_str()).collect::<Vec<_>>(), [r#"{"call_id":"job-dead"}"#]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingested_event_costs_two_dynamodb_round_trips() {
    use serde_json::json;
    use shared::realtime::RealtimeService;
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    let settings = fixture(&sdk, &moto.endpoint, "round-trips").await;
    let log = moto::RequestLog::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(log.clone()).build(),
    );
    let service = RealtimeService::new(
        Arc::new(DynamoStore::with_client(client.clone(), &settings)),
        Arc::new(S3BlobStore::new(&sdk, &settings)),
        Arc::new(shared::adapters::embedded::BroadcastPush::new(8)),
        shared::realtime::config::RealtimeConfig::default(),
    );
    let events = [
        json!({"call_id": "rt", "text": "hello", "event_id": "e1"}),
        json!({"call_id": "rt", "text": "I need a supervisor now", "sentiment": -0.82, "event_id": "e2"}),
        json!({"call_id": "rt", "text": "thanks", "event_id": "e3"}),
        json!({"call_id": "rt", "text": "I need a supervisor now", "event_id": "e2"}),
    ];
    let mut registrations = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let ev = shared::realtime::normalize::normalize_event(e.as_object().unwrap(), 1000).unwrap();
        log.clear();
        let done = service.ingest_normalized(&ev).await.unwrap();
        let mut ops = log.ops();
        eprintln!("event {i}: {} alerts, duplicate={}, DynamoDB requests: {ops:?}", done.alerts.len(), done.duplicate);
        // The first call-list entry and the first alert of the day also register the day, once per process.
        registrations.push(ops.iter().filter(|o| *o == "PutItem").count());
        ops.retain(|o| o != "PutItem");
        if done.duplicate {
            assert_eq!(ops, ["BatchGetItem"], "a duplicate is answered from the first read");
        } else {
            assert_eq!(ops, ["BatchGetItem", "TransactWriteItems"]);
        }
    }
    assert_eq!(registrations, [1, 1, 0, 0], "calls' day on the first event, alerts' day on the first alert");

    // With push through API Gateway, no more round trips, however many alerts it raised: the two subscriber
    // queries (the call's and "every call") are sent beside the load, before the commit.
    let store = Arc::new(DynamoStore::with_client(client, &settings));
    let (callback, posts) = moto::fake_management_api().await;
    let service = RealtimeService::new(
        store.clone(),
        Arc::new(S3BlobStore::new(&sdk, &settings)),
        Arc::new(shared::adapters::aws::ApiGatewayPush::new(&sdk, store.clone(), &callback)),
        shared::realtime::config::RealtimeConfig::default(),
    );
    store.connect("watcher", chrono::Utc::now()).await.unwrap();
    store.subscribe("watcher", Some("rt-push"), 100, chrono::Utc::now()).await.unwrap();
    let e = json!({"call_id": "rt-push", "text": "cancel my account, I want a supervisor", "sentiment": -0.9, "event_id": "e5"});
    let ev = shared::realtime::normalize::normalize_event(e.as_object().unwrap(), 1000).unwrap();
    log.clear();
    let done = service.ingest_normalized(&ev).await.unwrap();
    let mut ops = log.ops();
    eprintln!("pushed event: {} alerts, DynamoDB requests: {ops:?}", done.alerts.len());
    assert!(!done.alerts.is_empty());
    let registrations = ops.iter().filter(|o| *o == "PutItem").count();
    ops.retain(|o| o != "PutItem");
    assert_eq!(registrations, 2, "a new process registers the day of each list once");
    assert_eq!(ops.pop().as_deref(), Some("TransactWriteItems"), "{ops:?}");
    ops.sort();
    assert_eq!(ops, ["BatchGetItem", "Query", "Query"]);
    let pushed: Vec<serde_json::Value> =
        posts.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    assert_eq!(pushed.len(), 1 + done.alerts.len());
    assert_eq!(pushed[0]["type"], "realtime_event", "the event first, then its alerts, in order");
    assert!(pushed[1..].iter().all(|m| m["type"] == "supervisor_alert"));
}

/// The template's upload path on moto: an object under `uploads/` queues a job (S3 → SQS notification with
/// the template's prefix filter); other prefixes do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_queue_a_job_through_the_bucket_notification() {
    use shared::ports::BlobStore;
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    let settings = fixture(&sdk, &moto.endpoint, "uploads").await;
    let (queue, _) = moto::job_queues(&sdk, "upload-jobs", 5).await;
    moto::notify_uploads(&sdk, &settings.bucket, &queue).await;

    let blobs = S3BlobStore::new(&sdk, &settings);
    blobs.put("live/call-9/000000001_a.pcm", vec![1; 16]).await.unwrap();
    blobs.put("uploads/call-9/agent call.wav", vec![2; 16]).await.unwrap();
    let jobs = SqsJobQueue::new(&sdk, &queue);
    let mut keys = Vec::new();
    for job in jobs.receive(10, std::time::Duration::from_secs(30)).await.unwrap() {
        let event: serde_json::Value = serde_json::from_str(&job.body).unwrap();
        for record in event["Records"].as_array().into_iter().flatten() {
            keys.push(record["s3"]["object"]["key"].as_str().unwrap().to_string());
        }
    }
    // S3 form-encodes keys in notifications (a space arrives as `+`), so the worker must decode them; moto
    // also encodes `/` (as `%2F`), which S3 leaves alone: both decode to the same key.
    let keys: Vec<String> = keys.iter().map(|k| k.replace("%2F", "/")).collect();
    assert_eq!(keys, ["uploads/call-9/agent+call.wav"]);
}

/// A batch record expires with its upload (the bucket's rule expires `uploads/` and `outputs/` after the
/// same retention), on creation and on every save; with retention off it never expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_records_expire_with_their_uploads() {
    use shared::batch::{BatchCall, CallOptions};
    use shared::ports::BatchStore;
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    let uploaded = shared::values::timestamps::parse_iso("2026-03-01T12:00:00Z").unwrap();
    let expires_at = |table: String| {
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        async move {
            let key = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.into());
            let item = client.get_item().table_name(table).key("pk", key("batch")).key("sk", key("b1")).send().await;
            item.unwrap().item.unwrap().get("expires_at").map(|v| v.as_n().unwrap().parse::<i64>().unwrap())
        }
    };
    for retention_days in [30, 0] {
        let mut settings = fixture(&sdk, &moto.endpoint, &format!("batch-expiry-{retention_days}")).await;
        settings.retention_days = retention_days;
        let store = DynamoStore::new(&sdk, &settings);
        let mut call =
            BatchCall::new("b1".into(), "a.wav".into(), "uploads/b1/a.wav".into(), CallOptions::default(), uploaded);
        assert!(store.create_batch_call(&call).await.unwrap());
        let wanted = (retention_days > 0).then(|| uploaded.timestamp() + 30 * 86_400);
        assert_eq!(expires_at(settings.table.clone()).await, wanted, "created, retention {retention_days}");
        call.updated_at = uploaded + chrono::Duration::days(3);
        assert!(store.save_batch_call(&call, 1).await.unwrap());
        assert_eq!(expires_at(settings.table.clone()).await, wanted, "saved later: still the upload's expiry");
    }
}
