//! What every long-running process needs: logging, the stop signal, worker health from heartbeats, and files
//! kept private.

pub mod health;
pub mod instance;
pub mod logging;
pub mod private_files;
pub mod shutdown;
