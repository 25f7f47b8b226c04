//! Messages out (SMS, email) and what the alarm says about itself (tags).

use std::collections::BTreeMap;
use std::future::Future;

use super::BackendError;
use klaxon_core::phone::Phone;

/// Sends SMS.
pub trait SmsSender: Send + Sync {
    /// Sends one SMS and returns the provider's message id. An error means
    /// the message was not accepted and may be attempted again.
    fn send_sms(
        &self,
        to: &Phone,
        text: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;
}

/// Sends email.
pub trait EmailSender: Send + Sync {
    /// Sends one email and returns the provider's message id.
    fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;
}

/// Reads an alarm's tags (CloudWatch `ListTagsForResource`).
pub trait AlarmTags: Send + Sync {
    fn tags(
        &self,
        alarm_arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, BackendError>> + Send;
}
