//! Push on AWS: supervisors' WebSocket connections (API Gateway WebSocket API) follow calls through
//! subscription items in DynamoDB; messages are posted to each follower through the API Gateway Management
//! API, and a connection that answers `410 Gone` is forgotten.
//!
//! Pushed directly from the ingesting Lambda (not from a DynamoDB stream): one subscriber lookup per call
//! (two concurrent queries, one round trip, which an ingest makes beside its load: see `Push::audience`),
//! then one post per message and follower, in order per follower and concurrently across followers. A stream would add a second function, its polling
//! delay and a shard iterator per table partition for the same posts.

use super::DynamoStore;
use crate::ports::{Audience, Push, PushMessage};
use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use std::sync::Arc;

pub struct ApiGatewayPush {
    store: Arc<DynamoStore>,
    client: Client,
}

impl ApiGatewayPush {
    /// `callback_url` is the WebSocket API's connection endpoint (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`).
    pub fn new(sdk: &aws_config::SdkConfig, store: Arc<DynamoStore>, callback_url: &str) -> Self {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).endpoint_url(callback_url).build();
        Self { store, client: Client::from_conf(conf) }
    }

    /// Posts `bodies` to one connection in order; stops at the first failure. `true` when it is gone.
    async fn post_all(client: Client, connection: &str, bodies: &[Blob]) -> bool {
        for data in bodies {
            match client.post_to_connection().connection_id(connection).data(data.clone()).send().await {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => return true,
                Err(e) => {
                    let e = aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e);
                    tracing::warn!(%connection, error = %e, "push failed");
                    return false;
                }
            }
        }
        false
    }
}

#[async_trait]
impl Push for ApiGatewayPush {
    async fn audience(&self, call_id: &str) -> Audience {
        match self.store.subscribers(call_id).await {
            Ok(followers) => Audience::Connections(followers),
            Err(e) => {
                tracing::warn!(%call_id, error = %e, "push: cannot read subscribers");
                Audience::Connections(Vec::new())
            }
        }
    }

    async fn publish_to(&self, audience: &Audience, messages: Vec<PushMessage>) {
        metrics::counter!(crate::process::metrics::names::PUSH_MESSAGES).increment(messages.len() as u64);
        // Looked up now when the caller did not (`AtDelivery` is the in-process channel's answer).
        let followers = match (audience, messages.first()) {
            (Audience::Connections(followers), _) => followers.clone(),
            (Audience::AtDelivery, Some(m)) => match self.audience(&m.call_id).await {
                Audience::Connections(followers) => followers,
                Audience::AtDelivery => return,
            },
            (Audience::AtDelivery, None) => return,
        };
        let bodies: Arc<Vec<Blob>> = Arc::new(messages.iter().map(|m| Blob::new(m.body.to_string())).collect());
        let mut posts = tokio::task::JoinSet::new();
        for connection in followers {
            let (client, bodies) = (self.client.clone(), bodies.clone());
            posts.spawn(async move {
                let gone = Self::post_all(client, &connection, &bodies).await;
                (connection, gone)
            });
        }
        while let Some(Ok((connection, gone))) = posts.join_next().await {
            if gone && let Err(e) = self.store.disconnect(&connection).await {
                tracing::warn!(%connection, error = %e, "push: cannot forget gone connection");
            }
        }
    }
}
