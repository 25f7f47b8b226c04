//! Escalation steps against the fakes, moving the clock instead of sleeping.

use super::*;
use crate::world::World;
use klaxon_core::incident::Status;
use klaxon_ports::BackendError;
use klaxon_testing::{AIKO, BEN, CONFIG, Op, at, permanent, transient};

async fn open(w: &World) -> String {
    w.open_incident("checkout-5xx", at(0)).await
}

fn next(step: u32, wait_seconds: u32, id: &str) -> StepResult {
    StepResult {
        incident_id: id.into(),
        step,
        wait_seconds,
        done: false,
    }
}

fn done(step: u32, id: &str) -> StepResult {
    StepResult {
        incident_id: id.into(),
        step,
        wait_seconds: 0,
        done: true,
    }
}

#[tokio::test]
async fn a_level_emails_at_once_texts_later_then_escalates() {
    // GIVEN an incident; Aiko is on call: email at once, SMS after 60 s
    let w = World::default();
    let id = open(&w).await;
    // WHEN the first step runs
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    // THEN Aiko is emailed, and the workflow wakes for the SMS
    assert_eq!(r, next(0, 60, &id));
    assert_eq!(w.email.sent()[0].to, "aiko@example.com");
    assert!(w.sms.sent().is_empty());
    // WHEN a minute passes
    w.clock.advance(60);
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    // THEN she is texted with the code, and level 2 is due at the timeout
    assert_eq!(r, next(1, 240, &id));
    let texts = w.sms.to(AIKO);
    assert_eq!(texts.len(), 1);
    assert!(texts[0].contains(&w.incident(&id).await.ack_code));
    // WHEN nobody answers
    w.clock.advance(240);
    let r = w.escalator().run_step(&id, 1).await.unwrap();
    // THEN Ben is paged
    assert_eq!(w.sms.to(BEN).len(), 1);
    assert_eq!(r.step, 2);
    let i = w.incident(&id).await;
    assert!(i.paged_numbers.contains(AIKO) && i.paged_numbers.contains(BEN));
}

#[tokio::test]
async fn a_step_run_twice_sends_each_page_once() {
    let w = World::default();
    let id = open(&w).await;
    let first = w.escalator().run_step(&id, 0).await.unwrap();
    let again = w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(w.email.sent().len(), 1, "claim already taken");
    let fired = w
        .kinds(&id)
        .await
        .iter()
        .filter(|k| **k == "level_fired")
        .count();
    assert_eq!(fired, 1);
}

#[tokio::test]
async fn a_failed_send_is_retried_10_s_later_and_sent_once() {
    // GIVEN the mail service failed the email
    let w = World::default();
    let id = open(&w).await;
    w.email.fail_next(transient("SendEmail"));
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    // THEN the workflow comes back for it in 10 s, before the SMS
    assert_eq!(r, next(0, 10, &id));
    assert!(w.kinds(&id).await.contains(&"page_failed"));
    // WHEN it does
    w.clock.advance(10);
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    // THEN the email goes out, once, and the SMS is next
    assert_eq!(r, next(0, 50, &id));
    assert_eq!(w.email.sent().len(), 1);
    w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(w.email.sent().len(), 1);
}

#[tokio::test]
async fn a_claim_whose_run_died_is_taken_over_when_its_lease_ends() {
    // GIVEN a run claimed the email until its deadline, then died
    let w = World::default();
    let id = open(&w).await;
    let crashed = Escalator {
        deadline: Some(at(30)),
        ..w.escalator()
    };
    w.email.fail_next(permanent("SendEmail"));
    w.store.fail_next(Op::Append, transient("PutItem"));
    let _ = crashed.run_step(&id, 0).await;
    let claims = w.store.with(|s| s.pages.len());
    assert_eq!(claims, 1, "the claim outlived its run");
    // WHEN a retry comes before the deadline, then after it
    w.clock.advance(10);
    let early = w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(
        early,
        next(0, 21, &id),
        "comes back once the claim can no longer be sending"
    );
    assert!(w.email.sent().is_empty(), "the claim may still be sending");
    w.clock.advance(25);
    w.escalator().run_step(&id, 0).await.unwrap();
    // THEN the email goes out once the lease has ended
    assert_eq!(w.email.sent().len(), 1);
}

