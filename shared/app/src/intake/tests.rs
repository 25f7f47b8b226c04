//! Intake against the fakes: GIVEN a world, WHEN an alarm state change
//! arrives, THEN the incident, its timeline and the escalation are right.

use super::*;
use crate::world::World;
use klaxon_core::incident::Status;
use klaxon_testing::{Op, alarm_event, at, transient};

const NAME: &str = "checkout-5xx";

async fn deliver(w: &World, state: &str, changed_at: Timestamp) -> IntakeOutcome {
    let mut outcomes = w
        .intake()
        .handle(&alarm_event(NAME, state, changed_at))
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

async fn opened(w: &World, changed_at: Timestamp) -> String {
    match deliver(w, "ALARM", changed_at).await {
        IntakeOutcome::Opened { incident_id } => incident_id,
        other => panic!("not opened: {other:?}"),
    }
}

#[tokio::test]
async fn an_alarm_opens_an_incident_classified_and_escalating() {
    // GIVEN no incident
    let w = World::default();
    // WHEN the alarm fires
    let id = opened(&w, at(-5)).await;
    // THEN it is open, classified by the rule, and its escalation started
    let i = w.incident(&id).await;
    assert_eq!(i.status, Status::Triggered);
    assert_eq!(i.service, "checkout");
    assert_eq!(i.decided_by, "rule:checkout");
    assert_eq!(i.opened_at, at(0), "Klaxon's clock");
    assert_eq!(i.last_alarm_at, at(0));
    assert_eq!(
        i.alarm_state_at,
        at(-5),
        "the alarm's own time, for ordering"
    );
    let (execution, hold) = w.escalations.started(&id).unwrap();
    assert_eq!(hold, 0);
    assert_eq!(i.escalation_execution, Some(execution));
    assert_eq!(
        w.kinds(&id).await,
        ["alarm_state", "classified", "escalation_started", "opened"]
    );
}

#[tokio::test]
async fn a_repeat_alarm_folds_into_the_open_incident() {
    let w = World::default();
    let id = opened(&w, at(0)).await;
    w.clock.advance(120);
    assert_eq!(
        deliver(&w, "ALARM", at(110)).await,
        IntakeOutcome::Folded {
            incident_id: id.clone(),
            alarm_count: 2
        }
    );
    let i = w.incident(&id).await;
    assert_eq!(i.last_alarm_at, at(120));
    assert_eq!(i.alarm_state_at, at(110));
    assert_eq!(w.escalations.start_calls(), 1, "one escalation");
}

#[tokio::test]
async fn a_redelivered_alarm_is_a_duplicate_and_finishes_an_interrupted_start() {
    // GIVEN the first delivery opened the incident but could not start its escalation
    let w = World::default();
    w.escalations.fail_next_start(transient("StartExecution"));
    let err = w
        .intake()
        .handle(&alarm_event(NAME, "ALARM", at(0)))
        .await
        .unwrap_err();
    assert!(err.retryable(), "{err}");
    let id = w
        .store
        .with(|s| s.incidents.keys().next().cloned())
        .unwrap();
    assert!(w.incident(&id).await.escalation_execution.is_none());
    // WHEN the same state change is delivered again
    w.clock.advance(30);
    let outcome = deliver(&w, "ALARM", at(0)).await;
    // THEN it is a duplicate, not counted, and the escalation now runs
    assert_eq!(
        outcome,
        IntakeOutcome::Duplicate {
            incident_id: id.clone()
        }
    );
    let i = w.incident(&id).await;
    assert_eq!(i.alarm_count, 1);
    assert!(i.escalation_execution.is_some());
    let alarms = w
        .kinds(&id)
        .await
        .iter()
        .filter(|k| **k == "alarm_state")
        .count();
    assert_eq!(alarms, 1);
}

#[tokio::test]
async fn ok_resolves_with_klaxon_times_even_when_the_alarm_times_are_old() {
    // GIVEN an incident opened by an ALARM whose state time is old
    let w = World::default();
    let id = opened(&w, at(-600)).await;
    // WHEN the OK arrives (its own time still before Klaxon opened the incident)
    w.clock.advance(60);
    let outcome = deliver(&w, "OK", at(-300)).await;
    // THEN it resolves; resolved_at is Klaxon's time, after opened_at
    assert_eq!(
        outcome,
        IntakeOutcome::Resolved {
            incident_id: id.clone()
        }
    );
    let i = w.incident(&id).await;
    assert_eq!(i.status, Status::Resolved);
    assert!(i.resolved_at.unwrap() >= i.opened_at);
    assert_eq!(i.resolved_at, Some(at(60)));
    let (execution, _) = w.escalations.started(&id).unwrap();
    assert_eq!(w.escalations.stopped()[0].0, execution);
    let kinds = w.kinds(&id).await;
    let opened_at = kinds.iter().position(|k| *k == "opened").unwrap();
    let resolved_at = kinds.iter().position(|k| *k == "resolved").unwrap();
    assert!(opened_at < resolved_at, "{kinds:?}");
    let times: Vec<_> = w.timeline(&id).await.iter().map(|e| e.at).collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]));
}

