//! Ports: what the application needs from the outside world, one small
//! trait per domain concept. The AWS adapters in [`crate::aws`] implement
//! them; [`crate::testing`] holds in-memory fakes with the same guarantees.
//!
//! Every method that changes state is atomic on the store side (conditional
//! writes or transactions), so handlers can run twice or concurrently.

mod alarm_memory;
mod calls;
mod clock;
mod config;
mod endpoints;
mod escalations;
mod events;
mod inbound;
mod incident_mirror;
mod incidents;
mod messaging;
pub mod paging;
pub mod rate_limits;
mod secrets;
mod self_test;
mod status_page;
mod undelivered;

pub use alarm_memory::{AlarmMemory, LastOk, ResolvedByAlarm};
pub use calls::{CallArguments, CallPurpose, CallUpdate, PhoneCalls};
pub use clock::{Clock, IdSource, RandomIds, Sleep, SystemClock, TokioSleep};
pub use config::{ConfigLoadError, ConfigSource};
pub use endpoints::{Endpoints, HttpDelivered, HttpFailure, HttpRequest, RetryPolicy, StatusClass};
pub use escalations::{EscalationStatus, Escalations, StepResult};
pub use events::{EventBus, PublishError};
pub use inbound::{ConfirmationClaim, InboundClaim, InboundMessages};
pub use incident_mirror::IncidentMirror;
pub use incidents::{
    FoldOutcome, Incidents, OpenOutcome, Requirement, Transition, TransitionOutcome,
    check_transition,
};
pub use messaging::{AlarmTags, EmailSender, SmsSender};
pub use paging::{ClaimOutcome, LevelRecord, PageClaim, Paging};
pub use rate_limits::{Allowance, Limit, RateLimits};
pub use secrets::{SecretError, Secrets};
pub use self_test::{AlarmDelivery, Metrics};
pub use status_page::{
    CACHE_CONTROL, FEED_CONTENT_TYPE, FEED_KEY, PAGE_CONTENT_TYPE, PAGE_KEY, RenderedPage,
    StatusPages,
};
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