#[tokio::test]
async fn an_acknowledgement_racing_a_page_stops_paging() {
    // GIVEN Aiko acknowledges just before the claim is written
    let w = World::default();
    let id = open(&w).await;
    let target = id.clone();
    w.store.before(Op::ClaimPage, move |s| {
        s.set_status(&target, Status::Acknowledged, at(1), "Aiko");
    });
    // WHEN the step runs
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    // THEN nothing is sent and the workflow ends
    assert_eq!(r, done(0, &id));
    assert!(w.email.sent().is_empty() && w.sms.sent().is_empty());
}

#[tokio::test]
async fn an_acknowledged_incident_ends_the_workflow() {
    let w = World::default();
    let id = open(&w).await;
    w.store
        .with(|s| s.set_status(&id, Status::Acknowledged, at(1), "Aiko"));
    assert_eq!(w.escalator().run_step(&id, 0).await.unwrap(), done(0, &id));
}

#[tokio::test]
async fn an_empty_schedule_slot_is_a_warning_and_the_level_still_times_out() {
    // GIVEN the schedule has nobody on call yet
    let w = World::new(&CONFIG.replace("start: 2026-01-01", "start: 2027-01-01"));
    let id = open(&w).await;
    // WHEN level 1 fires
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    // THEN the gap is on the timeline and the workflow waits for the timeout
    assert_eq!(r, next(1, 300, &id));
    let warnings: Vec<String> = w
        .timeline(&id)
        .await
        .iter()
        .filter(|e| e.event.kind() == "warning")
        .map(|e| e.event.summary())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("primary"), "{warnings:?}");
}

#[tokio::test]
async fn a_person_removed_mid_escalation_is_not_paged_and_the_timeline_says_so() {
    // GIVEN level 1 fired for Aiko and emailed her
    let w = World::default();
    let id = open(&w).await;
    w.escalator().run_step(&id, 0).await.unwrap();
    // WHEN Aiko leaves the configuration before her SMS is due
    let without_aiko = CONFIG
        .replace("participants: [aiko]", "participants: [ben]")
        .replace(
            "  aiko:\n    name: Aiko Tanaka\n    time_zone: Asia/Tokyo\n    phone: \"+819012340001\"\n    email: aiko@example.com\n    notification_rules:\n      high:\n        - {channel: email, after_seconds: 0}\n        - {channel: sms, after_seconds: 60}\n",
            "",
        );
    assert!(!without_aiko.contains("Aiko"), "fixture edit applied");
    w.config.set(&without_aiko);
    w.clock.advance(60);
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    // THEN no SMS goes to her, the timeline says why, and escalation goes on
    assert!(w.sms.to(AIKO).is_empty());
    assert_eq!(r.step, 1);
    let summaries: Vec<String> = w
        .timeline(&id)
        .await
        .iter()
        .map(|e| e.event.summary())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.contains("aiko is no longer in the configuration")),
        "{summaries:?}"
    );
}

#[tokio::test]
async fn past_the_last_step_the_policy_is_exhausted_once() {
    let w = World::default();
    let id = open(&w).await;
    assert_eq!(w.escalator().run_step(&id, 4).await.unwrap(), done(4, &id));
    w.clock.advance(5);
    assert_eq!(w.escalator().run_step(&id, 4).await.unwrap(), done(4, &id));
    let exhausted = w
        .kinds(&id)
        .await
        .iter()
        .filter(|k| **k == "escalation_exhausted")
        .count();
    assert_eq!(exhausted, 1);
}

#[tokio::test]
async fn a_rejected_number_is_a_failure_on_the_timeline_and_paging_goes_on() {
    let w = World::default();
    let id = open(&w).await;
    w.escalator().run_step(&id, 0).await.unwrap();
    w.clock.advance(60);
    w.sms.fail_next(permanent("Publish"));
    let r = w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(r.step, 1);
    assert!(w.kinds(&id).await.contains(&"page_failed"));
}