#[tokio::test]
async fn an_ok_older_than_the_alarm_that_opened_the_incident_does_not_resolve_it() {
    let w = World::default();
    let id = opened(&w, at(0)).await;
    w.clock.advance(10);
    let outcome = deliver(&w, "OK", at(-60)).await;
    assert!(
        matches!(outcome, IntakeOutcome::OutOfOrder { incident_id: Some(ref i), .. } if *i == id),
        "{outcome:?}"
    );
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    assert!(w.kinds(&id).await.contains(&"out_of_order"));
    assert!(w.escalations.stopped().is_empty());
}

#[tokio::test]
async fn an_ok_racing_a_newer_alarm_is_stale_and_does_not_resolve() {
    // GIVEN an open incident, and a newer ALARM folded in after intake read it
    let w = World::default();
    let id = opened(&w, at(0)).await;
    let newer = at(100);
    let target = id.clone();
    w.store.before(Op::Transition, move |s| {
        if let Some(i) = s.incidents.get_mut(&target) {
            i.alarm_state_at = newer;
        }
    });
    // WHEN an OK older than that ALARM is handled
    let outcome = deliver(&w, "OK", at(50)).await;
    // THEN the incident stays open
    assert!(
        matches!(outcome, IntakeOutcome::OutOfOrder { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
}

#[tokio::test]
async fn an_alarm_older_than_the_last_ok_does_not_open_a_new_incident() {
    // GIVEN an incident its OK resolved
    let w = World::default();
    let id = opened(&w, at(0)).await;
    w.clock.advance(60);
    deliver(&w, "OK", at(50)).await;
    // WHEN the opening ALARM is delivered again late (an EventBridge retry)
    w.clock.advance(60);
    let outcome = deliver(&w, "ALARM", at(0)).await;
    // THEN nothing opens; the resolved incident's timeline says why
    assert_eq!(
        outcome,
        IntakeOutcome::OutOfOrder {
            incident_id: Some(id.clone()),
            reason: w.timeline(&id).await.last().unwrap().event.summary(),
        }
    );
    assert_eq!(w.store.with(|s| s.incidents.len()), 1);
    assert!(w.kinds(&id).await.contains(&"out_of_order"));
}

#[tokio::test]
async fn an_ok_before_its_alarm_arrives_keeps_the_older_alarm_from_opening() {
    let w = World::default();
    assert!(matches!(
        deliver(&w, "OK", at(10)).await,
        IntakeOutcome::Ignored { .. }
    ));
    let outcome = deliver(&w, "ALARM", at(0)).await;
    assert_eq!(
        outcome,
        IntakeOutcome::OutOfOrder {
            incident_id: None,
            reason: outcome_reason(&outcome),
        }
    );
    assert!(w.store.with(|s| s.incidents.is_empty()));
    // A newer ALARM opens as usual.
    assert!(matches!(
        deliver(&w, "ALARM", at(20)).await,
        IntakeOutcome::Opened { .. }
    ));
}

fn outcome_reason(o: &IntakeOutcome) -> String {
    match o {
        IntakeOutcome::OutOfOrder { reason, .. } | IntakeOutcome::Ignored { reason } => {
            reason.clone()
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_incident_resolved_between_lookup_and_fold_is_opened_anew() {
    // GIVEN an open incident that a responder resolves just as a repeat arrives
    let w = World::default();
    let first = opened(&w, at(0)).await;
    let target = first.clone();
    w.store.before(Op::FoldRepeat, move |s| {
        s.set_status(&target, Status::Resolved, at(5), "ops");
    });
    // WHEN the repeat ALARM is handled
    w.clock.advance(30);
    let outcome = deliver(&w, "ALARM", at(20)).await;
    // THEN a new incident opens for it
    let IntakeOutcome::Opened { incident_id } = outcome else {
        panic!("{outcome:?}");
    };
    assert_ne!(incident_id, first);
    assert_eq!(w.incident(&first).await.alarm_count, 1);
}

#[tokio::test]
async fn a_taken_ack_code_is_drawn_again() {
    // GIVEN an open incident holding code 1234, and the next draw is 1234 again
    let w = World::default();
    w.ids.push_codes(&["1234", "1234", "5678"]);
    let first = opened(&w, at(0)).await;
    // WHEN another alarm opens an incident
    let second = match w
        .intake()
        .handle(&alarm_event("payments-latency", "ALARM", at(1)))
        .await
        .unwrap()
        .remove(0)
    {
        IntakeOutcome::Opened { incident_id } => incident_id,
        other => panic!("{other:?}"),
    };
    // THEN it gets a free code
    assert_eq!(w.incident(&first).await.ack_code, "1234");
    assert_eq!(w.incident(&second).await.ack_code, "5678");
}

#[tokio::test]
async fn a_concurrent_open_of_the_same_alarm_folds_into_it() {
    // GIVEN another delivery of the same alarm opens the incident first
    let w = World::default();
    let id = opened(&w, at(0)).await;
    w.store.with(|s| s.dedup.clear());
    let target = id.clone();
    let key = w.incident(&id).await.dedup_key;
    w.store.before(Op::Open, move |s| {
        s.dedup.insert(key, target);
    });
    // WHEN this delivery (a different state change) tries to open
    let outcome = deliver(&w, "ALARM", at(3)).await;
    // THEN it goes round and folds
    assert!(
        matches!(outcome, IntakeOutcome::Folded { ref incident_id, alarm_count: 2 } if *incident_id == id),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_alarm_soon_after_its_ok_is_a_flap_whose_paging_is_held() {
    let w = World::default();
    let first = opened(&w, at(0)).await;
    w.clock.advance(60);
    deliver(&w, "OK", at(55)).await;
    w.clock.advance(100);
    let second = opened(&w, at(150)).await;
    let (_, hold) = w.escalations.started(&second).unwrap();
    assert_eq!(hold, 500, "600 s window, 100 s after the OK");
    assert!(w.kinds(&second).await.contains(&"flapping"));
    assert_ne!(first, second);
}

#[tokio::test]
async fn insufficient_data_and_orphan_oks_are_ignored() {
    let w = World::default();
    assert!(matches!(
        deliver(&w, "INSUFFICIENT_DATA", at(0)).await,
        IntakeOutcome::Ignored { .. }
    ));
    assert!(matches!(
        deliver(&w, "OK", at(0)).await,
        IntakeOutcome::Ignored { .. }
    ));
    assert!(w.store.with(|s| s.incidents.is_empty()));
}

#[tokio::test]
async fn ok_leaves_the_incident_open_when_the_service_does_not_auto_resolve() {
    let w = World::new(&klaxon_testing::CONFIG.replace(
        "checkout: {escalation_policy: default, flapping_window_seconds: 600}",
        "checkout: {escalation_policy: default, auto_resolve: false}",
    ));
    let id = opened(&w, at(0)).await;
    let outcome = deliver(&w, "OK", at(10)).await;
    assert!(
        matches!(outcome, IntakeOutcome::Ignored { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    assert!(
        w.kinds(&id)
            .await
            .iter()
            .filter(|k| **k == "alarm_state")
            .count()
            == 2
    );
}

#[tokio::test]
async fn a_missing_or_invalid_configuration_fails_without_writing() {
    let w = World::default();
    w.config.set("version: 1\npeople: {}\n");
    let err = w
        .intake()
        .handle(&alarm_event(NAME, "ALARM", at(0)))
        .await
        .unwrap_err();
    assert!(
        !err.retryable(),
        "a broken configuration is not retried: {err}"
    );
    assert!(
        matches!(
            err,
            AppError::Config(klaxon_ports::ConfigLoadError::Invalid(_))
        ),
        "{err}"
    );
    let missing = klaxon_testing::StaticConfig::missing();
    let intake = Intake::<crate::world::FakePorts> {
        incidents: &w.store,
        memory: &w.store,
        escalations: &w.escalations,
        config: &missing,
        tags: &w.tags,
        clock: &w.clock,
        ids: &w.ids,
    };
    let err = intake
        .handle(&alarm_event(NAME, "ALARM", at(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AppError::Config(klaxon_ports::ConfigLoadError::Missing)
        ),
        "{err}"
    );
    assert!(w.store.with(|s| s.incidents.is_empty()));
}

#[tokio::test]
async fn an_event_that_is_not_an_alarm_is_rejected_for_good() {
    let w = World::default();
    let err = w
        .intake()
        .handle(&serde_json::json!({"hello": "world"}))
        .await
        .unwrap_err();
    assert!(!err.retryable());
}

#[tokio::test]
async fn a_store_failure_is_retryable_and_writes_nothing() {
    let w = World::default();
    w.store.fail_next(Op::Open, transient("TransactWriteItems"));
    let err = w
        .intake()
        .handle(&alarm_event(NAME, "ALARM", at(0)))
        .await
        .unwrap_err();
    assert!(err.retryable());
    assert!(w.store.with(|s| s.incidents.is_empty()));
    assert!(matches!(
        deliver(&w, "ALARM", at(0)).await,
        IntakeOutcome::Opened { .. }
    ));
}

#[tokio::test]
async fn a_redelivered_ok_stops_the_escalation_that_a_crashed_first_run_left_running() {
    // GIVEN the first OK resolved the incident, then failed to stop its escalation
    let w = World::default();
    let id = opened(&w, at(0)).await;
    w.escalations.fail_next_stop(transient("StopExecution"));
    w.clock.advance(60);
    let err = w
        .intake()
        .handle(&alarm_event(NAME, "OK", at(50)))
        .await
        .unwrap_err();
    assert!(err.retryable());
    assert_eq!(w.incident(&id).await.status, Status::Resolved);
    assert!(w.escalations.stopped().is_empty());
    // WHEN the OK is delivered again
    let outcome = deliver(&w, "OK", at(50)).await;
    // THEN the escalation is stopped, and the OK is on the timeline once
    assert_eq!(
        outcome,
        IntakeOutcome::Duplicate {
            incident_id: id.clone()
        }
    );
    let (execution, _) = w.escalations.started(&id).unwrap();
    assert_eq!(w.escalations.stopped()[0].0, execution);
    let oks = w
        .timeline(&id)
        .await
        .iter()
        .filter(|e| e.event.summary().starts_with("alarm OK"))
        .count();
    assert_eq!(oks, 1);
}

fn self_test_run() -> klaxon_core::self_test::Run {
    klaxon_core::self_test::Run {
        id: "20261121-RUN001".into(),
        account: "123456789012".into(),
        region: "ap-northeast-1".into(),
    }
}

#[tokio::test]
async fn a_self_test_alarm_opens_a_marked_incident_on_the_built_in_policy() {
    // GIVEN a configuration whose default route pages people
    let w = World::default();
    // WHEN the self-test's ALARM arrives
    let outcomes = w
        .intake()
        .handle(&self_test_run().event(AlarmState::Alarm, at(0)))
        .await
        .unwrap();
    let [IntakeOutcome::Opened { incident_id: id }] = outcomes.as_slice() else {
        panic!("{outcomes:?}");
    };
    // THEN the incident is the self-test's: marked, its own id and dedup
    // namespace, the built-in policy, and its escalation started
    let i = w.incident(id).await;
    assert!(i.self_test);
    assert!(id.starts_with("selftest-"), "{id}");
    assert!(i.dedup_key.starts_with("self-test|"), "{}", i.dedup_key);
    assert_eq!(i.policy, "klaxon-self-test");
    assert_eq!(i.service, "klaxon-self-test");
    assert_eq!(i.decided_by, "self-test");
    assert!(w.escalations.started(id).is_some());
    // AND its OK resolves it and stops the escalation
    let outcomes = w
        .intake()
        .handle(&self_test_run().event(AlarmState::Ok, at(5)))
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![IntakeOutcome::Resolved {
            incident_id: id.clone()
        }]
    );
    assert_eq!(w.escalations.stopped().len(), 1);
}

#[tokio::test]
async fn a_real_alarm_never_folds_into_a_self_test_incident() {
    // GIVEN a self-test incident open
    let w = World::default();
    w.intake()
        .handle(&self_test_run().event(AlarmState::Alarm, at(0)))
        .await
        .unwrap();
    // WHEN a real CloudWatch alarm with the same name and ARN fires
    let mut real = self_test_run().event(AlarmState::Alarm, at(1));
    real["source"] = "aws.cloudwatch".into();
    let outcomes = w.intake().handle(&real).await.unwrap();
    // THEN it opens a real incident of its own, routed by the configuration
    let [IntakeOutcome::Opened { incident_id: id }] = outcomes.as_slice() else {
        panic!("{outcomes:?}");
    };
    let i = w.incident(id).await;
    assert!(!i.self_test);
    assert_eq!(i.service, "general");
}
