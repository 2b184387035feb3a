//! The ingest called in-process: the one local process feeds its own realtime service, same payloads,
//! no HTTP hop.

use super::{DeliveryError, Ingest, Kind, Outgoing};
use async_trait::async_trait;
use shared::realtime::{RealtimeService, ServiceError};
use std::sync::Arc;

pub struct ServiceIngest(pub Arc<RealtimeService>);

#[async_trait]
impl Ingest for ServiceIngest {
    async fn deliver(&self, item: &Outgoing) -> Result<(), DeliveryError> {
        let result = match item.kind {
            Kind::Audio => self.0.ingest_audio(&item.body).await,
            Kind::Event => self.0.ingest_event(&item.body).await,
        };
        match result {
            Ok(_) => Ok(()),
            Err(e @ (ServiceError::Contention | ServiceError::Store(_))) => {
                Err(DeliveryError::Unavailable(e.to_string()))
            }
            Err(e) => Err(DeliveryError::Rejected(e.to_string())),
        }
    }
}
