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

/// Whether a run may send the confirmation of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmationClaim {
    /// Send it.
    Claimed,
    /// Another run claimed it and may still send it until `lease_until`
    /// (a concurrent delivery, or a run that died after claiming).
    InFlight { lease_until: Timestamp },
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

    /// Claims sending the confirmation of a claimed message until
    /// `lease_until` (the end of the claiming run); a claim left past its
    /// lease is taken over. Whether it was sent is on the incident's
    /// timeline: callers look there first.
    fn claim_confirmation(
        &self,
        message_id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> impl Future<Output = Result<ConfirmationClaim, BackendError>> + Send;

    /// Gives the confirmation claim back after a failed send.
    fn release_confirmation(
        &self,
        message_id: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}
