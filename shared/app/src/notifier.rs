//! The notifier: committed timeline entries, read from the incidents
//! table's stream (its own event source mapping, beside the publisher's),
//! delivered to the destinations in `notifications` and mirrored into
//! Incident Manager. It runs apart from the paging path, so the HTTP
//! client and its retries add nothing to the time from alarm to page.
//!
//! Every delivery's outcome is a timeline entry whose once key names the
//! destination and the entry delivered: a redelivered batch skips what was
//! already told, and the outcome is itself published on the bus (but never
//! delivered). A delivery that failed for good is parked in the
//! undelivered-notifications queue, whose alarm tells the operator. What
//! may succeed later (the store, the queue, a secret store that throttles)
//! fails the batch at that record, so the event source mapping retries
//! from there.
//!
//! Slack shows one message per incident: posted once, then rewritten with
//! the incident as it is now (read after the entry committed) on
//! acknowledge and resolve, so an "acknowledged" handled late never
//! overwrites a "resolved".

use std::collections::HashMap;

use klaxon_core::events::{BusEvent, DetailType, IncidentSummary, bus_event};
use klaxon_core::incident::{Incident, TimelineEntry, TimelineEvent};
use klaxon_core::notifications::{
    self, DestinationKind, entry_ref, is_delivery_outcome, outcome_key,
};
use klaxon_core::time::iso;
use klaxon_ports::StreamRecord;
use klaxon_ports::{
    BackendError, Clock, ConfigSource, EmailSender, Endpoints, IncidentManager, Incidents, Secrets,
    UndeliveredNotification, UndeliveredNotifications,
};

mod deliver;

pub use deliver::{Outcome, SLACK_API_URL};

/// The target name of a service's Incident Manager mirror on the timeline.
pub const INCIDENT_MANAGER_TARGET: &str = "incident-manager";

/// What a batch came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyReport {
    pub delivered: usize,
    /// Failed for good: on the timeline and in the undelivered queue.
    pub failed: usize,
    /// Already told (a redelivered batch), or nothing to tell.
    pub skipped: usize,
    /// The record to retry from, and why.
    pub failed_at: Option<(String, String)>,
}

impl NotifyReport {
    /// The answer to the event source mapping: retry from the failed
    /// record, if any.
    pub fn response(&self) -> aws_lambda_events::streams::DynamoDbEventResponse {
        crate::publisher::retry_from(self.failed_at.as_ref())
    }
}

/// Where the notifier reaches what it talks to.
/// The notifier's ports, one type each: named once by each composition root
/// (the notifier function's AWS adapters, [`crate::world::FakePorts`]
/// for the tests), instead of one type parameter per port.
pub trait NotifierPorts {
    type Incidents: Incidents;
    type Config: ConfigSource;
    type Endpoints: Endpoints;
    type Secrets: Secrets;
    type Email: EmailSender;
    type IncidentManager: IncidentManager;
    type Undelivered: UndeliveredNotifications;
}

pub struct Notifier<'a, P: NotifierPorts> {
    pub incidents: &'a P::Incidents,
    pub config: &'a P::Config,
    pub endpoints: &'a P::Endpoints,
    pub secrets: &'a P::Secrets,
    pub email: &'a P::Email,
    pub incident_manager: &'a P::IncidentManager,
    pub undelivered: &'a P::Undelivered,
    pub clock: &'a dyn Clock,
    /// Slack's Web API (`https://slack.com/api`).
    pub slack_api: &'a str,
}

/// One incident as the batch sees it: read once, its timeline kept up to
/// date with the outcomes this batch records.
struct Known {
    incident: Option<Incident>,
    timeline: Vec<TimelineEntry>,
}

/// One destination to tell.
pub(crate) struct Destination<'c> {
    pub target: &'c str,
    pub kind: DestinationKind,
    pub spec: Option<&'c klaxon_config::NotificationSpec>,
    pub response_plan_arn: Option<&'c str>,
}

