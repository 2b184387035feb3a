//! The Genesys Cloud notifications connector: OAuth, channels, topics and the socket watchdog. Mapping a
//! notification to our realtime events is `shared::genesys::mapping`, shared with the EventBridge Lambda.

pub mod api;
pub mod budget;
pub mod channel;
pub mod connector;
pub mod discovery;
pub mod topics;
pub mod watchdog;
