//! The escalation sweep against the deployed stack, as its own role: an
//! incident left without a running escalation is picked up again.

use jiff::SignedDuration;
use klaxon_core::incident::TimelineEvent;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::faults::Fault;
use klaxon_local::ids;
use klaxon_ports::Incidents;

use crate::common::World;

#[tokio::test]
async fn an_incident_whose_escalation_could_not_start_is_restarted_by_the_sweep_and_pages() {
    // GIVEN Step Functions refuses every StartExecution while an alarm
    // opens an incident
    let (w, proxy) = World::behind_proxy().await;
    proxy.inject(
        "states",
        Some("StartExecution"),
        Fault::Status(500),
        100_000,
    );
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("sweep"),
        "ALARM",
        "2026-12-07T06:00:00.000Z",
    )
    .unwrap();
    let refused = w.local.deliver_alarm(&event).await.unwrap_err();
    assert!(refused.retryable(), "{refused}");
    let open = w.local.store.list_open().await.unwrap();
    let incident = open
        .iter()
        .find(|i| i.alarm_name == w.alarm_name("sweep"))
        .expect("the incident was committed before the start failed");
    assert_eq!(incident.escalation_execution, None);
    // WHEN Step Functions is back and the sweep runs (as it would within
    // its 2-minute schedule, the incident past its 1-minute grace)
    proxy.heal();
    let report = w
        .local
        .sweep_handler(SignedDuration::ZERO)
        .run()
        .await
        .unwrap();
    // THEN the escalation starts where it stood (step 0), recorded on the
    // incident, and the responder is paged
    assert_eq!(report.restarted.len(), 1, "{report:?}");
    let restarted = &report.restarted[0];
    assert_eq!(
        (restarted.incident_id.as_str(), restarted.step),
        (incident.id.as_str(), 0)
    );
    let pump = w.pump();
    w.wait_for_sms(&w.alice, 1).await;
    pump.stop().await;
    let now = w.local.store.get(&incident.id).await.unwrap().unwrap();
    assert_eq!(
        now.escalation_execution.as_deref(),
        Some(restarted.execution.as_str())
    );
    assert!(w.timeline(&incident.id).await.iter().any(|e| matches!(&e.event,
        TimelineEvent::Warning { message, .. } if message.starts_with("escalation restarted at step 0"))));
    // AND the next sweep finds it running and leaves it
    let again = w
        .local
        .sweep_handler(SignedDuration::ZERO)
        .run()
        .await
        .unwrap();
    assert!(again.restarted.is_empty(), "{again:?}");
    // AND every call the sweep made was its role's to make, and doctor
    // asks about each
    crate::iam::every_call_allowed_and_checked_by_doctor(&w, ids::ESCALATION_SWEEP).await;
}
