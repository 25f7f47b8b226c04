//! Ports: what the application needs from the outside world. The AWS
//! adapters in [`crate::aws`] implement them.
//!
//! Every method that changes state is atomic on the store side (conditional
//! writes or transactions), so handlers can run twice or concurrently.

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, OncallConfig};
use crate::core::incident::{AckCode, Actor, Channel, Incident, Status, TimelineEntry};
use crate::core::phone::Phone;
use crate::core::policy::ResolvedTarget;

/// A failure talking to a backing service.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed: {message}")]
pub struct BackendError {
    pub service: &'static str,
    pub operation: &'static str,
    pub message: String,
    /// Whether trying again later can succeed (throttling, 5xx, network).
    pub retryable: bool,
}

/// Result of trying to open an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    Opened,
    /// An incident is already open for this dedup key.
    AlreadyOpen {
        incident_id: String,
    },
    /// The ack code is held by another open incident; pick another.
    CodeTaken,
}

/// Result of folding a repeat alarm into an open incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoldOutcome {
    Folded {
        alarm_count: u32,
    },
    /// This exact state change was already recorded.
    Duplicate,
    /// The incident was resolved in the meantime.
    NotOpen,
}

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
        format!(
            "{:04}#{}#{}#{}",
            self.step,
            self.person,
            self.channel.as_str(),
            self.contact
        )
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
    /// Already sent, or being sent by a concurrent run.
    AlreadyClaimed,
    /// The incident is no longer triggered: stop paging.
    NotPaging(Status),
}

/// A status change requested by a responder, an operator or the alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Acknowledge,
    Resolve,
}

/// Result of a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionOutcome {
    Done(Box<Incident>),
    /// The incident's status does not allow it (already acknowledged or resolved).
    Refused(Status),
    /// The sender was not paged for this incident.
    NotPaged,
    NotFound,
}

/// Incidents and their timelines.
pub trait IncidentStore: Send + Sync {
    /// Opens `incident` with its first timeline entries, unless an incident
    /// is already open for its dedup key or its ack code is taken.
    fn open(
        &self,
        incident: &Incident,
        entries: &[TimelineEntry],
    ) -> impl Future<Output = Result<OpenOutcome, BackendError>> + Send;

    /// The open incident for a dedup key, if any.
    fn open_for_dedup_key(
        &self,
        dedup_key: &str,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// Records a repeat ALARM and counts it; idempotent on the entry key.
    fn fold_repeat(
        &self,
        incident_id: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<FoldOutcome, BackendError>> + Send;

    fn get(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Option<Incident>, BackendError>> + Send;

    /// The timeline, oldest first.
    fn timeline(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Vec<TimelineEntry>, BackendError>> + Send;

    /// Appends an entry; `false` when an entry with the same time and key exists.
    fn append(
        &self,
        incident_id: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Records the escalation execution of an incident.
    fn set_escalation(
        &self,
        incident_id: &str,
        execution: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Atomically checks the incident is still triggered, adds the number to
    /// the paged set and claims the page's dedup key.
    fn claim_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        now: Timestamp,
    ) -> impl Future<Output = Result<ClaimOutcome, BackendError>> + Send;

    /// The record of a step that already fired, if it did.
    fn level(
        &self,
        incident_id: &str,
        step: u32,
    ) -> impl Future<Output = Result<Option<LevelRecord>, BackendError>> + Send;

    /// Records that a step fired, with its timeline entries, unless it was
    /// already recorded; returns the record that is stored.
    fn fire_level(
        &self,
        incident_id: &str,
        record: &LevelRecord,
        entries: &[TimelineEntry],
    ) -> impl Future<Output = Result<LevelRecord, BackendError>> + Send;

    /// Marks a claimed page as sent and records it on the timeline.
    fn complete_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Acknowledges or resolves. With `require_paged`, succeeds only if that
    /// number was paged for the incident (checked in the same write).
    fn transition(
        &self,
        incident_id: &str,
        transition: Transition,
        actor: &Actor,
        require_paged: Option<&Phone>,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<TransitionOutcome, BackendError>> + Send;

    /// The open incident holding an ack code.
    fn incident_for_code(
        &self,
        code: &AckCode,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// Open incidents (triggered or acknowledged), newest first, without a scan.
    fn list_open(&self) -> impl Future<Output = Result<Vec<Incident>, BackendError>> + Send;

    /// Incidents opened in a UTC month (`2026-11`), newest first, without a scan.
    fn list_month(
        &self,
        month: &str,
    ) -> impl Future<Output = Result<Vec<Incident>, BackendError>> + Send;

    /// Remembers that the alarm's OK resolved an incident (for flapping).
    fn note_resolved_by_alarm(
        &self,
        dedup_key: &str,
        incident_id: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// The last incident of a dedup key that its alarm's OK resolved, and when.
    fn last_resolved_by_alarm(
        &self,
        dedup_key: &str,
    ) -> impl Future<Output = Result<Option<(String, Timestamp)>, BackendError>> + Send;

    /// Claims an inbound message id; `false` if it was already processed.
    fn claim_inbound(
        &self,
        message_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Gives a claim back after handling failed, so a redelivery is handled.
    fn release_inbound(
        &self,
        message_id: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// Sends SMS.
pub trait SmsSender: Send + Sync {
    /// Sends one SMS and returns the provider's message id. An error means
    /// the message was not accepted and may be attempted again.
    fn send_sms(
        &self,
        to: &Phone,
        text: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;
}

/// Reads an alarm's tags (CloudWatch `ListTagsForResource`).
pub trait AlarmTags: Send + Sync {
    fn tags(
        &self,
        alarm_arn: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, String>, BackendError>> + Send;
}

/// Sends email.
pub trait EmailSender: Send + Sync {
    /// Sends one email and returns the provider's message id.
    fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;
}

/// What the escalation workflow is told after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub incident_id: String,
    /// The next step to run.
    pub step: u32,
    /// Seconds to wait before it.
    pub wait_seconds: u32,
    /// No more steps: the workflow ends.
    pub done: bool,
}

/// The escalation workflows (Step Functions).
pub trait Escalations: Send + Sync {
    /// Starts the incident's escalation, first holding `hold_seconds` (a
    /// flapping alarm); starting it again is harmless. Returns the
    /// execution id.
    fn start(
        &self,
        incident_id: &str,
        hold_seconds: u32,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// Stops an escalation; stopping a finished one is harmless.
    fn stop(
        &self,
        execution: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Reports a finished step. `Ok(false)` when the workflow no longer waits
    /// for it (stopped, or the step timed out).
    fn complete_step(
        &self,
        task_token: &str,
        result: &StepResult,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Reports a step that cannot succeed.
    fn fail_step(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    #[error("no configuration has been applied yet (run `klaxon config apply`)")]
    Missing,
    #[error("stored configuration is invalid: {0}")]
    Invalid(#[from] ConfigError),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Where the functions read the current configuration.
pub trait ConfigSource: Send + Sync {
    fn current(&self) -> impl Future<Output = Result<Arc<OncallConfig>, ConfigLoadError>> + Send;
}
