//! Inbound-message dedup: each inbound SMS acts at most once.

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;

/// Whether an inbound message is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundClaim {
    /// First delivery: act on it.
    First,
    /// Delivered before; the incident it named, if a run got that far.
    Again { incident_id: Option<String> },
}

/// Inbound message ids already handled.
pub trait InboundMessages: Send + Sync {
    /// Claims an inbound message id.
    fn claim(
        &self,
        message_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<InboundClaim, BackendError>> + Send;

    /// Records which incident a claimed message names, before acting on
    /// it, so a redelivery can finish what a first run began.
    fn attach(
        &self,
        message_id: &str,
        incident_id: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Gives a claim back after handling failed, so a redelivery is handled.
    fn release(&self, message_id: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
}
