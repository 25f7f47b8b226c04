//! Klaxon's scheduled self-test, as the domain sees it: a synthetic alarm
//! that goes through the whole paging path to a sink that pages nobody.
//!
//! A self-test alarm is recognised by two things together: its event
//! source ([`EVENT_SOURCE`], which no CloudWatch alarm and no EventBridge
//! rule of Klaxon's can deliver: only a direct invocation of the intake
//! function) and its name under [`ALARM_PREFIX`]. A real alarm named
//! `klaxon-self-test-...` is routed by the configuration like any other.
//!
//! A self-test incident:
//! * has its own dedup namespace ([`DEDUP_PREFIX`]), so it can never fold
//!   into, or be resolved with, a real incident (nor a real alarm with one);
//! * has an id under [`INCIDENT_ID_PREFIX`], so every item stored for it
//!   can expire ([`expires_at`]) without the store reading the incident;
//! * follows the built-in [`policy`], never the configuration's: one level
//!   whose one target is the [`SINK`], recorded as a page on the
//!   `self_test` channel through the same claim as a real page, sent to
//!   nobody.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::alarm::AlarmState;
use super::classify::Severity;
use super::policy::{EscalationPolicy, Level, Target};
use super::routing::{Classification, Decision, Urgency};
use super::time::iso;

/// The event source of a self-test alarm (CloudWatch's is `aws.cloudwatch`).
pub const EVENT_SOURCE: &str = "klaxon.self-test";
/// Every self-test alarm is named `klaxon-self-test-<run id>`.
pub const ALARM_PREFIX: &str = "klaxon-self-test-";
/// Dedup keys of self-test alarms start with this; real keys start with an
/// account id.
pub const DEDUP_PREFIX: &str = "self-test|";
/// Self-test incident ids: `selftest-20261121-K7Q2XM`.
pub const INCIDENT_ID_PREFIX: &str = "selftest-";
/// The service, policy and routing decision of every self-test incident.
pub const SERVICE: &str = "klaxon-self-test";
pub const POLICY: &str = "klaxon-self-test";
pub const DECIDED_BY: &str = "self-test";
/// The one target of the built-in policy: no person, no contact.
pub const SINK: &str = "klaxon-self-test-sink";
/// How long the sink's level waits for the self-test's OK before the
/// escalation ends by itself (the self-test resolves within seconds).
pub const LEVEL_TIMEOUT_SECS: u32 = 120;
/// How long a self-test incident's items are kept (DynamoDB TTL).
pub const RETENTION_SECS: i64 = 7 * 24 * 60 * 60;

/// The built-in escalation policy of self-test incidents: the sink, once.
pub fn policy() -> EscalationPolicy {
    EscalationPolicy {
        levels: vec![Level {
            targets: vec![Target::Person(SINK.into())],
            timeout_minutes: None,
            timeout_seconds: Some(LEVEL_TIMEOUT_SECS),
        }],
        repeat: 0,
    }
}

/// The routing decision of every self-test alarm, whatever the
/// configuration says.
pub fn decision() -> Decision {
    Decision {
        classification: Classification {
            service: SERVICE.into(),
            severity: Severity::Sev4,
            urgency: Some(Urgency::Low),
            policy: Some(POLICY.into()),
            rule: None,
            severity_from: DECIDED_BY.into(),
            matched: Vec::new(),
        },
        urgency: Urgency::Low,
        policy: POLICY.into(),
    }
}

/// The id of a self-test incident, from a freshly drawn incident id.
pub fn incident_id(drawn: &str) -> String {
    format!("{INCIDENT_ID_PREFIX}{drawn}")
}

/// Whether an incident id is a self-test's.
pub fn is_self_test_id(incident_id: &str) -> bool {
    incident_id.starts_with(INCIDENT_ID_PREFIX)
}

/// When an item of incident `incident_id` written at `at` expires (epoch
/// seconds, DynamoDB TTL): only a self-test's items do.
pub fn expires_at(incident_id: &str, at: Timestamp) -> Option<i64> {
    is_self_test_id(incident_id).then(|| at.as_second().saturating_add(RETENTION_SECS))
}

/// One self-test run: its id, and the account and region its synthetic
/// alarm claims to be from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: String,
    pub account: String,
    pub region: String,
}