#[tokio::test]
async fn the_workflow_is_told_the_result_or_that_the_step_cannot_succeed() {
    let w = World::default();
    let id = open(&w).await;
    let body = serde_json::json!({"incident_id": id, "step": 0, "task_token": "tok-1"}).to_string();
    let r = w.escalator().handle_message(&body).await.unwrap();
    assert_eq!(w.escalations.completed(), vec![("tok-1".to_string(), r)]);

    let missing =
        serde_json::json!({"incident_id": "20261121-NOSUCH", "step": 0, "task_token": "tok-2"});
    let err = w
        .escalator()
        .handle_message(&missing.to_string())
        .await
        .unwrap_err();
    assert!(!err.retryable());
    assert_eq!(w.escalations.failed()[0].0, "tok-2");

    let err = w.escalator().handle_message("{not json").await.unwrap_err();
    assert!(matches!(err, AppError::InvalidEvent(_)), "{err}");
}

#[tokio::test]
async fn a_store_failure_leaves_the_step_to_be_retried() {
    let w = World::default();
    let id = open(&w).await;
    w.store
        .fail_next(Op::FireLevel, transient("TransactWriteItems"));
    let err = w.escalator().run_step(&id, 0).await.unwrap_err();
    assert!(err.retryable());
    assert!(w.email.sent().is_empty());
    w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(w.email.sent().len(), 1);
}

#[tokio::test]
async fn a_broken_configuration_fails_the_step_for_the_workflow_to_record() {
    // GIVEN an incident, then a configuration that no longer loads
    let w = World::default();
    let id = open(&w).await;
    w.config.set("version: 1\npeople: {}\n");
    // WHEN its step runs
    let body = serde_json::json!({"incident_id": id, "step": 0, "task_token": "tok-9"});
    let err = w
        .escalator()
        .handle_message(&body.to_string())
        .await
        .unwrap_err();
    // THEN the workflow is told the step cannot succeed (it records
    // escalation_failed and fails the execution, which alarms the operators)
    assert!(!err.retryable());
    let failed = w.escalations.failed();
    assert_eq!(failed[0].0, "tok-9");
    assert!(failed[0].2.contains("configuration"), "{failed:?}");
    assert!(w.email.sent().is_empty() && w.sms.sent().is_empty());
}

#[tokio::test]
async fn a_self_test_step_records_the_sink_page_once_and_sends_nothing() {
    // GIVEN a self-test incident
    let w = World::default();
    let run = klaxon_core::self_test::Run {
        id: "20261121-RUN001".into(),
        account: "123456789012".into(),
        region: "ap-northeast-1".into(),
    };
    let outcomes = w
        .intake()
        .handle(&run.event(klaxon_core::alarm::AlarmState::Alarm, at(0)))
        .await
        .unwrap();
    let [crate::intake::IntakeOutcome::Opened { incident_id: id }] = outcomes.as_slice() else {
        panic!("{outcomes:?}");
    };
    // WHEN its first step runs, twice (a retry)
    let r = w.escalator().run_step(id, 0).await.unwrap();
    assert_eq!(w.escalator().run_step(id, 0).await.unwrap(), r);
    // THEN the sink's page is claimed and recorded once, nobody is sent
    // anything, and the level waits for its timeout
    assert_eq!(r, next(1, 120, id));
    let pages: Vec<_> = w
        .timeline(id)
        .await
        .into_iter()
        .filter(|e| e.event.kind() == "paged")
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(matches!(
        &pages[0].event,
        TimelineEvent::Paged { channel: Channel::SelfTest, person, .. } if person == "self-test sink"
    ));
    assert!(w.sms.sent().is_empty() && w.email.sent().is_empty());
    assert!(w.incident(id).await.paged_numbers.is_empty());
    // WHEN nobody resolves it, THEN the escalation ends after the one level
    w.clock.advance(120);
    assert_eq!(w.escalator().run_step(id, 1).await.unwrap(), done(1, id));
    assert!(w.kinds(id).await.contains(&"escalation_exhausted"));
}

