//! A small alarm storm: 100 distinct alarms, each delivered 5 times by the
//! EventBridge and SNS routes mixed, shuffled, 50 at a time. Every alarm
//! must end as exactly one open incident with one escalation, and each
//! state change recorded once. (`make storm` is the 1,000 × 10 benchmark.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use klaxon::app::intake::IntakeOutcome;
use klaxon::ports::Incidents;
use klaxon_local::events::{Delivery, alarm};
use rand::seq::SliceRandom;

use crate::common::World;

const ALARMS: usize = 100;
const DELIVERIES: usize = 5;
const CONCURRENCY: usize = 50;

#[tokio::test]
async fn a_storm_of_duplicate_deliveries_opens_one_incident_per_alarm() {
    let w = World::new(600, 0).await;
    let mut events = Vec::with_capacity(ALARMS * DELIVERIES);
    for a in 0..ALARMS {
        let name = w.alarm_name(&format!("storm-{a:03}"));
        for d in 0..DELIVERIES {
            let route = if d % 2 == 0 {
                Delivery::EventBridge
            } else {
                Delivery::Sns
            };
            events.push((
                name.clone(),
                alarm(route, &name, "ALARM", "2026-11-21T06:00:00.000Z").unwrap(),
            ));
        }
    }
    events.shuffle(&mut rand::rng());
    let local = Arc::clone(&w.local);
    let mut outcomes: BTreeMap<String, Vec<IntakeOutcome>> = BTreeMap::new();
    for chunk in events.chunks(CONCURRENCY) {
        let mut tasks = Vec::with_capacity(chunk.len());
        for (name, event) in chunk.iter().cloned() {
            let local = Arc::clone(&local);
            tasks.push(tokio::spawn(async move {
                (name, local.deliver_alarm(&event).await)
            }));
        }
        for task in tasks {
            let (name, result) = task.await.expect("delivery task");
            let mut result = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            outcomes.entry(name).or_default().append(&mut result);
        }
    }
    let open = w.local.store.list_open().await.unwrap();
    let mine: Vec<_> = open
        .iter()
        .filter(|i| i.alarm_name.contains(&w.tag))
        .collect();
    assert_eq!(mine.len(), ALARMS, "one incident per alarm");
    let executions: BTreeSet<_> = mine
        .iter()
        .map(|i| i.escalation_execution.clone().expect("escalation recorded"))
        .collect();
    assert_eq!(executions.len(), ALARMS, "one escalation per incident");
    for (name, results) in &outcomes {
        let opened = results
            .iter()
            .filter(|o| matches!(o, IntakeOutcome::Opened { .. }))
            .count();
        let duplicates = results
            .iter()
            .filter(|o| matches!(o, IntakeOutcome::Duplicate { .. }))
            .count();
        assert_eq!(
            (opened, duplicates),
            (1, DELIVERIES - 1),
            "{name}: {results:?}"
        );
    }
    for incident in mine.iter().take(10) {
        let alarms = w
            .timeline(&incident.id)
            .await
            .iter()
            .filter(|e| e.event.kind() == "alarm_state")
            .count();
        assert_eq!(alarms, 1, "{}: the state change recorded once", incident.id);
        assert_eq!(incident.alarm_count, 1);
    }
}
