//! The incident mirror port on AWS Systems Manager Incident Manager
//! (`StartIncident`, `CreateTimelineEvent`, `UpdateIncidentRecord`). The
//! requests are built in [`klaxon_core::incident_manager`].
//!
//! Repeats are safe because every request carries a client token derived
//! from Klaxon's ids and is otherwise the same on every retry: Incident
//! Manager answers a repeated token with the first call's result (the same
//! record ARN). A `ConflictException` means the token came with different
//! details, or the record is being changed by someone else; the same call
//! cannot then succeed, so it is not retryable unless Incident Manager
//! names a time to retry after.

use aws_sdk_ssmincidents::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssmincidents::operation::create_timeline_event::CreateTimelineEventError;
use aws_sdk_ssmincidents::operation::start_incident::StartIncidentError;
use aws_sdk_ssmincidents::operation::update_incident_record::UpdateIncidentRecordError;
use aws_sdk_ssmincidents::primitives::DateTime;
use aws_sdk_ssmincidents::types::error::ConflictException;
use aws_sdk_ssmincidents::types::{IncidentRecordStatus, TriggerDetails};
use jiff::Timestamp;

use klaxon_aws::{backend_error, error_code};
use klaxon_core::events::{BusEvent, IncidentSummary};
use klaxon_core::incident_manager::{start_request, timeline_request};
use klaxon_ports::{BackendError, IncidentManager};

/// The service's name in errors.
const SERVICE: &str = "SsmIncidentManager";
/// Incident Manager's code for its own transient failures (not among
/// [`klaxon_aws::TRANSIENT_CODES`], which other services share).
const INTERNAL_SERVER: &str = "InternalServerException";

/// Incident records in one account and region.
#[derive(Clone, Debug)]
pub struct SsmIncidentManager {
    client: klaxon_aws::OnFirstUse<aws_sdk_ssmincidents::Client>,
}

impl SsmIncidentManager {
    /// The mirror on the shared SDK configuration.
    /// Its client is built on the first mirrored incident.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: klaxon_aws::OnFirstUse::new(sdk, aws_sdk_ssmincidents::Client::new),
        }
    }

    /// The mirror on a client of its own (tests, other settings).
    pub fn new(client: aws_sdk_ssmincidents::Client) -> Self {
        Self {
            client: klaxon_aws::OnFirstUse::ready(client),
        }
    }
}

fn time(t: Timestamp) -> DateTime {
    DateTime::from_millis(t.as_millisecond())
}

/// A request Klaxon could not build: retrying cannot help.
fn invalid(operation: &'static str, message: String) -> BackendError {
    BackendError {
        service: SERVICE,
        operation,
        message,
        retryable: false,
    }
}

/// An SDK error as a [`BackendError`]: as every adapter maps it, plus
/// Incident Manager's internal errors as retryable and its conflicts as
/// retryable only when they say when.
fn mapped<E, R>(
    operation: &'static str,
    err: SdkError<E, R>,
    conflict: fn(&E) -> Option<&ConflictException>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let conflict = err.as_service_error().and_then(conflict).map(|c| {
        let resource = match (c.resource_type(), c.resource_identifier()) {
            (Some(kind), Some(id)) => format!(" ({} {id})", kind.as_str()),
            (None, Some(id)) => format!(" ({id})"),
            _ => String::new(),
        };
        (c.retry_after().is_some(), resource)
    });
    let internal = error_code(&err) == Some(INTERNAL_SERVER);
    let mut error = backend_error(SERVICE, operation, err);
    if internal {
        error.retryable = true;
    }
    if let Some((retry_after, resource)) = conflict {
        error.retryable = retry_after;
        error.message.push_str(&resource);
    }
    error
}

impl IncidentManager for SsmIncidentManager {
    async fn start(
        &self,
        response_plan_arn: &str,
        incident: &IncidentSummary,
        alarm_arn: &str,
    ) -> Result<String, BackendError> {
        const OP: &str = "StartIncident";
        let request = start_request(incident, alarm_arn).map_err(|e| invalid(OP, e.to_string()))?;
        let trigger = TriggerDetails::builder()
            .source(request.trigger_source)
            .timestamp(time(request.trigger_time))
            .set_trigger_arn(request.trigger_arn)
            .raw_data(request.raw_data)
            .build()
            .map_err(|e| invalid(OP, format!("trigger details: {e}")))?;
        let out = self
            .client
            .start_incident()
            .client_token(request.client_token)
            .response_plan_arn(response_plan_arn)
            .title(request.title)
            .impact(request.impact)
            .trigger_details(trigger)
            .send()
            .await
            .map_err(|e| {
                mapped(OP, e, |e| match e {
                    StartIncidentError::ConflictException(c) => Some(c),
                    _ => None,
                })
            })?;
        Ok(out.incident_record_arn)
    }

    async fn add_timeline_event(
        &self,
        record_arn: &str,
        event: &BusEvent,
    ) -> Result<(), BackendError> {
        let request = timeline_request(event);
        self.client
            .create_timeline_event()
            .client_token(request.client_token)
            .incident_record_arn(record_arn)
            .event_time(time(request.event_time))
            .event_type(request.event_type)
            .event_data(request.event_data)
            .send()
            .await
            .map_err(|e| {
                mapped("CreateTimelineEvent", e, |e| match e {
                    CreateTimelineEventError::ConflictException(c) => Some(c),
                    _ => None,
                })
            })?;
        Ok(())
    }

    async fn resolve(&self, record_arn: &str) -> Result<(), BackendError> {
        // No client token of Klaxon's: setting RESOLVED twice leaves the
        // record resolved, so the SDK's own token will do.
        self.client
            .update_incident_record()
            .arn(record_arn)
            .status(IncidentRecordStatus::Resolved)
            .send()
            .await
            .map_err(|e| {
                mapped("UpdateIncidentRecord", e, |e| match e {
                    UpdateIncidentRecordError::ConflictException(c) => Some(c),
                    _ => None,
                })
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