#[tokio::test]
async fn a_run_at_the_end_of_its_lease_does_not_send_and_the_next_run_does() {
    // GIVEN a run that has less than a second left before its deadline
    let w = World::default();
    let id = open(&w).await;
    let late = Escalator {
        deadline: Some(w.clock.now() + jiff::SignedDuration::from_millis(500)),
        ..w.escalator()
    };
    // WHEN it reaches the email that is due
    let r = late.run_step(&id, 0).await.unwrap();
    // THEN it sends nothing and comes back after its lease (0.5 s) and a
    // second, rounded up
    assert_eq!(r, next(0, 2, &id));
    assert!(w.email.sent().is_empty());
    // AND a later run sends it, once
    w.clock.advance(2);
    w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(w.email.sent().len(), 1);
}

#[tokio::test]
async fn a_permission_the_role_lacks_stops_the_step_and_says_which_on_the_timeline() {
    // GIVEN an email that fails for now, and a role that may not record
    // the page as failed (AWS's AccessDenied, as for DeleteItem before)
    let w = World::default();
    let id = open(&w).await;
    w.email.fail_next(transient("SendEmail"));
    w.store.fail_next(
        Op::FailPage,
        BackendError {
            service: "DynamoDB",
            operation: "UpdateItem",
            message: "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/esc/x \
                      is not authorized to perform: dynamodb:UpdateItem on resource: \
                      arn:aws:dynamodb:us-east-1:123456789012:table/k-incidents because no \
                      identity-based policy allows the dynamodb:UpdateItem action"
                .into(),
            retryable: false,
        },
    );
    // WHEN the step runs
    let body = serde_json::json!({"incident_id": id, "step": 0, "task_token": "tok-p"});
    let err = w
        .escalator()
        .handle_message(&body.to_string())
        .await
        .unwrap_err();
    // THEN it is not retried blindly: the workflow is told it cannot succeed
    assert!(!err.retryable());
    assert_eq!(w.escalations.failed()[0].0, "tok-p");
    // AND the timeline names the missing permission
    let timeline = w.store.timeline(&id).await.unwrap();
    let warning = timeline
        .iter()
        .find_map(|e| match &e.event {
            TimelineEvent::Warning { message, .. } if message.starts_with("permission missing") => {
                Some(message.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{timeline:?}"));
    assert!(
        warning.starts_with(
            "permission missing: dynamodb:UpdateItem on \
             arn:aws:dynamodb:us-east-1:123456789012:table/k-incidents;"
        ),
        "{warning}"
    );
}

#[tokio::test]
async fn a_failing_step_run_is_counted_for_the_operators_alarm() {
    use aws_lambda_events::sqs::SqsEvent;
    // GIVEN two step messages, the store failing the first incident read
    let w = World::default();
    let id = open(&w).await;
    let batch = |ids: &[&str]| -> SqsEvent {
        let records: Vec<_> = ids
            .iter()
            .map(|n| {
                let body = serde_json::json!({"incident_id": id, "step": 0, "task_token": format!("t-{n}")});
                serde_json::json!({"messageId": n, "body": body.to_string()})
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    };
    let event = batch(&["m-1", "m-2"]);
    w.store.fail_next(Op::Get, transient("GetItem"));
    // WHEN the escalator handles the batch
    let response = w.escalator().handle_batch(&event).await;
    // THEN the failed one goes back to the queue, and is counted once
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec!["m-1".to_string()]);
    assert_eq!(w.metrics.recorded(), vec![Metric::EscalationStepFailed]);
    // AND a batch that succeeds counts nothing
    let again = batch(&["m-3"]);
    assert!(
        w.escalator()
            .handle_batch(&again)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(w.metrics.recorded().len(), 1);
}

#[test]
fn the_sample_escalation_step_event_is_a_step_request_as_the_workflow_queues_it() {
    let event: aws_lambda_events::sqs::SqsEvent =
        serde_json::from_str(include_str!("../../../../events/sqs-escalation-step.json")).unwrap();
    let body = event.records[0].body.as_deref().unwrap();
    let request: StepRequest = serde_json::from_str(body).unwrap();
    assert_eq!(request.incident_id, "inc-20261207-0001");
    assert_eq!((request.step, request.runs), (0, 0));
    assert!(request.execution.is_some());
}
