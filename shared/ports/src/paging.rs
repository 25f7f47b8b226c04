//! Paging: fired escalation levels and page claims.

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;
use klaxon_core::incident::{Status, TimelineEntry};
pub use klaxon_core::paging::{FailedPage, LevelRecord, PageClaim};

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
