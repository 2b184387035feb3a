//! The job queue on SQS. Dead letters are SQS's own (the queue's redrive policy in the template); the
//! receive count comes from `ApproximateReceiveCount`.

use crate::ports::{JobQueue, ReceivedJob, StoreError};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use std::time::Duration;

/// SQS's limits: 10 messages per receive, visibility and delay up to 12 hours.
const MAX_BATCH: usize = 10;
const MAX_VISIBILITY_SECONDS: u64 = 12 * 3600;

pub struct SqsJobQueue {
    client: Client,
    queue_url: String,
}

fn backend<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    e: aws_sdk_sqs::error::SdkError<E, R>,
) -> StoreError {
    StoreError::Backend(format!("sqs: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
}

fn seconds(d: Duration) -> i32 {
    d.as_secs().min(MAX_VISIBILITY_SECONDS) as i32
}

impl SqsJobQueue {
    /// `queue_url` is the jobs queue (`JOB_QUEUE_URL`).
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: &str) -> Self {
        Self { client: Client::new(sdk), queue_url: queue_url.to_string() }
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, body: &str) -> Result<(), StoreError> {
        self.client.send_message().queue_url(&self.queue_url).message_body(body).send().await.map_err(backend)?;
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<ReceivedJob>, StoreError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .visibility_timeout(seconds(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(backend)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let attempts = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(ReceivedJob { receipt: m.receipt_handle?, body: m.body.unwrap_or_default(), attempts })
            })
            .collect())
    }

    async fn complete(&self, receipt: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), StoreError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds(delay))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}
