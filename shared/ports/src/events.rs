//! Where incident events go: Klaxon's EventBridge bus (`<stack>-events`).

use std::future::Future;

use super::BackendError;
use klaxon_core::events::BusEvent;

/// Why publishing stopped: every event before `first_unpublished` was
/// accepted; that one (and perhaps some after it) was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {first_unpublished} of the batch was not published: {error}")]
pub struct PublishError {
    pub first_unpublished: usize,
    pub error: BackendError,
}

/// Publishes incident events. Delivery is at least once: publishing an
/// event again publishes it again, with the same `detail.event_id`.
pub trait EventBus: Send + Sync {
    /// Publishes `events`, in order, as few calls as the bus allows.
    fn publish(&self, events: &[BusEvent])
    -> impl Future<Output = Result<(), PublishError>> + Send;
}
