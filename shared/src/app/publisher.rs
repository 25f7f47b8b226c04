//! The event publisher: committed timeline entries, read from the
//! incidents table's stream, published on Klaxon's bus. Events therefore
//! exist if and only if their change committed, at least once, and nothing
//! is added to the path from alarm to first page.
//!
//! A batch is handled in stream order. Where something fails (reading an
//! incident, the bus, a record that cannot be read), everything before it
//! has been published and the failure is reported at that record, so the
//! event source mapping retries from there (`ReportBatchItemFailures`),
//! then, after its last attempt, sends the batch's position to the
//! unpublished-events queue, whose alarm tells the operator.

use std::collections::HashMap;

use crate::core::events::{BusEvent, bus_event};
use crate::core::incident::{Incident, TimelineEntry};
use crate::ports::{BackendError, EventBus, Incidents};

/// One record of the stream, as the publisher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRecord {
    /// A timeline entry was written.
    Entry {
        sequence: String,
        incident_id: String,
        entry: TimelineEntry,
    },
    /// Any other change (the incident, claims, markers): nothing to publish.
    Other { sequence: String },
    /// A timeline entry that cannot be read: it will never publish.
    Unreadable { sequence: String, reason: String },
}

impl StreamRecord {
    pub fn sequence(&self) -> &str {
        match self {
            Self::Entry { sequence, .. }
            | Self::Other { sequence }
            | Self::Unreadable { sequence, .. } => sequence,
        }
    }
}

/// What a batch came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishReport {
    pub published: usize,
    /// Entries of self-test incidents and records that are not entries.
    pub skipped: usize,
    /// The record to retry from, and why.
    pub failed_at: Option<(String, String)>,
}

impl PublishReport {
    /// The answer to the event source mapping: retry from the failed
    /// record, if any.
    pub fn response(&self) -> aws_lambda_events::streams::DynamoDbEventResponse {
        retry_from(self.failed_at.as_ref())
    }
}

/// The answer to a stream's event source mapping (with
/// `ReportBatchItemFailures`): retry from the record `(sequence, why)`, or,
/// with none, the whole batch is done.
pub fn retry_from(
    failed_at: Option<&(String, String)>,
) -> aws_lambda_events::streams::DynamoDbEventResponse {
    let mut response = aws_lambda_events::streams::DynamoDbEventResponse::default();
    if let Some((sequence, _)) = failed_at {
        let mut failure = aws_lambda_events::streams::DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

pub struct Publisher<'a, I, B> {
    pub incidents: &'a I,
    pub bus: &'a B,
}

impl<I: Incidents, B: EventBus> Publisher<'_, I, B> {
    pub async fn handle(&self, records: &[StreamRecord]) -> PublishReport {
        let mut report = PublishReport::default();
        let mut cache: HashMap<String, Option<Incident>> = HashMap::new();
        // Each event with the index of the record it came from.
        let mut events: Vec<(usize, BusEvent)> = Vec::new();
        let mut stop: Option<(usize, String)> = None;
        for (index, record) in records.iter().enumerate() {
            match record {
                StreamRecord::Other { .. } => report.skipped += 1,
                StreamRecord::Unreadable { reason, .. } => {
                    tracing::error!(sequence = record.sequence(), %reason, "unreadable timeline entry in the stream");
                    stop = Some((index, format!("unreadable timeline entry: {reason}")));
                    break;
                }
                StreamRecord::Entry {
                    incident_id, entry, ..
                } => {
                    let incident = match self.incident(&mut cache, incident_id).await {
                        Ok(i) => i,
                        Err(e) => {
                            stop = Some((index, e.to_string()));
                            break;
                        }
                    };
                    match bus_event(incident_id, incident.as_ref(), entry) {
                        Some(event) => events.push((index, event)),
                        None => report.skipped += 1,
                    }
                }
            }
        }
        let batch: Vec<BusEvent> = events.iter().map(|(_, e)| e.clone()).collect();
        match self.bus.publish(&batch).await {
            Ok(()) => report.published = batch.len(),
            Err(e) => {
                report.published = e.first_unpublished;
                let index = events
                    .get(e.first_unpublished)
                    .map_or(records.len().saturating_sub(1), |(i, _)| *i);
                if stop.as_ref().is_none_or(|(s, _)| index < *s) {
                    stop = Some((index, e.error.to_string()));
                }
            }
        }
        if let Some((index, reason)) = stop
            && let Some(record) = records.get(index)
        {
            tracing::warn!(sequence = record.sequence(), %reason, published = report.published, "publishing stopped; the batch is retried from this record");
            report.failed_at = Some((record.sequence().to_string(), reason));
        }
        tracing::info!(
            published = report.published,
            skipped = report.skipped,
            records = records.len(),
            "stream batch handled"
        );
        report
    }

    async fn incident(
        &self,
        cache: &mut HashMap<String, Option<Incident>>,
        id: &str,
    ) -> Result<Option<Incident>, BackendError> {
        if let Some(found) = cache.get(id) {
            return Ok(found.clone());
        }
        let found = self.incidents.get(id).await?;
        cache.insert(id.to_string(), found.clone());
        Ok(found)
    }
}

#[cfg(test)]
mod tests;