impl<P: NotifierPorts> Notifier<'_, P> {
    pub async fn handle(&self, records: &[StreamRecord]) -> NotifyReport {
        let mut report = NotifyReport::default();
        let mut known: HashMap<String, Known> = HashMap::new();
        for record in records {
            if let Err(reason) = self.record(record, &mut known, &mut report).await {
                tracing::warn!(sequence = record.sequence(), %reason, "notifying stopped; the batch is retried from this record");
                report.failed_at = Some((record.sequence().to_string(), reason));
                break;
            }
        }
        tracing::info!(
            delivered = report.delivered,
            failed = report.failed,
            skipped = report.skipped,
            records = records.len(),
            "stream batch notified"
        );
        report
    }

    /// Tells every destination of one record; `Err` (a reason) when the
    /// batch must be retried from it.
    async fn record(
        &self,
        record: &StreamRecord,
        known: &mut HashMap<String, Known>,
        report: &mut NotifyReport,
    ) -> Result<(), String> {
        let (incident_id, entry) = match record {
            StreamRecord::Entry {
                incident_id, entry, ..
            } => (incident_id, entry),
            // The publisher reports unreadable entries; nothing to tell here.
            StreamRecord::Other { .. } | StreamRecord::Unreadable { .. } => {
                report.skipped += 1;
                return Ok(());
            }
        };
        if is_delivery_outcome(&entry.event) {
            report.skipped += 1;
            return Ok(());
        }
        if !known.contains_key(incident_id) {
            let incident = self.incidents.get(incident_id).await.map_err(reason)?;
            let timeline = self.incidents.timeline(incident_id).await.map_err(reason)?;
            known.insert(incident_id.clone(), Known { incident, timeline });
        }
        let Some(state) = known.get_mut(incident_id) else {
            return Ok(());
        };
        let Some(incident) = state.incident.clone() else {
            tracing::warn!(
                incident_id,
                "incident not found; its entry is not delivered"
            );
            report.skipped += 1;
            return Ok(());
        };
        let Some(event) = bus_event(incident_id, Some(&incident), entry) else {
            report.skipped += 1;
            return Ok(());
        };
        let config = self.config.current().await.map_err(|e| e.to_string())?;
        let summary = IncidentSummary::from(&incident);
        let mut destinations: Vec<Destination<'_>> = config
            .destinations_for(&summary, event.detail_type)
            .into_iter()
            .map(|(target, spec)| Destination {
                target,
                kind: spec.kind,
                spec: Some(spec),
                response_plan_arn: None,
            })
            .collect();
        if let Some(plan) = config
            .service(&incident.service)
            .and_then(|s| s.incident_manager.as_ref())
        {
            destinations.push(Destination {
                target: INCIDENT_MANAGER_TARGET,
                kind: DestinationKind::IncidentManager,
                spec: None,
                response_plan_arn: Some(&plan.response_plan_arn),
            });
        }
        let event_ref = entry_ref(entry);
        for destination in destinations {
            let key = outcome_key(destination.target, &event_ref);
            if state.timeline.iter().any(|e| e.key == key) {
                report.skipped += 1;
                continue;
            }
            let outcome = self
                .deliver(&destination, &event, &summary, &state.timeline)
                .await;
            let recorded = match outcome {
                Outcome::Skipped => {
                    report.skipped += 1;
                    continue;
                }
                Outcome::Retry(why) => {
                    return Err(format!("{}: {why}", destination.target));
                }
                Outcome::Delivered {
                    status,
                    attempts,
                    reference,
                } => {
                    report.delivered += 1;
                    tracing::info!(target = destination.target, destination = %destination.kind, event = event.detail_type.as_str(), attempts, "delivered");
                    TimelineEvent::NotificationDelivered {
                        target: destination.target.to_string(),
                        destination: destination.kind,
                        event: event_ref.clone(),
                        status,
                        attempts,
                        reference,
                    }
                }
                Outcome::Failed {
                    status,
                    attempts,
                    error,
                } => {
                    report.failed += 1;
                    tracing::error!(target = destination.target, destination = %destination.kind, event = event.detail_type.as_str(), attempts, %error, "delivery failed for good");
                    self.undelivered
                        .park(&UndeliveredNotification {
                            incident_id: incident_id.clone(),
                            event_id: event.event_id().to_string(),
                            detail_type: event.detail_type.as_str().to_string(),
                            target: destination.target.to_string(),
                            destination: destination.kind,
                            status,
                            attempts,
                            error: error.clone(),
                            failed_at: iso(self.clock.now()),
                        })
                        .await
                        .map_err(reason)?;
                    TimelineEvent::NotificationFailed {
                        target: destination.target.to_string(),
                        destination: destination.kind,
                        event: event_ref.clone(),
                        status,
                        attempts,
                        error,
                    }
                }
            };
            let outcome_entry = TimelineEntry::new(self.clock.now(), key, recorded);
            self.incidents
                .append(incident_id, &outcome_entry)
                .await
                .map_err(reason)?;
            state.timeline.push(outcome_entry);
        }
        Ok(())
    }

    async fn deliver(
        &self,
        destination: &Destination<'_>,
        event: &BusEvent,
        incident: &IncidentSummary,
        timeline: &[TimelineEntry],
    ) -> Outcome {
        let paging = notifications::paging_now(timeline);
        let paging = if matches!(incident.status, klaxon_core::incident::Status::Triggered) {
            paging
        } else {
            Vec::new()
        };
        match destination.kind {
            DestinationKind::Slack => {
                let Some(spec) = destination.spec else {
                    return Outcome::Skipped;
                };
                let posted = notifications::posted_message(timeline, destination.target);
                self.slack(spec, event, incident, &paging, posted).await
            }
            DestinationKind::SlackWebhook | DestinationKind::Teams | DestinationKind::Webhook => {
                let Some(spec) = destination.spec else {
                    return Outcome::Skipped;
                };
                self.hook(spec, event, incident, &paging).await
            }
            DestinationKind::Email => {
                let Some(spec) = destination.spec else {
                    return Outcome::Skipped;
                };
                self.mail(spec, event, incident).await
            }
            DestinationKind::IncidentManager => {
                let Some(plan) = destination.response_plan_arn else {
                    return Outcome::Skipped;
                };
                let record = notifications::posted_message(timeline, destination.target);
                self.incident_manager(plan, event, incident, record).await
            }
        }
    }
}

/// Whether a detail-type rewrites the incident's Slack message (rather
/// than adding a reply in its thread).
pub(crate) fn updates_in_place(detail_type: DetailType) -> bool {
    matches!(
        detail_type,
        DetailType::IncidentOpened
            | DetailType::IncidentAcknowledged
            | DetailType::IncidentResolved
    )
}

fn reason(e: BackendError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests;
