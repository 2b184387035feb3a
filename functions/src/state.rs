//! What every handler can reach: the realtime and batch services, heartbeats, WebSocket tickets, credentials and
//! health settings.

use crate::auth::Credentials;
use shared::batch::BatchService;
use shared::ports::{Heartbeats, Tickets};
use shared::realtime::RealtimeService;
use shared::settings::env::{self, EnvError, EnvSource};
use std::sync::Arc;

/// Seconds after which a worker heartbeat is stale (seed names and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// `GENESYS_CONNECTOR_HEALTH_STALE_SECONDS` (90).
    pub connector_stale_seconds: u64,
    /// `GENESYS_AUDIOHOOK_HEALTH_STALE_SECONDS` (90).
    pub audiohook_stale_seconds: u64,
}

impl HealthConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        Ok(Self {
            connector_stale_seconds: env::parsed(e, "GENESYS_CONNECTOR_HEALTH_STALE_SECONDS", 90, "whole number")?,
            audiohook_stale_seconds: env::parsed(e, "GENESYS_AUDIOHOOK_HEALTH_STALE_SECONDS", 90, "whole number")?,
        })
    }
}

#[derive(Clone)]
pub struct AppState {
    pub realtime: Arc<RealtimeService>,
    pub batch: Arc<BatchService>,
    pub heartbeats: Arc<dyn Heartbeats>,
    pub tickets: Arc<dyn Tickets>,
    pub credentials: Arc<Credentials>,
    pub health: Arc<HealthConfig>,
    /// Most bytes a response's body may take as the host sends it: a Lambda's response is capped at 6 MB
    /// (see `lambda::RESPONSE_LIMIT`); `None` where nothing caps it (the local process). Audio never comes
    /// near it (a link is handed out instead); a download past it is refused with 413.
    pub response_limit: Option<usize>,
}
