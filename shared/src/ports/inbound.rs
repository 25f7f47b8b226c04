//! Inbound-message dedup: each inbound SMS acts at most once.

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;

/// Inbound message ids already handled.
pub trait InboundMessages: Send + Sync {
    /// Claims an inbound message id; `false` if it was already claimed.
    fn claim(
        &self,
        message_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Gives a claim back after handling failed, so a redelivery is handled.
    fn release(&self, message_id: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
}
