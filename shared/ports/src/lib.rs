//! Ports: what the application needs from the outside world, one small
//! trait per domain concept. The AWS adapters in `klaxon_aws` implement
//! them; `klaxon_testing` holds in-memory fakes with the same guarantees.
//!
//! Every method that changes state is atomic on the store side (conditional
//! writes or transactions), so handlers can run twice or concurrently.

/// The longest a call to a backend may take, its retries included: the
/// functions' AWS clients give up after it (`klaxon_aws::with_call_timeouts`),
/// and the escalator sends a page only with more than this left of its
/// run's lease, so a send never lands after its claim could be taken over.
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

mod alarm_memory;
mod calls;
mod channels;
mod clock;
mod config;
mod endpoints;
mod escalations;
mod events;
mod inbound;
mod incident_manager;
mod incidents;
mod messaging;
mod metric_log;
pub mod paging;
pub mod rate_limits;
mod secrets;
mod self_test;
mod status_page;
mod stream;
mod undelivered;

pub use alarm_memory::{AlarmMemory, LastOk, ResolvedByAlarm};
pub use calls::{CallArguments, CallPurpose, CallUpdate, PhoneCalls};
pub use channels::DeliveryChannels;
pub use clock::{Clock, IdSource, Sleep};
pub use config::{ConfigLoadError, ConfigSource};
pub use endpoints::{Endpoints, HttpDelivered, HttpFailure, HttpRequest, RetryPolicy, StatusClass};
pub use escalations::{EscalationStatus, Escalations, StepResult};
pub use events::{EventBus, PublishError};
pub use inbound::{ConfirmationClaim, InboundClaim, InboundMessages};
pub use incident_manager::IncidentManager;
pub use incidents::{
    FoldOutcome, Incidents, OpenOutcome, Requirement, Transition, TransitionOutcome,
};
pub use messaging::{AlarmTags, EmailSender, SmsSender};
pub use metric_log::MetricLog;
pub use paging::{ClaimOutcome, FailedPage, LevelRecord, PageClaim, Paging};
pub use rate_limits::{Allowance, Limit, RateLimits};
pub use secrets::{SecretError, Secrets};
pub use self_test::{AlarmDelivery, Metrics};
pub use status_page::{
    CACHE_CONTROL, FEED_CONTENT_TYPE, FEED_KEY, PAGE_CONTENT_TYPE, PAGE_KEY, RenderedPage,
    StatusPages,
};
pub use stream::StreamRecord;
pub use undelivered::{UndeliveredNotification, UndeliveredNotifications};

/// A failure talking to a backing service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {operation} failed: {message}")]
pub struct BackendError {
    pub service: &'static str,
    pub operation: &'static str,
    pub message: String,
    /// Whether trying again later can succeed (throttling, 5xx, network).
    pub retryable: bool,
}

impl BackendError {
    /// A Klaxon function's failure as its caller sees it (`lambda:Invoke`
    /// with a `FunctionError`): retryable as
    /// [`klaxon_core::invocation::worth_retrying`] says of its `error_type`.
    pub fn invocation(function: &str, error_type: &str, message: &str) -> Self {
        Self {
            service: "Lambda",
            operation: "Invoke",
            message: format!("{function} failed with {error_type}: {message}"),
            retryable: klaxon_core::invocation::worth_retrying(error_type),
        }
    }

    /// `"<action> on <resource>"` when AWS refused the call for a missing
    /// permission (AccessDenied's message: "User: ... is not authorized to
    /// perform: <action> on resource: <resource> because ..."): a
    /// configuration failure, which no retry mends.
    pub fn missing_permission(&self) -> Option<String> {
        let (_, rest) = self.message.split_once("is not authorized to perform: ")?;
        let action = rest.split_whitespace().next()?;
        match rest.split_once(" on resource: ") {
            Some((_, resource)) => {
                let resource = resource.split_whitespace().next()?;
                Some(format!("{action} on {resource}"))
            }
            None => Some(action.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BackendError;

    fn denied(message: &str) -> BackendError {
        BackendError {
            service: "S",
            operation: "Op",
            message: message.into(),
            retryable: false,
        }
    }

    #[test]
    fn an_access_denied_names_the_missing_action_and_resource() {
        let e = denied(
            "AccessDeniedException: User: arn:aws:sts::1:assumed-role/r/s is not authorized to \
             perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:1:q because no \
             identity-based policy allows the sqs:SendMessage action",
        );
        assert_eq!(
            e.missing_permission().as_deref(),
            Some("sqs:SendMessage on arn:aws:sqs:us-east-1:1:q")
        );
        let no_resource = denied("User: x is not authorized to perform: sns:Publish");
        assert_eq!(
            no_resource.missing_permission().as_deref(),
            Some("sns:Publish")
        );
        assert_eq!(
            denied("ThrottlingException: slow down").missing_permission(),
            None
        );
    }
}
