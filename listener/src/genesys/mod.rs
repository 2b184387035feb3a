//! Genesys Cloud notifications: mapping notifications to our realtime events (pure), and, with the rest of
//! the connector issue, OAuth, channels, topics and the socket watchdog.

pub mod api;
pub mod budget;
pub mod channel;
pub mod connector;
pub mod discovery;
pub mod mapping;
pub mod topics;
pub mod watchdog;
