//! The Genesys Cloud container's logic: the AudioHook server, the notifications connector, both in one
//! process (`supervise`), and the AudioHook client simulator. `main.rs` is the thin command line over
//! `commands`.

pub mod audiohook;
pub mod backoff;
pub mod commands;
pub mod forward;
pub mod genesys;
pub mod heartbeat;
pub mod simulate;
pub mod storage;
pub mod supervise;
