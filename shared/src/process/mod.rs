//! What every long-running process needs: logging, metrics, the stop signal, worker health from heartbeats, and files
//! kept private.

pub mod health;
pub mod instance;
pub mod logging;
pub mod metrics;
pub mod private_files;
pub mod shutdown;
