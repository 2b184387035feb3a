//! Push on AWS: supervisors' WebSocket connections (API Gateway WebSocket API) follow calls through
//! subscription items in DynamoDB; a message is posted to each follower through the API Gateway Management
//! API, and a connection that answers `410 Gone` is forgotten.

use super::DynamoStore;
use crate::ports::{Push, PushMessage};
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
}

#[async_trait]
impl Push for ApiGatewayPush {
    async fn publish(&self, message: PushMessage) {
        let followers = match self.store.subscribers(&message.call_id).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(call_id = %message.call_id, error = %e, "push: cannot read subscribers");
                return;
            }
        };
        let data = Blob::new(message.body.to_string());
        let mut posts = tokio::task::JoinSet::new();
        for connection in followers {
            let (client, data) = (self.client.clone(), data.clone());
            posts.spawn(async move {
                let sent = client.post_to_connection().connection_id(&connection).data(data).send().await;
                (connection, sent)
            });
        }
        while let Some(Ok((connection, sent))) = posts.join_next().await {
            match sent {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => {
                    if let Err(e) = self.store.disconnect(&connection).await {
                        tracing::warn!(%connection, error = %e, "push: cannot forget gone connection");
                    }
                }
                Err(e) => {
                    tracing::warn!(%connection, error = %aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e), "push failed")
                }
            }
        }
    }
}
