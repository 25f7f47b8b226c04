//! What Klaxon remembers about an alarm between its incidents: its latest
//! OK (to ignore ALARMs that arrive after a newer OK) and the incident its
//! OK last resolved (for flapping).

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;

/// The incident an alarm's OK resolved, and when (Klaxon's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedByAlarm {
    pub incident_id: String,
    pub at: Timestamp,
}

/// What is remembered about an alarm's OKs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastOk {
    /// The alarm's own state time of the newest OK seen.
    pub state_at: Option<Timestamp>,
    /// The last incident an OK resolved.
    pub resolved: Option<ResolvedByAlarm>,
}

/// Alarm memory, keyed by the incident dedup key. Entries expire after a
/// few days, longer than any flapping window. That an OK resolved an
/// incident is recorded by the resolve itself, in the same write
/// ([`Requirement::AlarmNotAfter`](super::Requirement::AlarmNotAfter)), so
/// a redelivered OK always finds the incident it resolved.
pub trait AlarmMemory: Send + Sync {
    /// Remembers an OK's state time, unless a newer one is remembered.
    fn note_ok(
        &self,
        dedup_key: &str,
        state_at: Timestamp,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    fn last_ok(
        &self,
        dedup_key: &str,
    ) -> impl Future<Output = Result<Option<LastOk>, BackendError>> + Send;
}