impl Run {
    pub fn alarm_name(&self) -> String {
        format!("{ALARM_PREFIX}{}", self.id)
    }

    pub fn alarm_arn(&self) -> String {
        format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{}",
            self.region,
            self.account,
            self.alarm_name()
        )
    }

    /// The synthetic alarm's state change to `state` at `at`, shaped as the
    /// EventBridge event CloudWatch sends, from [`EVENT_SOURCE`].
    pub fn event(&self, state: AlarmState, at: Timestamp) -> Value {
        let previous = match state {
            AlarmState::Ok => AlarmState::Alarm,
            _ => AlarmState::Ok,
        };
        json!({
            "version": "0",
            "id": format!("{}-{}", self.alarm_name(), state.as_str()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": EVENT_SOURCE,
            "account": self.account,
            "time": iso(at),
            "region": self.region,
            "resources": [self.alarm_arn()],
            "detail": {
                "alarmName": self.alarm_name(),
                "state": {
                    "value": state.as_str(),
                    "reason": format!("Klaxon self-test run {}", self.id),
                    "timestamp": iso(at),
                },
                "previousState": {"value": previous.as_str()},
                "configuration": {
                    "description": "Klaxon's scheduled self-test: pages nobody",
                    "metrics": [],
                },
            },
        })
    }
}

/// The time of the OK that ends a run: now, but never before the ALARM it
/// answers (an OK older than the ALARM would not resolve).
pub fn ok_time(alarm_at: Timestamp, now: Timestamp) -> Timestamp {
    now.max(alarm_at + SignedDuration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::{Route, parse_direct_event, parse_sns_message};

    fn run() -> Run {
        Run {
            id: "20261121-000001".into(),
            account: "123456789012".into(),
            region: "ap-northeast-1".into(),
        }
    }

    fn at() -> Timestamp {
        "2026-11-21T06:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_run_event_parses_as_a_self_test_alarm() {
        let change = parse_direct_event(&run().event(AlarmState::Alarm, at())).unwrap();
        assert_eq!(change.route, Route::SelfTest);
        assert_eq!(change.alarm_name, "klaxon-self-test-20261121-000001");
        assert_eq!(change.state, AlarmState::Alarm);
        assert_eq!(change.changed_at, at());
        let ok = parse_direct_event(&run().event(AlarmState::Ok, at())).unwrap();
        assert_eq!(ok.state, AlarmState::Ok);
        assert_eq!(ok.previous_state, Some(AlarmState::Alarm));
    }

    #[test]
    fn a_self_test_event_inside_sns_is_refused() {
        let event = run().event(AlarmState::Alarm, at()).to_string();
        assert!(parse_sns_message(&event).is_err());
    }

    #[test]
    fn the_self_test_source_needs_the_reserved_name() {
        let mut event = run().event(AlarmState::Alarm, at());
        event["detail"]["alarmName"] = json!("checkout-5xx");
        assert!(parse_direct_event(&event).is_err());
    }

    #[test]
    fn a_real_alarm_with_the_reserved_name_is_a_real_alarm() {
        let mut event = run().event(AlarmState::Alarm, at());
        event["source"] = json!("aws.cloudwatch");
        let change = parse_direct_event(&event).unwrap();
        assert_eq!(change.route, Route::EventBridge);
    }

    #[test]
    fn only_self_test_ids_expire() {
        let id = incident_id("20261121-K7Q2XM");
        assert_eq!(id, "selftest-20261121-K7Q2XM");
        assert_eq!(
            expires_at(&id, at()),
            Some(at().as_second() + RETENTION_SECS)
        );
        assert_eq!(expires_at("20261121-K7Q2XM", at()), None);
    }

    #[test]
    fn the_ok_never_precedes_the_alarm() {
        assert!(ok_time(at(), at()) > at());
        let later = at() + SignedDuration::from_secs(5);
        assert_eq!(ok_time(at(), later), later);
    }

    #[test]
    fn the_built_in_policy_pages_only_the_sink_once() {
        let p = policy();
        assert_eq!(p.repeat, 0);
        assert_eq!(p.levels.len(), 1);
        assert_eq!(p.levels[0].targets, vec![Target::Person(SINK.into())]);
        assert_eq!(p.levels[0].timeout_secs(), LEVEL_TIMEOUT_SECS);
    }
}
