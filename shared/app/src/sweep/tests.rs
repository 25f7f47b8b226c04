//! The sweep against the fakes, moving the clock instead of sleeping.

use super::*;
use crate::world::World;
use klaxon_testing::{FakeEscalations, Op, at, transient};

fn sweep(
    w: &World,
) -> Sweep<
    '_,
    klaxon_testing::MemoryStore,
    klaxon_testing::MemoryStore,
    FakeEscalations,
    klaxon_testing::FakeMetricLog,
> {
    Sweep {
        incidents: &w.store,
        paging: &w.store,
        escalations: &w.escalations,
        metrics: &w.metrics,
        clock: &w.clock,
        grace: DEFAULT_GRACE,
        exclude: only_self_test,
    }
}

async fn open(w: &World, name: &str) -> String {
    w.open_incident(name, at(0)).await
}

fn execution(w: &World, id: &str) -> Option<String> {
    w.store.with(|s| {
        s.incidents
            .get(id)
            .and_then(|i| i.escalation_execution.clone())
    })
}

#[tokio::test]
async fn an_escalation_that_ended_while_its_incident_pages_is_restarted_where_it_stood() {
    // GIVEN level 2 fired (step 1), then the execution failed
    let w = World::default();
    let id = open(&w, "checkout-5xx").await;
    w.escalator().run_step(&id, 0).await.unwrap();
    w.clock.advance(300);
    w.escalator().run_step(&id, 1).await.unwrap();
    let first = execution(&w, &id).unwrap();
    w.escalations.end(&first);
    // WHEN the sweep runs
    let report = sweep(&w).run().await.unwrap();
    // THEN the escalation is restarted at step 1 as generation 1, recorded
    // on the incident (an ack stops that one) and on its timeline
    let second = FakeEscalations::generation_of(&id, 1);
    assert_eq!(
        report.restarted,
        vec![Restarted {
            incident_id: id.clone(),
            execution: second.clone(),
            step: 1
        }]
    );
    assert_eq!(
        w.escalations.restarted(),
        vec![(id.clone(), 1, 1, second.clone())]
    );
    assert_eq!(execution(&w, &id), Some(second.clone()));
    let said = w.timeline(&id).await.into_iter().any(|e| {
        matches!(&e.event, TimelineEvent::Warning { message, .. }
            if message.starts_with(&format!("escalation restarted at step 1 as {second}: {first} has ended")))
    });
    assert!(said);
    // AND the incident found without an escalation, and its restart, are
    // counted for the operators' alarms
    assert_eq!(
        w.metrics.recorded(),
        vec![
            Metric::IncidentWithoutEscalation,
            Metric::EscalationRestarted
        ]
    );
    // AND the next sweep finds it running, and counts nothing
    let again = sweep(&w).run().await.unwrap();
    assert_eq!((again.checked, again.running), (1, 1));
    assert!(again.restarted.is_empty());
    assert_eq!(w.metrics.recorded().len(), 2);
    // AND should that one end too, the next generation follows
    w.escalations.end(&second);
    let third = sweep(&w).run().await.unwrap();
    assert_eq!(
        third.restarted[0].execution,
        FakeEscalations::generation_of(&id, 2)
    );
}

#[tokio::test]
async fn an_incident_whose_escalation_never_started_is_started_once_the_grace_has_passed() {
    // GIVEN intake opened the incident but could not start its escalation
    let w = World::default();
    let id = open(&w, "checkout-5xx").await;
    w.store.with(|s| {
        if let Some(i) = s.incidents.get_mut(&id) {
            i.escalation_execution = None;
        }
    });
    // WHEN the sweep runs within the grace, then after it
    w.clock.advance(30);
    assert_eq!(
        sweep(&w).run().await.unwrap().checked,
        0,
        "intake may still start it"
    );
    w.clock.advance(30);
    let report = sweep(&w).run().await.unwrap();
    // THEN its first generation starts at step 0
    assert_eq!(report.restarted.len(), 1);
    assert_eq!(
        w.escalations.restarted(),
        vec![(id.clone(), 0, 0, FakeEscalations::generation_of(&id, 0))]
    );
    assert_eq!(execution(&w, &id), Some(FakeEscalations::execution_of(&id)));
}

#[tokio::test]
async fn acknowledged_self_test_and_excluded_incidents_are_left_alone() {
    let w = World::default();
    let acked = open(&w, "checkout-5xx").await;
    let other = open(&w, "api-5xx").await;
    for id in [&acked, &other] {
        let e = execution(&w, id).unwrap();
        w.escalations.end(&e);
    }
    w.store
        .with(|s| s.set_status(&acked, Status::Acknowledged, at(1), "Aiko"));
    w.clock.advance(120);
    let excluded = Sweep {
        exclude: |i| i.alarm_name.starts_with("api-"),
        ..sweep(&w)
    };
    let report = excluded.run().await.unwrap();
    assert_eq!(report.checked, 0);
    assert!(w.escalations.restarted().is_empty());
}

#[tokio::test]
async fn an_ack_that_lands_before_the_restart_is_recorded_wins_and_nothing_restarts() {
    let w = World::default();
    let id = open(&w, "checkout-5xx").await;
    w.escalations.end(&execution(&w, &id).unwrap());
    w.clock.advance(120);
    let acked = id.clone();
    w.store.before(Op::ReplaceEscalation, move |s| {
        s.set_status(&acked, Status::Acknowledged, at(119), "Aiko");
    });
    let report = sweep(&w).run().await.unwrap();
    assert_eq!(report.raced, vec![id.clone()]);
    assert!(w.escalations.restarted().is_empty());
    assert!(!w.metrics.recorded().contains(&Metric::EscalationRestarted));
}

#[tokio::test]
async fn a_restart_that_fails_is_reported_and_the_next_sweep_starts_the_generation_after() {
    let w = World::default();
    let id = open(&w, "checkout-5xx").await;
    w.escalations.end(&execution(&w, &id).unwrap());
    w.clock.advance(120);
    w.escalations.fail_next_start(transient("StartExecution"));
    let err = sweep(&w).run().await.unwrap_err();
    assert!(err.retryable(), "{err}");
    // (the incident without an escalation is counted, though not restarted)
    assert_eq!(
        w.metrics.recorded(),
        vec![Metric::IncidentWithoutEscalation]
    );
    // (recorded but never started: it has ended, as one that does not exist)
    let report = sweep(&w).run().await.unwrap();
    assert_eq!(
        report.restarted[0].execution,
        FakeEscalations::generation_of(&id, 2)
    );
}
