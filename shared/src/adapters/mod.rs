//! Adapters for the ports: with the `embedded` feature, `embedded` (one process, one machine), and with
//! the `aws` feature, `aws` (DynamoDB, S3, SQS, API Gateway push).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "embedded")]
pub mod embedded;
