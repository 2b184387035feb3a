//! The Genesys Cloud container's logic: the AudioHook server (and, with its issue, the notifications
//! connector). `main.rs` is the thin command line over it.

pub mod audiohook;
pub mod backoff;
pub mod forward;
pub mod genesys;
pub mod heartbeat;
pub mod ports;
pub mod simulate;
