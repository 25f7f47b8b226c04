//! Pages and escalation levels as the store keeps them: each page's dedup
//! identity (one send per step, person, channel and contact method), a
//! failed page's retry, and a fired level's record.

use jiff::Timestamp;

use super::incident::Channel;
use super::phone::Phone;
use super::policy::ResolvedTarget;

/// How long a claim is held when the claimer does not say (a run outside
/// Lambda, such as the local harness); a Lambda run holds its claims until
/// its own deadline. Claims written before leases existed are taken over
/// this long after they were made.
pub const DEFAULT_LEASE_SECONDS: i64 = 60;

/// A page about to be sent: its dedup identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageClaim {
    pub step: u32,
    pub person: String,
    pub channel: Channel,
    /// The label of the contact method used.
    pub contact: String,
    /// The person's numbers whose replies will count: recorded with the claim.
    pub ack_numbers: Vec<Phone>,
}

impl PageClaim {
    /// The dedup key of this page: one send per step, person, channel and
    /// contact method.
    pub fn key(&self) -> String {
        page_key(self.step, &self.person, self.channel, &self.contact)
    }
}

fn page_key(step: u32, person: &str, channel: Channel, contact: &str) -> String {
    format!("{step:04}#{person}#{}#{contact}", channel.as_str())
}

/// A page whose send failed with an error a retry may fix (a throttled or
/// unavailable channel). It is tried again with capped backoff
/// ([`super::escalation::PageRetry`]), on its own, until it is
/// sent, the incident stops paging, or it has failed for longer than the
/// escalation's retry limit (then it is abandoned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedPage {
    pub step: u32,
    pub person: String,
    pub channel: Channel,
    /// The label of the contact method.
    pub contact: String,
    /// Failed sends so far.
    pub attempts: u32,
    pub first_failed_at: Timestamp,
    pub last_failed_at: Timestamp,
    /// The last failure.
    pub error: String,
}

impl FailedPage {
    /// The page's dedup key (as its [`PageClaim::key`]).
    pub fn key(&self) -> String {
        page_key(self.step, &self.person, self.channel, &self.contact)
    }

    /// When it is tried next.
    pub fn retry_at(&self, retry: &super::escalation::PageRetry) -> Timestamp {
        retry.retry_at(self.attempts, self.last_failed_at)
    }
}

/// A fired escalation level: when, and whom it targets (schedules already
/// resolved). Recorded once; later wake-ups of the same step reuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelRecord {
    pub step: u32,
    pub pass: u32,
    pub level: u32,
    pub fired_at: Timestamp,
    pub targets: Vec<ResolvedTarget>,
}
