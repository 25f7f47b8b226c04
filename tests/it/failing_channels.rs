//! A channel that keeps failing holds up nobody: the deployed workflow
//! moves through its levels on time with the channels that work, and the
//! failing page goes out once its channel is back.

use std::time::{Duration, Instant};

use klaxon::core::incident::TimelineEvent;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::faults::Fault;

use crate::common::{World, opened_id};

#[tokio::test]
async fn level_two_is_paged_on_time_by_email_while_level_ones_sms_keeps_failing() {
    // GIVEN Alice is paged by SMS on level 1 (10 s), Bob by email on level
    // 2, and every SMS send fails
    let (w, proxy) = World::behind_proxy().await;
    let bob = w.email("bob");
    w.local
        .apply_config(&format!(
            r#"
version: 1
people:
  alice: {{name: Alice, phone: "{alice}"}}
  bob: {{name: Bob, email: "{bob}"}}
services:
  checkout: {{escalation_policy: default}}
escalation_policies:
  default:
    levels:
      - {{targets: [alice], timeout_seconds: 10}}
      - {{targets: [bob], timeout_seconds: 600}}
routing:
  default: {{service: checkout, severity: SEV2}}
"#,
            alice = w.alice
        ))
        .await
        .unwrap();
    proxy.inject("sns", Some("Publish"), Fault::Status(500), 100_000);
    // WHEN an alarm opens an incident and the escalation runs
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("failing"),
        "ALARM",
        "2026-12-07T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let opened = Instant::now();
    let pump = w.pump();
    // THEN Bob is emailed at level 2's time, while Alice's SMS fails
    w.wait_for_email(&bob, 1).await;
    let emailed_after = opened.elapsed();
    assert!(w.sms_to(&w.alice).await.is_empty());
    let timeline = w.timeline(&id).await;
    let fired: Vec<_> = timeline
        .iter()
        .filter_map(|e| match e.event {
            TimelineEvent::LevelFired { step, .. } => Some((step, e.at)),
            _ => None,
        })
        .collect();
    assert_eq!(fired.len(), 2, "{fired:?}");
    let between = fired[1].1.duration_since(fired[0].1).as_secs_f64();
    assert!(
        (10.0..16.0).contains(&between),
        "level 2 fired {between} s after level 1, its timeout is 10 s"
    );
    assert!(
        timeline
            .iter()
            .any(|e| matches!(e.event, TimelineEvent::PageFailed { .. })),
        "{timeline:#?}"
    );
    // AND once SMS is back, Alice's level-1 text goes out, once
    proxy.heal();
    w.wait_for_sms(&w.alice, 1).await;
    pump.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.sms_to(&w.alice).await.len(), 1);
    assert!(
        emailed_after < Duration::from_secs(60),
        "Bob emailed {emailed_after:?} after the alarm"
    );
}
