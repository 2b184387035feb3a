//! Genesys Cloud's notifications as our realtime events, shared by the two hosts that receive them: the
//! listener's notifications connector (WebSocket) and the `genesys-events` Lambda (EventBridge).

pub mod mapping;
