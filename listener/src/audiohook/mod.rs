//! The Genesys AudioHook (Monitor) server: upgrade authentication and, with the rest of the listener issue,
//! the protocol state machine, media handling and forwarding. Protocol logic is pure; sockets live apart.

pub mod admission;
mod backlog;
pub mod chunker;
pub mod config;
mod connector_events;
pub mod connector_languages;
pub mod handshake;
pub mod media;
mod metrics;
pub mod nonces;
pub mod pipeline;
mod plain_http;
pub mod protection;
mod protection_agent;
pub mod recording;
mod replies;
pub mod server;
pub mod service;
pub mod session;
pub mod signature;
mod structured;
pub mod transcription;
mod transcription_worker;
pub mod transcripts;
pub mod upgrade;
pub mod utterances;
