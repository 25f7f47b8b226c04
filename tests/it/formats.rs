//! The SNS-wrapped and direct alarm-action deliveries produce the same
//! incident as the EventBridge one.

use klaxon_app::intake::IntakeOutcome;
use klaxon_local::events::{Delivery, alarm};

use crate::common::{World, opened_id};

#[tokio::test]
async fn sns_and_alarm_action_deliveries_open_the_same_incident_as_eventbridge() {
    let w = World::new(60, 0).await;
    let mut incidents = Vec::new();
    for (i, delivery) in [Delivery::EventBridge, Delivery::Sns, Delivery::AlarmAction]
        .into_iter()
        .enumerate()
    {
        let name = w.alarm_name(&format!("payments-api-{i}"));
        let event = alarm(delivery, &name, "ALARM", "2026-11-21T06:00:00.000Z").unwrap();
        let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
        incidents.push(w.incident(&id).await);
    }
    for i in &incidents {
        assert_eq!(i.service, "payments", "routing rule applied");
        assert_eq!(i.decided_by, "rule:payments");
        assert_eq!(i.severity.as_str(), "SEV1");
        assert_eq!(i.severity_from, "description");
        assert_eq!(i.account, "123456789012");
        assert_eq!(i.region, "ap-northeast-1");
        assert_eq!(i.description, incidents[0].description);
        assert_eq!(i.alarm_state_at, incidents[0].alarm_state_at);
    }
}

#[tokio::test]
async fn one_state_change_through_two_routes_is_one_incident() {
    let w = World::new(60, 0).await;
    let name = w.alarm_name("both-routes");
    let eb = alarm(
        Delivery::EventBridge,
        &name,
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let sns = alarm(Delivery::Sns, &name, "ALARM", "2026-11-21T06:00:00.000Z").unwrap();
    let id = opened_id(&w.local.deliver_alarm(&eb).await.unwrap());
    assert_eq!(
        w.local.deliver_alarm(&sns).await.unwrap(),
        vec![IntakeOutcome::Duplicate { incident_id: id }]
    );
}
