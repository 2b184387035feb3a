//! What every long-running process needs: logging, the stop signal, and worker health from heartbeats.

pub mod health;
pub mod logging;
pub mod shutdown;
