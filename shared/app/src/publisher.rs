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
//!
//! The same entries are counted as Klaxon's operational metrics (pages
//! sent and failed per channel, escalations exhausted or failed;
//! [`klaxon_core::metrics`]), each once: only the entries before the
//! record a batch is retried from are counted, so a retry counts the rest.

use std::collections::HashMap;

use klaxon_core::events::{BusEvent, bus_event};
use klaxon_core::incident::Incident;
use klaxon_core::metrics::Metric;
pub use klaxon_ports::StreamRecord;
use klaxon_ports::{BackendError, EventBus, Incidents, MetricLog};

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

pub struct Publisher<'a, I, B, L> {
    pub incidents: &'a I,
    pub bus: &'a B,
    pub metrics: &'a L,
}

impl<I: Incidents, B: EventBus, L: MetricLog> Publisher<'_, I, B, L> {
    pub async fn handle(&self, records: &[StreamRecord]) -> PublishReport {
        let mut report = PublishReport::default();
        let mut cache: HashMap<String, Option<Incident>> = HashMap::new();
        // Each event with the index of the record it came from.
        let mut events: Vec<(usize, BusEvent)> = Vec::new();
        // Each metric with the index of the record it came from.
        let mut counted: Vec<(usize, Metric, jiff::Timestamp)> = Vec::new();
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
                    if incident.as_ref().is_some_and(|i| !i.self_test)
                        && let Some(metric) = Metric::of_event(&entry.event)
                    {
                        counted.push((index, metric, entry.at));
                    }
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
        let counted_before = stop.as_ref().map_or(records.len(), |(i, _)| *i);
        for (_, metric, at) in counted.iter().filter(|(i, _, _)| *i < counted_before) {
            self.metrics.record(std::slice::from_ref(metric), *at);
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
