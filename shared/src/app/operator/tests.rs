//! Operator status changes against the fakes.

use super::*;
use crate::core::incident::Status;
use crate::testing::{World, at};

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
