//! Fixtures of the domain, for tests here and in the layers above (feature
//! `testing`): one timeline event of every detail-type, a bus event, a run
//! of entries, the cases' base time and an incident as intake builds one.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use super::alarm::AlarmState;
use super::classify::Severity;
use super::events::DetailType;
use super::incident::{AckCode, Channel, Incident, Status, TimelineEntry, TimelineEvent};
use super::notifications::DestinationKind;
use super::routing::Urgency;
use super::voice::{CallNote, CallOutcome};

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
            status: super::status_update::UpdateStatus::Identified,
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
pub fn sample_bus_event(detail_type: DetailType) -> super::events::BusEvent {
    let mut i = incident("sample", "payments-api-5xx", t0());
    i.service = "payments".into();
    i.severity = Severity::Sev1;
    let entry = TimelineEntry::new(
        t0(),
        format!("sample-{}", detail_type.slug()),
        sample_event(detail_type),
    );
    super::events::bus_event(&i.id, Some(&i), &entry).expect("not a self-test incident")
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

/// The base time of the cases.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A four-digit code unlikely to collide with another run's.
fn code(u: &str, salt: u32) -> String {
    let n = u
        .bytes()
        .fold(salt, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    AckCode::from_number(n).0
}

/// A triggered incident, as intake builds one.
pub fn incident(u: &str, name: &str, opened_at: Timestamp) -> Incident {
    let salt = name.bytes().map(u32::from).sum();
    Incident {
        id: format!("20261121-{}{name}", &u[..6]).to_uppercase(),
        title: format!("alarm {name}"),
        status: Status::Triggered,
        severity: Severity::Sev2,
        urgency: Urgency::High,
        service: "checkout".into(),
        policy: "default".into(),
        decided_by: "default".into(),
        severity_from: "default".into(),
        matched: vec!["alarm_name ~ *".into()],
        alarm_name: format!("alarm-{name}"),
        alarm_arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{u}-{name}"),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        dedup_key: format!("123456789012|us-east-1|{u}-{name}"),
        description: Some("severity:SEV2".into()),
        reason: "Threshold Crossed".into(),
        opened_at,
        last_alarm_at: opened_at,
        alarm_state_at: opened_at - SignedDuration::from_secs(5),
        alarm_count: 1,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        ack_code: code(u, salt),
        paged_numbers: BTreeSet::new(),
        escalation_execution: None,
        self_test: false,
    }
}
