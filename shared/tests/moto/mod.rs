//! Test harness for the AWS adapters: a moto server (DynamoDB, S3, SQS) on a free loopback port, started by the
//! test from `.venv/bin/moto_server` (installed by `scripts/tools.sh`; `MOTO_SERVER` overrides the path), and a
//! fake API Gateway Management API (moto's accepts any connection id and records nothing).
#![allow(dead_code)] // each test binary uses a different part

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use shared::adapters::aws::AwsSettings;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A moto server for the duration of the test; killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
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

pub async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "moto");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

/// A fresh single table named `name` (the template's key schema).
pub async fn create_table(sdk: &aws_config::SdkConfig, name: &str) {
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
}

/// A fresh table and bucket named `name`.
pub async fn fixture(sdk: &aws_config::SdkConfig, endpoint: &str, name: &str) -> AwsSettings {
    create_table(sdk, name).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    s3.create_bucket().bucket(name).send().await.unwrap();
    AwsSettings { table: name.into(), bucket: name.into(), retention_days: 90, endpoint_url: Some(endpoint.into()) }
}

/// A fresh jobs queue named `name` with a dead-letter queue after `max_receives` (the template's shape);
/// returns both URLs.
pub async fn job_queues(sdk: &aws_config::SdkConfig, name: &str, max_receives: u32) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dlq = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap().queue_url.unwrap();
    let attrs =
        sqs.get_queue_attributes().queue_url(&dlq).attribute_names(QueueAttributeName::QueueArn).send().await.unwrap();
    let dlq_arn = attrs.attributes.unwrap()[&QueueAttributeName::QueueArn].clone();
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string();
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (url, dlq)
}

/// The template's upload notification: objects created under `uploads/` in `bucket` notify `queue_url`.
pub async fn notify_uploads(sdk: &aws_config::SdkConfig, bucket: &str, queue_url: &str) {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
        QueueConfiguration, S3KeyFilter,
    };
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let arn = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
    let attrs = sqs.get_queue_attributes().queue_url(queue_url).attribute_names(arn.clone()).send().await.unwrap();
    let prefix = FilterRule::builder().name(FilterRuleName::Prefix).value("uploads/").build();
    let notify = QueueConfiguration::builder()
        .queue_arn(&attrs.attributes.unwrap()[&arn])
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder().key(S3KeyFilter::builder().filter_rules(prefix).build()).build(),
        )
        .build()
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(NotificationConfiguration::builder().queue_configurations(notify).build())
        .send()
        .await
        .unwrap();
}

/// Records the DynamoDB operation and JSON body of every HTTP request the client transmits (retries included).
#[derive(Debug, Default, Clone)]
pub struct RequestLog(Arc<Mutex<Vec<(String, serde_json::Value)>>>);

impl RequestLog {
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// The operations so far, in order.
    pub fn ops(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|(op, _)| op.clone()).collect()
    }

    /// Each `TransactWriteItems` request as the (pk, sk) keys it writes.
    pub fn transactions(&self) -> Vec<Vec<(String, String)>> {
        let key = |k: &serde_json::Value| {
            (k["pk"]["S"].as_str().unwrap().to_string(), k["sk"]["S"].as_str().unwrap().to_string())
        };
        let log = self.0.lock().unwrap();
        let bodies = log.iter().filter(|(op, _)| op == "TransactWriteItems").map(|(_, b)| b);
        bodies
            .map(|b| {
                let items = b["TransactItems"].as_array().unwrap().iter();
                items
                    .map(|i| {
                        key(if i["Put"].is_object() {
                            &i["Put"]["Item"]
                        } else {
                            &i.as_object().unwrap().values().next().unwrap()["Key"]
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

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
        let op = target.rsplit('.').next().unwrap_or(target).to_string();
        let body = ctx.request().body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
        self.0.lock().unwrap().push((op, body));
        Ok(())
    }
}

pub type Posts = Arc<Mutex<Vec<(String, String)>>>;

/// A fake management API: records `POST /@connections/{id}` bodies; ids starting with `gone` answer 410.
pub async fn fake_management_api() -> (String, Posts) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let posts: Posts = Arc::default();
    let seen = posts.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap_or(0));
                        break (end + 4, len);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let id = path.rsplit('/').next().unwrap_or("").to_string();
                seen.lock().unwrap().push((id.clone(), String::from_utf8_lossy(&buf[head_end..]).to_string()));
                let reply = if id.starts_with("gone") {
                    "HTTP/1.1 410 Gone\r\nx-amzn-ErrorType: GoneException\r\ncontent-type: application/json\r\ncontent-length: 19\r\nconnection: close\r\n\r\n{\"message\":\"Gone\"}\n"
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                };
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, posts)
}

/// A loopback TCP proxy in front of `target` (`http://host:port`) that counts the bytes each way: what a
/// client sends a service and what it reads back, headers included, as a bill would count them.
pub struct CountingProxy {
    pub endpoint: String,
    sent: Arc<std::sync::atomic::AtomicU64>,
    received: Arc<std::sync::atomic::AtomicU64>,
}

impl CountingProxy {
    pub async fn start(target: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        let target = target.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (sent, received) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let counters = (sent.clone(), received.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (target, (sent, received)) = (target.clone(), counters.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&target).await else { return };
                    let (client_rd, client_wr) = client.into_split();
                    let (server_rd, server_wr) = server.into_split();
                    let pump = |mut from: tokio::net::tcp::OwnedReadHalf,
                                mut to: tokio::net::tcp::OwnedWriteHalf,
                                count: Arc<AtomicU64>| async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n) = from.read(&mut buf).await {
                            if n == 0 || to.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            count.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        let _ = to.shutdown().await;
                    };
                    tokio::join!(pump(client_rd, server_wr, sent), pump(server_rd, client_wr, received));
                });
            }
        });
        Self { endpoint, sent, received }
    }

    /// Bytes sent to the service and received from it so far.
    pub fn counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (self.sent.load(Ordering::Relaxed), self.received.load(Ordering::Relaxed))
    }
}
