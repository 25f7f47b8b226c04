//! Intake against the emulator: one incident, one escalation, one page,
//! whatever the delivery count or concurrency.

use std::time::Duration;

use klaxon_app::intake::IntakeOutcome;
use klaxon_core::incident::Status;
use klaxon_local::events::{Delivery, alarm};
use klaxon_ports::Incidents;

use crate::common::{World, ack_code, opened_id};

#[tokio::test]
async fn an_eventbridge_alarm_opens_an_incident_and_pages_level_one_with_the_ack_code() {
    let w = World::new(30, 0).await;
    let pump = w.pump();
    let name = w.alarm_name("checkout-5xx");
    let event = alarm(
        Delivery::EventBridge,
        &name,
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();

    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());

    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Triggered);
    assert_eq!(incident.alarm_name, name);
    assert!(
        incident.escalation_execution.is_some(),
        "escalation started"
    );
    let sms = w.wait_for_sms(&w.alice, 1).await;
    assert_eq!(sms.len(), 1);
    assert!(sms[0].message.contains(&name), "{}", sms[0].message);
    assert!(
        sms[0].message.contains("SEV1"),
        "description token: {}",
        sms[0].message
    );
    assert_eq!(ack_code(&sms[0].message), incident.ack_code);
    assert!(w.sms_to(&w.bob).await.is_empty(), "level 2 not paged yet");
    let timeline = w.timeline(&id).await;
    let kinds: Vec<&str> = timeline.iter().map(|e| e.event.kind()).collect();
    for expected in [
        "alarm_state",
        "classified",
        "opened",
        "escalation_started",
        "paged",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    pump.stop().await;
}

#[tokio::test]
async fn the_same_event_five_times_in_a_row_is_one_incident_and_one_page() {
    let w = World::new(30, 0).await;
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("dup"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let first = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    for _ in 0..4 {
        let again = w.local.deliver_alarm(&event).await.unwrap();
        assert_eq!(
            again,
            vec![IntakeOutcome::Duplicate {
                incident_id: first.clone()
            }]
        );
    }
    w.wait_for_sms(&w.alice, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.sms_to(&w.alice).await.len(), 1);
    assert_eq!(w.incident(&first).await.alarm_count, 1);
    assert_eq!(
        w.local
            .store
            .list_open()
            .await
            .unwrap()
            .iter()
            .filter(|i| i.id == first)
            .count(),
        1
    );
    pump.stop().await;
}

#[tokio::test]
async fn the_same_event_twenty_times_concurrently_is_one_incident_and_one_page() {
    let w = World::new(30, 0).await;
    let pump = w.pump();
    let name = w.alarm_name("storm");
    let event = alarm(
        Delivery::EventBridge,
        &name,
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let local = w.local.clone();
        let event = event.clone();
        tasks.push(tokio::spawn(
            async move { local.deliver_alarm(&event).await },
        ));
    }
    let mut opened = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        for outcome in t.await.unwrap().unwrap() {
            match outcome {
                IntakeOutcome::Opened { incident_id } => {
                    opened.push(incident_id.clone());
                    ids.insert(incident_id);
                }
                IntakeOutcome::Duplicate { incident_id } => {
                    ids.insert(incident_id);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(opened.len(), 1, "exactly one delivery opened it");
    assert_eq!(ids.len(), 1, "every delivery names the same incident");
    let open: Vec<_> = w
        .local
        .store
        .list_open()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.alarm_name == name)
        .collect();
    let open_ids: Vec<&str> = open.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        open_ids,
        vec![opened[0].as_str()],
        "open incidents for the alarm"
    );
    w.wait_for_sms(&w.alice, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sms = w.sms_to(&w.alice).await;
    assert_eq!(sms.len(), 1, "one level-1 SMS: {sms:?}");
    pump.stop().await;
}

#[tokio::test]
async fn a_repeat_alarm_while_open_is_counted_on_the_timeline_without_a_new_page() {
    let w = World::new(30, 0).await;
    let pump = w.pump();
    let name = w.alarm_name("flap");
    let first = alarm(
        Delivery::EventBridge,
        &name,
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&first).await.unwrap());
    w.wait_for_sms(&w.alice, 1).await;
    let repeat = alarm(
        Delivery::EventBridge,
        &name,
        "ALARM",
        "2026-11-21T06:03:00.000Z",
    )
    .unwrap();
    assert_eq!(
        w.local.deliver_alarm(&repeat).await.unwrap(),
        vec![IntakeOutcome::Folded {
            incident_id: id.clone(),
            alarm_count: 2
        }]
    );
    let alarm_entries = w
        .timeline(&id)
        .await
        .into_iter()
        .filter(|e| e.event.kind() == "alarm_state")
        .count();
    assert_eq!(alarm_entries, 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.sms_to(&w.alice).await.len(), 1, "no new page");
    pump.stop().await;
}

#[tokio::test]
async fn insufficient_data_is_ignored_by_default() {
    let w = World::new(30, 0).await;
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("nodata"),
        "INSUFFICIENT_DATA",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let out = w.local.deliver_alarm(&event).await.unwrap();
    assert!(
        matches!(out[..], [IntakeOutcome::Ignored { .. }]),
        "{out:?}"
    );
    assert!(w.local.store.list_open().await.unwrap().is_empty());
}

/// Lambda's asynchronous invocation of the intake function, as its deployed
/// `EventInvokeConfig` says: when every attempt fails (DynamoDB answers
/// 500 throughout), the first attempt and two retries run, then Lambda's
/// on-failure record, with the alarm event to redrive, lands in the
/// failed-events queue.
#[tokio::test]
async fn an_alarm_whose_every_attempt_fails_lands_in_the_failed_events_queue_after_two_retries() {
    use klaxon_local::faults::Fault;
    use klaxon_local::invoke::Invoked;
    let (w, proxy) = World::behind_proxy().await;
    let config = w
        .local
        .stack
        .invoke_config(klaxon_local::ids::INTAKE)
        .unwrap()
        .clone();
    assert_eq!(config.maximum_retry_attempts, 2, "the template's retries");
    let queue = w.local.stack.physical("FailedEventsQueue").unwrap();
    assert_eq!(
        config.on_failure.as_deref(),
        Some(w.local.stack.arn("FailedEventsQueue").unwrap().as_str())
    );

    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("async"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    proxy.inject("dynamodb", None, Fault::Status(500), 100_000);
    let local = &w.local;
    let outcome = local
        .invoke_async(
            klaxon_local::ids::INTAKE,
            &event,
            async || local.deliver_alarm(&event).await,
            || {},
        )
        .await
        .unwrap();
    proxy.heal();
    let Invoked::GaveUp {
        attempts,
        dead_lettered,
        ..
    } = outcome
    else {
        panic!("every attempt failed: {outcome:?}");
    };
    assert_eq!(attempts, 3);
    assert!(dead_lettered);

    let sqs = aws_sdk_sqs::Client::new(&w.local.sdk);
    let letters = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(letters.len(), 1);
    let record: serde_json::Value = serde_json::from_str(letters[0].body().unwrap()).unwrap();
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["requestPayload"], event, "the event, to redrive");
    assert!(
        record["responsePayload"]["errorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{record}"
    );
}
