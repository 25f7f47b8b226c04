//! Time and randomness come in from outside, so the core stays pure and
//! tests can move time forward and choose the codes they draw.

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
