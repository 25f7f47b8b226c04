//! Paging: fired escalation levels and page claims.

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;
use crate::core::incident::{Channel, Status, TimelineEntry};
use crate::core::phone::Phone;
use crate::core::policy::ResolvedTarget;

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
/// ([`crate::core::escalation::PageRetry`]), on its own, until it is
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
    pub fn retry_at(&self, retry: &crate::core::escalation::PageRetry) -> Timestamp {
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

/// Result of claiming a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Go ahead and send.
    Claimed,
    /// Already sent.
    AlreadySent,
    /// Claimed by another run that may still send until `lease_until`
    /// (a concurrent run, or one that died after claiming). Not sent yet:
    /// try again once the lease has ended.
    InFlight { lease_until: Timestamp },
    /// The incident is no longer triggered: stop paging.
    NotPaging(Status),
}

/// Fired levels and page claims of incidents.
pub trait Paging: Send + Sync {
    /// The record of a step that already fired, if it did.
    fn level(
        &self,
        incident_id: &str,
        step: u32,
    ) -> impl Future<Output = Result<Option<LevelRecord>, BackendError>> + Send;

    /// The last step of the incident's escalation that fired, if any did.
    fn last_fired_step(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Option<u32>, BackendError>> + Send;

    /// Records that a step fired, with its timeline entries, unless it was
    /// already recorded; returns the record that is stored.
    fn fire_level(
        &self,
        incident_id: &str,
        record: &LevelRecord,
        entries: &[TimelineEntry],
    ) -> impl Future<Output = Result<LevelRecord, BackendError>> + Send;

    /// Atomically checks the incident is still triggered, adds the person's
    /// numbers to the paged set and claims the page's dedup key until
    /// `lease_until` (the end of the claiming run). A claim left unsent
    /// past its lease (its run died between claiming and sending) is taken
    /// over, and so is a failed page (its failures still counted); an
    /// abandoned page counts as sent.
    fn claim_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> impl Future<Output = Result<ClaimOutcome, BackendError>> + Send;

    /// Records that a claimed page's send failed with an error a retry
    /// may fix, unless it was sent or another run has taken it over since
    /// (only while the claim still holds this run's `lease_until`): the page
    /// is then failed, counted, listed by [`Paging::failed_pages`], and may
    /// be claimed again at any time. Returns it as recorded, or `None` when
    /// the claim was no longer this run's.
    fn fail_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        lease_until: Timestamp,
        at: Timestamp,
        error: &str,
    ) -> impl Future<Output = Result<Option<FailedPage>, BackendError>> + Send;

    /// The incident's failed pages, in key order (abandoned ones are not).
    fn failed_pages(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Vec<FailedPage>, BackendError>> + Send;

    /// Gives up on a failed page, recording `entry` on the timeline, unless
    /// it was claimed again since: it is then never sent nor retried.
    fn abandon_page(
        &self,
        incident_id: &str,
        page_key: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Gives back a claim that was not sent (a call over its number's
    /// limit), unless it was sent or another run has taken it over since
    /// (the claim is given back only while it still holds this run's
    /// `lease_until`), so a later attempt may claim it at once.
    fn release_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        lease_until: Timestamp,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Marks a claimed page as sent and records it on the timeline.
    fn complete_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        message_id: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}
