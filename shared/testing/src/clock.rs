//! A clock tests move forward, and ids and codes they choose.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use jiff::{SignedDuration, Timestamp};

use klaxon_core::incident::{AckCode, incident_id};
use klaxon_ports::{Clock, IdSource, Sleep};

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn at(now: Timestamp) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves time forward (or back, for skew) by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += SignedDuration::from_secs(secs);
    }

    pub fn set(&self, to: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Waiting moves the clock: nothing sleeps.
impl Sleep for ManualClock {
    async fn sleep(&self, duration: std::time::Duration) {
        self.advance(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX));
    }
}

/// Ack codes taken from a script, then counted up; incident ids counted up.
#[derive(Debug, Default)]
pub struct ScriptedIds {
    codes: Mutex<VecDeque<AckCode>>,
    next_code: AtomicU32,
    next_id: AtomicU32,
}

impl ScriptedIds {
    /// Codes handed out in this order before the counted ones.
    pub fn with_codes(codes: &[&str]) -> Self {
        let ids = Self::default();
        ids.push_codes(codes);
        ids
    }

    pub fn push_codes(&self, codes: &[&str]) {
        let mut queue = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        queue.extend(codes.iter().filter_map(|c| AckCode::parse(c)));
    }
}

impl IdSource for ScriptedIds {
    fn incident_id(&self, now: Timestamp) -> String {
        incident_id(now, self.next_id.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn ack_code(&self) -> AckCode {
        if let Some(code) = self
            .codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
        {
            return code;
        }
        AckCode::from_number(9000 + self.next_code.fetch_add(1, Ordering::SeqCst))
    }
}
