//! Time and randomness come in from outside, so the core stays pure and
//! tests can move time forward and choose the codes they draw.

use std::future::Future;

use jiff::Timestamp;
use rand::RngExt;

use crate::core::incident::{AckCode, incident_id};

/// Klaxon's one clock: every lifecycle field and timeline entry is stamped
/// with it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Waiting, for handlers that poll (the self-test). Tests wait by moving
/// their clock instead.
pub trait Sleep: Send + Sync {
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send;
}

/// Waiting on the Tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Where new incident ids and ack codes come from.
pub trait IdSource: Send + Sync {
    /// A new incident id for an incident opened at `now`.
    fn incident_id(&self, now: Timestamp) -> String;
    /// A candidate ack code; the store refuses one an open incident holds.
    fn ack_code(&self) -> AckCode;
}

/// Ids and codes drawn from the thread-local random generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn incident_id(&self, now: Timestamp) -> String {
        incident_id(now, rand::rng().random())
    }

    fn ack_code(&self) -> AckCode {
        AckCode::from_number(rand::rng().random())
    }
}
