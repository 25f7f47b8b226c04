//! One timeline event of every detail-type, for the event tests and the
//! schema checks.

use jiff::Timestamp;

use crate::core::alarm::AlarmState;
use crate::core::classify::Severity;
use crate::core::events::DetailType;
use crate::core::incident::{Channel, TimelineEntry, TimelineEvent};
use crate::core::notify::DestinationKind;
use crate::core::routing::Urgency;
use crate::core::voice::{CallNote, CallOutcome};

fn alarm(state: AlarmState, repeat: bool) -> TimelineEvent {
    TimelineEvent::AlarmState {
        state,
        reason: "Threshold Crossed: 1 datapoint [12.0] was greater than 5.0".into(),
        route: "eventbridge".into(),
        changed_at: "2026-12-01T08:00:00.000Z".into(),
        repeat,
    }
}

/// A timeline event of `detail_type`, with realistic fields.
pub fn sample_event(detail_type: DetailType) -> TimelineEvent {
    match detail_type {
        DetailType::IncidentOpened => TimelineEvent::Opened,
        DetailType::IncidentClassified => TimelineEvent::Classified {
            service: "payments".into(),
            severity: Severity::Sev1,
            urgency: Urgency::High,
            policy: "payments".into(),
            decided_by: "rule:payments-api".into(),
            severity_from: "tag klaxon:severity".into(),
            matched: vec!["alarm_name ~ payments-*".into()],
        },
        DetailType::AlarmFired => alarm(AlarmState::Alarm, false),
        DetailType::AlarmRepeated => alarm(AlarmState::Alarm, true),
        DetailType::AlarmOk => alarm(AlarmState::Ok, false),
        DetailType::AlarmInsufficientData => alarm(AlarmState::InsufficientData, false),
        DetailType::AlarmOutOfOrder => TimelineEvent::OutOfOrder {
            state: AlarmState::Ok,
            changed_at: "2026-12-01T07:59:00.000Z".into(),
            newer_than: "2026-12-01T08:00:00.000Z".into(),
        },
        DetailType::IncidentFlapping => TimelineEvent::Flapping {
            previous: "20261201-PREV01".into(),
            hold_seconds: 300,
        },
        DetailType::EscalationStarted => TimelineEvent::EscalationStarted {
            execution: "arn:aws:states:us-east-1:123456789012:execution:k-escalation:x".into(),
        },
        DetailType::EscalationLevelFired => TimelineEvent::LevelFired {
            step: 0,
            pass: 1,
            level: 1,
            targets: vec!["hana (schedule primary)".into()],
        },
        DetailType::PageSent => TimelineEvent::Paged {
            step: 0,
            pass: 1,
            level: 1,
            person: "hana".into(),
            channel: Channel::Sms,
            to: "+819012345678".into(),
            message_id: "m-1".into(),
        },
        DetailType::PageFailed => TimelineEvent::PageFailed {
            step: 0,
            person: "hana".into(),
            channel: Channel::Email,
            error: "SES SendEmail failed: MessageRejected".into(),
        },
        DetailType::PageGivenUp => TimelineEvent::PageGivenUp {
            step: 0,
            person: "hana".into(),
            channel: Channel::Sms,
            contact: "mobile".into(),
            reason: "9 failed attempts in 61 min, the last: SNS Publish failed: Throttling".into(),
        },
        DetailType::EscalationWarning => TimelineEvent::Warning {
            step: 0,
            message: "schedule primary has nobody on call".into(),
        },
        DetailType::EscalationExhausted => TimelineEvent::EscalationExhausted { steps: 6 },
        DetailType::EscalationFailed => TimelineEvent::EscalationFailed {
            failure: serde_json::json!({"Error": "Klaxon.StepFailed", "Cause": "no incident"}),
        },
        DetailType::IncidentAcknowledged => TimelineEvent::Acknowledged {
            by: "Hana (+81******5678)".into(),
            via: "sms".into(),
        },
        DetailType::IncidentResolved => TimelineEvent::Resolved {
            by: "alarm OK".into(),
            via: "alarm".into(),
        },
        DetailType::ConfirmationSent => TimelineEvent::ConfirmationSent {
            to: "+819012345678".into(),
            message_id: "m-2".into(),
        },
        DetailType::ReplyKeywordReceived => TimelineEvent::Keyword {
            keyword: "HELP".into(),
            from: "+819012345678".into(),
        },
        DetailType::StatusUpdatePosted => TimelineEvent::StatusUpdate {
            status: crate::core::status_update::UpdateStatus::Identified,
            message: "決済APIの5xxはDBフェイルオーバーが原因です。復旧作業中。".into(),
            by: "hana".into(),
        },
        DetailType::CallProgressed => TimelineEvent::Call {
            call: "tx-1".into(),
            person: "hana".into(),
            note: CallNote::Ended {
                outcome: CallOutcome::NoAnswer,
                sip_code: Some(480),
            },
        },
        DetailType::NotificationDelivered => TimelineEvent::NotificationDelivered {
            target: "ops-slack".into(),
            destination: DestinationKind::Slack,
            event: "2026-12-01T08:00:00.000Z/opened".into(),
            status: Some(200),
            attempts: 1,
            reference: Some("1764576000.000100".into()),
        },
        DetailType::NotificationFailed => TimelineEvent::NotificationFailed {
            target: "partner-hook".into(),
            destination: DestinationKind::Webhook,
            event: "2026-12-01T08:00:00.000Z/opened".into(),
            status: Some(404),
            attempts: 1,
            error: "HTTP 404 Not Found".into(),
        },
    }
}

