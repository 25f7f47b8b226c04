//! Operator status changes against the fakes.

use super::*;
use crate::world::World;
use klaxon_core::incident::{Status, TimelineEntry, TimelineEvent};
use klaxon_core::status_update::UpdateStatus;
use klaxon_ports::Incidents;
use klaxon_testing::at;

#[tokio::test]
async fn an_operator_acknowledges_then_resolves_and_escalation_stops() {
    let w = World::default();
    let id = w.open_incident("checkout-5xx", at(0)).await;
    w.clock.advance(90);
    let acked = change_status(
        &w.store,
        &w.escalations,
        &w.clock,
        &id,
        Transition::Acknowledge,
        "hana",
    )
    .await
    .unwrap();
    let TransitionOutcome::Done(i) = acked else {
        panic!("{acked:?}");
    };
    assert_eq!(i.status, Status::Acknowledged);
    assert_eq!(i.acknowledged_at, Some(at(90)));
    assert_eq!(w.escalations.stopped()[0].1, "acknowledged from the CLI");
    let again = change_status(
        &w.store,
        &w.escalations,
        &w.clock,
        &id,
        Transition::Acknowledge,
        "ben",
    )
    .await
    .unwrap();
    assert_eq!(again, TransitionOutcome::Refused(Status::Acknowledged));
    w.clock.advance(30);
    let resolved = change_status(
        &w.store,
        &w.escalations,
        &w.clock,
        &id,
        Transition::Resolve,
        "hana",
    )
    .await
    .unwrap();
    assert!(matches!(resolved, TransitionOutcome::Done(ref i) if i.resolved_at == Some(at(120))));
}

#[tokio::test]
async fn an_unknown_incident_is_not_found() {
    let w = World::default();
    let outcome = change_status(
        &w.store,
        &w.escalations,
        &w.clock,
        "20261121-NOSUCH",
        Transition::Resolve,
        "hana",
    )
    .await
    .unwrap();
    assert_eq!(outcome, TransitionOutcome::NotFound);
}

#[tokio::test]
async fn listings_leave_self_test_incidents_out_unless_asked() {
    // GIVEN a real incident and a self-test's, both open
    let w = World::default();
    let real = w.open_incident("checkout-5xx", at(0)).await;
    let run = klaxon_core::self_test::Run {
        id: "run-1".into(),
        account: "123456789012".into(),
        region: "ap-northeast-1".into(),
    };
    let outcomes = w
        .intake()
        .handle(&run.event(klaxon_core::alarm::AlarmState::Alarm, at(1)))
        .await
        .unwrap();
    let [crate::intake::IntakeOutcome::Opened { incident_id: test }] = outcomes.as_slice() else {
        panic!("{outcomes:?}");
    };
    let ids = |list: Vec<Incident>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
    // WHEN the open incidents are listed, THEN only the real one shows
    let open = list_incidents(&w.store, None, false).await.unwrap();
    assert_eq!(ids(open), vec![real.clone()]);
    // WHEN self-tests are asked for, THEN both show, newest first
    let all = list_incidents(&w.store, None, true).await.unwrap();
    assert_eq!(ids(all), vec![test.clone(), real.clone()]);
    // AND the month's listing behaves the same
    let month = list_incidents(&w.store, Some("2026-11"), false)
        .await
        .unwrap();
    assert_eq!(ids(month), vec![real]);
}

#[tokio::test]
async fn a_status_update_goes_on_the_timeline_and_keeps_its_status_until_changed() {
    let w = World::default();
    let id = w.open_incident("checkout-5xx", at(0)).await;
    w.clock.advance(60);
    let first = post_update(&w.store, &w.clock, &id, None, "  Looking into it. ", "hana")
        .await
        .unwrap();
    let UpdateOutcome::Posted(first) = first else {
        panic!("{first:?}");
    };
    assert_eq!(
        first.event,
        TimelineEvent::StatusUpdate {
            status: UpdateStatus::Investigating,
            message: "Looking into it.".into(),
            by: "hana".into(),
        }
    );
    w.clock.advance(60);
    post_update(
        &w.store,
        &w.clock,
        &id,
        Some(UpdateStatus::Identified),
        "DB failover.",
        "hana",
    )
    .await
    .unwrap();
    w.clock.advance(60);
    let third = post_update(&w.store, &w.clock, &id, None, "Still on it.", "ben")
        .await
        .unwrap();
    assert!(matches!(
        third,
        UpdateOutcome::Posted(TimelineEntry {
            event: TimelineEvent::StatusUpdate {
                status: UpdateStatus::Identified,
                ..
            },
            ..
        })
    ));
    let updates = w
        .store
        .timeline(&id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.kind() == "status_update")
        .count();
    assert_eq!(updates, 3);
    let i = w.store.get(&id).await.unwrap().unwrap();
    assert_eq!(i.status, Status::Triggered, "an update changes no status");
}

#[tokio::test]
async fn an_empty_update_or_an_unknown_incident_posts_nothing() {
    let w = World::default();
    let id = w.open_incident("checkout-5xx", at(0)).await;
    let before = w.store.timeline(&id).await.unwrap().len();
    let empty = post_update(&w.store, &w.clock, &id, None, " ", "hana")
        .await
        .unwrap();
    assert!(matches!(empty, UpdateOutcome::Invalid(ref why) if why.contains("empty")));
    let gone = post_update(&w.store, &w.clock, "20000101-NOPE00", None, "hi", "hana")
        .await
        .unwrap();
    assert_eq!(gone, UpdateOutcome::NotFound);
    assert_eq!(w.store.timeline(&id).await.unwrap().len(), before);
}
