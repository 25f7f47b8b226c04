//! The scenario every handler test starts from: the applied
//! configuration (Aiko on call, Ben behind her), their numbers, the start
//! time and an alarm event as EventBridge delivers it. `klaxon_app::world`
//! builds a whole Klaxon on fakes around it.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use klaxon_core::time::iso;

/// Aiko is on call (schedule `primary`) on level 1: email at once, SMS
/// after 60 s; Ben on level 2; 300 s per level, the policy runs twice.
pub const CONFIG: &str = r#"
version: 1
people:
  aiko:
    name: Aiko Tanaka
    time_zone: Asia/Tokyo
    phone: "+819012340001"
    email: aiko@example.com
    notification_rules:
      high:
        - {channel: email, after_seconds: 0}
        - {channel: sms, after_seconds: 60}
  ben:
    name: Ben Miller
    time_zone: America/Los_Angeles
    phone: "+14155550102"
services:
  general: {escalation_policy: default}
  checkout: {escalation_policy: default, flapping_window_seconds: 600}
schedules:
  primary:
    time_zone: Asia/Tokyo
    layers:
      - name: aiko-always
        rotation: daily
        start: 2026-01-01
        participants: [aiko]
escalation_policies:
  default:
    repeat: 1
    levels:
      - targets: [{schedule: primary}]
        timeout_seconds: 300
      - targets: [ben]
        timeout_seconds: 300
routing:
  default: {service: general, severity: SEV3}
  rules:
    - name: checkout
      match: {alarm_name: "checkout-*"}
      service: checkout
      severity: SEV2
"#;

/// Aiko's and Ben's numbers.
pub const AIKO: &str = "+819012340001";
pub const BEN: &str = "+14155550102";

/// When every scenario starts.
pub fn start() -> Timestamp {
    "2026-11-21T06:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `secs` after the start.
pub fn at(secs: i64) -> Timestamp {
    start() + SignedDuration::from_secs(secs)
}

/// The EventBridge event for alarm `name` moving to `state` at `changed_at`
/// (CloudWatch's clock).
pub fn alarm_event(name: &str, state: &str, changed_at: Timestamp) -> Value {
    json!({
        "version": "0",
        "id": format!("{name}-{state}-{}", changed_at.as_millisecond()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": iso(changed_at),
        "region": "ap-northeast-1",
        "resources": [format!("arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:{name}")],
        "detail": {
            "alarmName": name,
            "state": {
                "value": state,
                "reason": format!("{name} went {state}"),
                "timestamp": iso(changed_at)
            },
            "configuration": {
                "description": "test alarm",
                "metrics": []
            }
        }
    })
}