/// The bus event of a sample entry of `detail_type`, about a SEV1
/// incident of the `payments` service.
pub fn sample_bus_event(detail_type: DetailType) -> crate::core::events::BusEvent {
    use crate::testing::contract::{incident, t0};
    let mut i = incident("sample", "payments-api-5xx", t0());
    i.service = "payments".into();
    i.severity = Severity::Sev1;
    let entry = TimelineEntry::new(
        t0(),
        format!("sample-{}", detail_type.slug()),
        sample_event(detail_type),
    );
    crate::core::events::bus_event(&i.id, Some(&i), &entry).expect("not a self-test incident")
}

/// An entry of every detail-type, one second apart from `start`.
pub fn sample_entries(start: Timestamp) -> Vec<TimelineEntry> {
    DetailType::ALL
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let at = start + jiff::SignedDuration::from_secs(i as i64);
            TimelineEntry::new(at, format!("sample-{}", d.slug()), sample_event(d))
        })
        .collect()
}

/// The bus in memory. Like EventBridge it publishes in order and stops at
/// an event it rejects; a rejection lasts until [`FakeBus::accept_all`].
#[derive(Default, Debug)]
pub struct FakeBus {
    published: std::sync::Mutex<Vec<crate::core::events::BusEvent>>,
    reject: std::sync::Mutex<Option<(String, crate::ports::BackendError)>>,
}

impl FakeBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything published so far, in order (redeliveries included).
    pub fn published(&self) -> Vec<crate::core::events::BusEvent> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What was published, as EventBridge delivers an event to a target.
    pub fn delivered(&self) -> Vec<serde_json::Value> {
        self.published()
            .iter()
            .map(|e| {
                serde_json::json!({
                    "version": "0",
                    "source": crate::core::events::SOURCE,
                    "detail-type": e.detail_type.as_str(),
                    "time": crate::core::time::iso(e.time),
                    "detail": e.detail,
                })
            })
            .collect()
    }

    /// Rejects the event with this `detail.event_id` (and stops there).
    pub fn reject(&self, event_id: &str, error: crate::ports::BackendError) {
        *self.reject.lock().unwrap_or_else(|e| e.into_inner()) = Some((event_id.into(), error));
    }

    pub fn accept_all(&self) {
        *self.reject.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl crate::ports::EventBus for FakeBus {
    async fn publish(
        &self,
        events: &[crate::core::events::BusEvent],
    ) -> Result<(), crate::ports::PublishError> {
        let reject = self
            .reject
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        for (i, event) in events.iter().enumerate() {
            if let Some((id, error)) = &reject
                && event.event_id() == id
            {
                return Err(crate::ports::PublishError {
                    first_unpublished: i,
                    error: error.clone(),
                });
            }
            published.push(event.clone());
        }
        Ok(())
    }
}
