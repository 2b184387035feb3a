//! Adapters for the ports: `embedded` (one process, one machine). The `aws` family arrives with the
//! AWS deployment issue.

pub mod embedded;
