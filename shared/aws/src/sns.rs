//! SMS through Amazon SNS `Publish` to a phone number.

use aws_sdk_sns::types::MessageAttributeValue;

use super::backend_error;
use klaxon_core::phone::Phone;
use klaxon_ports::{BackendError, SmsSender};

/// Sends transactional SMS with SNS.
#[derive(Clone, Debug)]
pub struct SnsSms {
    client: aws_sdk_sns::Client,
    origination_number: Option<Phone>,
}

impl SnsSms {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, origination_number: Option<Phone>) -> Self {
        Self::new(aws_sdk_sns::Client::new(sdk), origination_number)
    }

    /// `origination_number` is the End User Messaging number pages come from;
    /// it must be a two-way number for replies to reach Klaxon.
    pub fn new(client: aws_sdk_sns::Client, origination_number: Option<Phone>) -> Self {
        Self {
            client,
            origination_number,
        }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, BackendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| BackendError {
            service: "SNS",
            operation: "Publish",
            message: e.to_string(),
            retryable: false,
        })
}

impl SmsSender for SnsSms {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<String, BackendError> {
        let mut request = self
            .client
            .publish()
            .phone_number(to.as_str())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(from) = &self.origination_number {
            request = request.message_attributes(
                "AWS.MM.SMS.OriginationNumber",
                string_attribute(from.as_str())?,
            );
        }
        let out = request
            .send()
            .await
            .map_err(|e| backend_error("SNS", "Publish", e))?;
        out.message_id.ok_or_else(|| BackendError {
            service: "SNS",
            operation: "Publish",
            message: "response had no MessageId".into(),
            retryable: true,
        })
    }
}
