//! Adapters for the ports: `embedded` (one process, one machine) and, with the `aws` feature, `aws`
//! (DynamoDB, S3).

#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;
