//! The event bus port on EventBridge (`PutEvents` on `<stack>-events`).

use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry};

use super::{TRANSIENT_CODES, backend_error};
use klaxon_core::events::{BusEvent, SOURCE};
use klaxon_ports::{BackendError, EventBus, PublishError};

/// At most this many entries per `PutEvents` call (an EventBridge quota).
pub const MAX_ENTRIES: usize = 10;
/// At most this many bytes per `PutEvents` call, counted as AWS counts an
/// entry's size.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Klaxon's bus.
#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bus: impl Into<String>) -> Self {
        Self::new(aws_sdk_eventbridge::Client::new(sdk), bus)
    }

    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    fn entry(&self, event: &BusEvent) -> Result<(PutEventsRequestEntry, usize), BackendError> {
        let detail = serde_json::to_string(&event.detail).map_err(|e| BackendError {
            service: "EventBridge",
            operation: "PutEvents",
            message: format!("could not serialize the event: {e}"),
            retryable: false,
        })?;
        let resources: Vec<String> = event
            .detail
            .incident
            .as_ref()
            .map(|i| i.alarm_arn.clone())
            .filter(|arn| arn.starts_with("arn:"))
            .into_iter()
            .collect();
        let size = entry_size(event.detail_type.as_str(), &detail, &resources);
        let entry = PutEventsRequestEntry::builder()
            .source(SOURCE)
            .detail_type(event.detail_type.as_str())
            .detail(detail)
            .time(DateTime::from_millis(event.time.as_millisecond()))
            .event_bus_name(&self.bus)
            .set_resources(Some(resources))
            .build();
        Ok((entry, size))
    }
}

/// An entry's size as EventBridge counts it: 14 bytes for the time, plus
/// source, detail-type, detail and resources in UTF-8.
fn entry_size(detail_type: &str, detail: &str, resources: &[String]) -> usize {
    14 + SOURCE.len()
        + detail_type.len()
        + detail.len()
        + resources.iter().map(String::len).sum::<usize>()
}

/// The first rejected entry of a `PutEvents` answer, as an error.
fn rejected(entries: &[PutEventsResultEntry]) -> Option<(usize, BackendError)> {
    entries.iter().enumerate().find_map(|(i, e)| {
        let code = e.error_code()?;
        Some((
            i,
            BackendError {
                service: "EventBridge",
                operation: "PutEvents",
                message: format!("{code}: {}", e.error_message().unwrap_or_default()),
                retryable: TRANSIENT_CODES.contains(&code),
            },
        ))
    })
}

impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[BusEvent]) -> Result<(), PublishError> {
        let mut start = 0;
        while start < events.len() {
            let mut entries = Vec::new();
            let mut bytes = 0;
            for event in &events[start..] {
                let (entry, size) = self.entry(event).map_err(|error| PublishError {
                    first_unpublished: start + entries.len(),
                    error,
                })?;
                if !entries.is_empty()
                    && (entries.len() == MAX_ENTRIES || bytes + size > MAX_REQUEST_BYTES)
                {
                    break;
                }
                bytes += size;
                entries.push(entry);
            }
            let count = entries.len();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PublishError {
                    first_unpublished: start,
                    error: backend_error("EventBridge", "PutEvents", e),
                })?;
            if out.failed_entry_count() > 0 {
                let (i, error) = rejected(out.entries()).unwrap_or((
                    0,
                    BackendError {
                        service: "EventBridge",
                        operation: "PutEvents",
                        message: format!("{} entries failed, none named", out.failed_entry_count()),
                        retryable: true,
                    },
                ));
                return Err(PublishError {
                    first_unpublished: start + i,
                    error,
                });
            }
            start += count;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
