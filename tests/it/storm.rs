//! A small alarm storm: 100 distinct alarms, each delivered 5 times by the
//! EventBridge and SNS routes mixed, shuffled, 50 at a time, with the
//! escalator running. Every alarm must end as exactly one incident with
//! one first page, each state change recorded once. (`make storm` is the
//! 1,000 × 10 benchmark, the same code.)

use std::time::Duration;

use klaxon_local::storm::{Plan, run};

use crate::common::World;

#[tokio::test]
async fn a_storm_of_duplicate_deliveries_opens_one_incident_and_sends_one_page_per_alarm() {
    let w = World::new(600, 0).await;
    let plan = Plan {
        alarms: 100,
        deliveries: 5,
        concurrency: 50,
        pumps: 5,
        page_patience: Duration::from_secs(120),
    };
    let report = run(
        std::sync::Arc::clone(&w.local),
        &w.alarm_name("storm"),
        &w.alice,
        plan,
    )
    .await
    .expect("storm");
    report.print(&plan);
    assert!(report.clean(), "{report:#?}");
    assert_eq!(report.incidents_opened, 100);
    assert_eq!(report.first_pages, 100);
    assert_eq!(report.sms_pages, 100);
}
