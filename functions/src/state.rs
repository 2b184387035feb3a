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
}
