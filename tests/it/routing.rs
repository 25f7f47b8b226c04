//! Routing against the emulator: rules on alarm tags, and a failure to read
//! the tags never stops the page.

use std::collections::BTreeMap;

use klaxon_local::events::{Delivery, alarm};
use klaxon_testing::FakeTags;

use crate::common::{World, opened_id};

fn yaml(w: &World) -> String {
    crate::common::oncall_yaml(w, 30, 0).replace(
        "  rules:\n",
        "  rules:\n    - name: by-tag\n      match: {tags: {team: payments, env: \"prod*\"}}\n      service: payments\n      severity: SEV1\n",
    )
}

/// Tags as CloudWatch returns them (`FakeTags` answers an alarm it does not
/// know as CloudWatch does). moto 5.2.5 does not speak the CBOR protocol of
/// the Rust CloudWatch SDK, so the adapter itself is checked against the
/// tags contract with a mocked client (`shared/aws/src/cloudwatch.rs`);
/// this checks what intake does with the tags against the emulator.
fn known_tags(tags: BTreeMap<String, BTreeMap<String, String>>) -> FakeTags {
    FakeTags { tags, fail: false }
}

#[tokio::test]
async fn a_rule_on_alarm_tags_routes_by_the_alarms_tags() {
    let w = World::bare().await;
    w.local.apply_config(&yaml(&w)).await.expect("apply");
    let tagged = w.alarm_name("orders-latency");
    let other = w.alarm_name("orders-errors");
    let arn = |name: &str| format!("arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:{name}");
    let tags = known_tags(BTreeMap::from([
        (
            arn(&tagged),
            BTreeMap::from([
                ("team".to_string(), "payments".to_string()),
                ("env".to_string(), "production".to_string()),
            ]),
        ),
        (
            arn(&other),
            BTreeMap::from([("team".to_string(), "search".to_string())]),
        ),
    ]));
    let intake = w.local.intake(&tags);
    let at = "2026-11-21T06:00:00.000Z";
    let event = alarm(Delivery::EventBridge, &tagged, "ALARM", at).unwrap();
    let id = opened_id(&intake.handle(&event).await.unwrap());
    let incident = w.incident(&id).await;
    assert_eq!(incident.decided_by, "rule:by-tag");
    assert_eq!(incident.service, "payments");
    assert!(
        incident.matched.iter().any(|m| m.contains("team=payments")),
        "{:?}",
        incident.matched
    );
    let event = alarm(Delivery::EventBridge, &other, "ALARM", at).unwrap();
    let id = opened_id(&intake.handle(&event).await.unwrap());
    assert_eq!(w.incident(&id).await.decided_by, "default");
}

#[tokio::test]
async fn an_alarm_whose_tags_cannot_be_read_takes_the_next_route_and_still_pages() {
    let w = World::bare().await;
    w.local.apply_config(&yaml(&w)).await.expect("apply");
    let pump = w.pump();
    // Reading the tags fails (in moto the call is not served at all; on AWS
    // it could be a missing permission or throttling).
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("ghost"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let incident = w.incident(&id).await;
    assert_eq!(incident.decided_by, "default");
    w.wait_for_sms(&w.alice, 1).await;
    pump.stop().await;
}
