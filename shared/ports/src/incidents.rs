//! Incidents and their timelines.

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;
use klaxon_core::incident::{AckCode, Actor, Incident, TimelineEntry};
pub use klaxon_core::transition::{Requirement, Transition, TransitionOutcome};

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

/// Incidents and their timelines.
///
/// Timeline entries whose event has a [`once key`](klaxon_core::incident::TimelineEvent::once_key)
/// are recorded at most once per incident, whatever their time: a
/// redelivered alarm state change maps to the same key.
pub trait Incidents: Send + Sync {
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

    /// Records a repeat ALARM (`entry`, at Klaxon's time) and counts it,
    /// once per state change; in the same write, the incident's
    /// `alarm_state_at` becomes the later of its own and `state_at`.
    fn fold_repeat(
        &self,
        incident_id: &str,
        entry: &TimelineEntry,
        state_at: Timestamp,
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

    /// Appends an entry; `false` when it was already recorded (same time
    /// and key, or same once key).
    fn append(
        &self,
        incident_id: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Records the escalation execution of an incident. `Ok(false)` when
    /// one was already recorded (by this or a concurrent run).
    fn set_escalation(
        &self,
        incident_id: &str,
        execution: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Records `execution` as the incident's escalation in place of
    /// `previous` (`None`: none recorded), with `entry`, only while the
    /// incident is triggered and still records `previous`. `Ok(false)` when
    /// not: acknowledged or resolved meanwhile, or replaced by another run.
    fn replace_escalation(
        &self,
        incident_id: &str,
        previous: Option<&str>,
        execution: &str,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Acknowledges or resolves, if the status allows it and `requirement`
    /// holds, checked in the same write.
    fn transition(
        &self,
        incident_id: &str,
        transition: Transition,
        actor: &Actor,
        requirement: Requirement<'_>,
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
}
