//! Where Klaxon incidents are mirrored for teams that respond in AWS
//! Systems Manager Incident Manager: one incident record per Klaxon
//! incident, its timeline, its resolution. What each call sends is built in
//! [`klaxon_core::incident_manager`].

use std::future::Future;

use super::BackendError;
use klaxon_core::events::{BusEvent, IncidentSummary};

/// Mirrors incidents. Every call may be repeated (a redelivered event, a
/// retried handler) without doubling anything: a start with the same
/// incident returns the same record, a timeline event with the same
/// `detail.event_id` is added once. The caller keeps the record's ARN.
pub trait IncidentManager: Send + Sync {
    /// Starts the incident record of `incident` under the response plan
    /// `response_plan_arn`, triggered by the alarm `alarm_arn`, and returns
    /// the record's ARN. Starting the same incident again returns the same
    /// ARN.
    fn start(
        &self,
        response_plan_arn: &str,
        incident: &IncidentSummary,
        alarm_arn: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// Adds `event` to the timeline of the record `record_arn`, once per
    /// `detail.event_id`.
    fn add_timeline_event(
        &self,
        record_arn: &str,
        event: &BusEvent,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Resolves the record `record_arn`; resolving it again changes nothing.
    fn resolve(&self, record_arn: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
}
