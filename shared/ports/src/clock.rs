//! Time and randomness come in from outside, so the core stays pure and
//! tests can move time forward and choose the codes they draw.

use std::future::Future;

use jiff::Timestamp;

use klaxon_core::incident::AckCode;

/// Klaxon's one clock: every lifecycle field and timeline entry is stamped
/// with it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Waiting, for handlers that poll (the self-test). Tests wait by moving
/// their clock instead.
pub trait Sleep: Send + Sync {
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send;
}

/// Where new incident ids and ack codes come from.
pub trait IdSource: Send + Sync {
    /// A new incident id for an incident opened at `now`.
    fn incident_id(&self, now: Timestamp) -> String;
    /// A candidate ack code; the store refuses one an open incident holds.
    fn ack_code(&self) -> AckCode;
}
