//! The port contract on the AWS adapters (DynamoDB, S3) against a moto server this test starts on a free
//! loopback port (`scripts/tools.sh` installs it into `.venv/`; `MOTO_SERVER` overrides the path).
#![cfg(feature = "aws")]

mod port_contract;

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use shared::adapters::aws::{AwsSettings, DynamoStore, S3BlobStore};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A moto server for the duration of the test; killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Self {
        let bin = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); run scripts/tools.sh", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, endpoint: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "moto");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

/// A fresh table and bucket named `name`.
async fn fixture(sdk: &aws_config::SdkConfig, endpoint: &str, name: &str) -> AwsSettings {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let attr = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |n: &str, t| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    s3.create_bucket().bucket(name).send().await.unwrap();
    AwsSettings { table: name.into(), bucket: name.into(), retention_days: 90, endpoint_url: Some(endpoint.into()) }
}

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
    run!(
        conditional_writes,
        idempotency,
        events_and_alerts,
        alert_listing_and_ack,
        call_listing,
        live_audio_state,
        idle_and_purge
    );

    let settings = fixture(&sdk, &moto.endpoint, "heartbeats").await;
    port_contract::heartbeat_round_trip(Arc::new(DynamoStore::new(&sdk, &settings))).await;
    let settings = fixture(&sdk, &moto.endpoint, "blobs").await;
    port_contract::blob_round_trip(Arc::new(S3BlobStore::new(&sdk, &settings))).await;
}

/// Records the DynamoDB operation of every HTTP request the client transmits (retries included).
#[derive(Debug, Default, Clone)]
struct RequestLog(Arc<std::sync::Mutex<Vec<String>>>);

impl aws_sdk_dynamodb::config::Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let target = ctx.request().headers().get("x-amz-target").unwrap_or("?");
        self.0.lock().unwrap().push(target.rsplit('.').next().unwrap_or(target).to_string());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingested_event_costs_two_dynamodb_round_trips() {
    use serde_json::json;
    use shared::realtime::RealtimeService;
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    let settings = fixture(&sdk, &moto.endpoint, "round-trips").await;
    let log = RequestLog::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(log.clone()).build(),
    );
    let service = RealtimeService::new(
        Arc::new(DynamoStore::with_client(client, &settings)),
        Arc::new(S3BlobStore::new(&sdk, &settings)),
        Arc::new(shared::adapters::embedded::BroadcastPush::new(8)),
        shared::config::RealtimeConfig::default(),
    );
    let events = [
        json!({"call_id": "rt", "text": "hello", "event_id": "e1"}),
        json!({"call_id": "rt", "text": "I need a supervisor now", "sentiment": -0.82, "event_id": "e2"}),
        json!({"call_id": "rt", "text": "thanks", "event_id": "e3"}),
        json!({"call_id": "rt", "text": "I need a supervisor now", "event_id": "e2"}),
    ];
    for (i, e) in events.iter().enumerate() {
        let ev = shared::normalize::normalize_event(e.as_object().unwrap(), 1000).unwrap();
        log.0.lock().unwrap().clear();
        let done = service.ingest_normalized(&ev).await.unwrap();
        let ops = log.0.lock().unwrap().clone();
        eprintln!("event {i}: {} alerts, duplicate={}, DynamoDB requests: {ops:?}", done.alerts.len(), done.duplicate);
        if done.duplicate {
            assert_eq!(ops, ["BatchGetItem"], "a duplicate is answered from the first read");
        } else {
            assert_eq!(ops, ["BatchGetItem", "TransactWriteItems"]);
        }
    }
}
