//! AWS adapters: DynamoDB (one table for every item kind), S3, SQS, and push through API Gateway WebSocket. Built from the standard AWS
//! configuration chain, so `AWS_ENDPOINT_URL` points the same code at a local emulator.

mod dynamodb;
mod push;
mod s3;
mod sqs;

pub use dynamodb::{DynamoStore, Following};
pub use push::ApiGatewayPush;
pub use s3::S3BlobStore;
pub use sqs::SqsJobQueue;

use crate::settings::env::{self, EnvError, EnvSource};

/// Where the AWS adapters keep their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `TABLE_NAME`: the single DynamoDB table (keys `pk`, `sk`; TTL attribute `expires_at`).
    pub table: String,
    /// `BUCKET_NAME`: the S3 bucket.
    pub bucket: String,
    /// `REALTIME_RETENTION_DAYS` (90): items carry `expires_at` this long after they were written; 0 = never.
    pub retention_days: u64,
    /// `AWS_ENDPOINT_URL`: set for emulators; also switches S3 to path-style addressing.
    pub endpoint_url: Option<String>,
}

impl AwsSettings {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        Ok(Self {
            table: env::required(e, "TABLE_NAME")?,
            bucket: env::required(e, "BUCKET_NAME")?,
            retention_days: env::parsed(e, "REALTIME_RETENTION_DAYS", 90, "whole number")?,
            endpoint_url: env::string(e, "AWS_ENDPOINT_URL"),
        })
    }
}

/// The shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
