//! Rate limits per destination (GoAlert's: at most 3 calls to a number in
//! 15 minutes): the limits and the decision every store makes.

use jiff::{SignedDuration, Timestamp};

/// A limit: at most `max` uses in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: SignedDuration,
}

/// Calls to one number: 3 in 15 minutes.
pub const VOICE_PER_NUMBER: Limit = Limit {
    max: 3,
    window: SignedDuration::from_mins(15),
};

/// Whether a use may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Counted (or counted already, for the same `token`).
    Allowed,
    /// The limit is reached until `until`.
    Limited { until: Timestamp },
}

/// The pure decision every store makes: the uses still in the window at
/// `now` (oldest first) and what taking one more comes to.
pub fn decide(
    uses: &[(String, Timestamp)],
    token: &str,
    limit: Limit,
    now: Timestamp,
) -> Allowance {
    let recent: Vec<&(String, Timestamp)> = uses
        .iter()
        .filter(|(_, at)| *at > now - limit.window)
        .collect();
    if recent.iter().any(|(t, _)| t == token) {
        return Allowance::Allowed;
    }
    if recent.len() < limit.max as usize {
        return Allowance::Allowed;
    }
    let oldest = recent.iter().map(|(_, at)| *at).min().unwrap_or(now);
    Allowance::Limited {
        until: oldest + limit.window,
    }
}
