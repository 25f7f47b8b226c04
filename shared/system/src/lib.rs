//! The system's clock, timer and randomness: the adapters of the ports
//! [`Clock`], [`Sleep`] and [`IdSource`] that the functions use. Tests use
//! `klaxon_testing::ManualClock` and fixed ids instead.

use jiff::Timestamp;
use rand::RngExt;

use klaxon_core::incident::{AckCode, incident_id};
use klaxon_ports::{Clock, IdSource, Sleep};

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Waiting on the Tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
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
