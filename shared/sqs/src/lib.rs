//! The undelivered-notifications queue (SQS): deliveries that failed for
//! good, one message each, for the operator (`klaxon dlq`).

use klaxon_ports::{BackendError, UndeliveredNotification, UndeliveredNotifications};

#[derive(Clone, Debug)]
pub struct SqsUndelivered {
    client: klaxon_aws::OnFirstUse<aws_sdk_sqs::Client>,
    queue_url: String,
}

impl SqsUndelivered {
    /// Its client is built on the first notification parked.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, queue_url: &str) -> Self {
        Self {
            client: klaxon_aws::OnFirstUse::new(sdk, aws_sdk_sqs::Client::new),
            queue_url: queue_url.to_string(),
        }
    }
}

impl UndeliveredNotifications for SqsUndelivered {
    async fn park(&self, notification: &UndeliveredNotification) -> Result<(), BackendError> {
        let body = serde_json::to_string(notification).map_err(|e| BackendError {
            service: "SQS",
            operation: "SendMessage",
            message: format!("cannot encode the notification: {e}"),
            retryable: false,
        })?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| klaxon_aws::backend_error("SQS", "SendMessage", e))?;
        Ok(())
    }
}
