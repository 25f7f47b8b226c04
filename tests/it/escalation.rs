//! The escalation workflow running in the emulator's Step Functions, each
//! step handled by Klaxon's escalator through the SQS callback.

use std::time::Duration;

use klaxon_app::intake::IntakeOutcome;
use klaxon_app::reply::ReplyOutcome;
use klaxon_core::incident::{Status, TimelineEvent};
use klaxon_local::events::{Delivery, alarm, sms_reply};
use klaxon_ports::Incidents;

use crate::common::{World, ack_code, opened_id};

#[tokio::test]
async fn no_reply_within_the_level_timeout_pages_level_two() {
    let w = World::new(2, 0).await;
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("esc"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());

    let alice = w.wait_for_sms(&w.alice, 1).await;
    let bob = w.wait_for_sms(&w.bob, 1).await;
    assert_eq!(ack_code(&alice[0].message), ack_code(&bob[0].message));

    // Level 2 is the last level and repeat is 0: the policy runs out.
    assert_eq!(w.wait_execution_end(&id).await, "SUCCEEDED");
    let timeline = w.timeline(&id).await;
    let pages: Vec<(u32, String)> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Paged { level, person, .. } => Some((*level, person.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        pages,
        vec![(1, "Alice".to_string()), (2, "Bob".to_string())]
    );
    let paged_at: Vec<_> = timeline
        .iter()
        .filter(|e| e.event.kind() == "paged")
        .map(|e| e.at)
        .collect();
    let gap = paged_at[1].duration_since(paged_at[0]);
    assert!(
        gap.as_secs_f64() >= 2.0,
        "level 2 waited the level timeout, gap {gap:?}"
    );
    assert!(
        timeline
            .iter()
            .any(|e| e.event.kind() == "escalation_exhausted")
    );
    assert_eq!(w.sms_to(&w.alice).await.len(), 1);
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    pump.stop().await;
}

#[tokio::test]
async fn the_policy_repeats_as_configured() {
    let w = World::new(1, 1).await;
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("rep"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    assert_eq!(w.wait_execution_end(&id).await, "SUCCEEDED");
    assert_eq!(w.sms_to(&w.alice).await.len(), 2, "two passes");
    assert_eq!(w.sms_to(&w.bob).await.len(), 2, "two passes");
    pump.stop().await;
}

#[tokio::test]
async fn ack_from_the_paged_number_stops_paging_and_confirms() {
    // Level 1 waits 10 s: ample time to reply before level 2, even on a busy machine.
    let w = World::new(10, 2).await;
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("ack"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let page = w.wait_for_sms(&w.alice, 1).await;
    let code = ack_code(&page[0].message);

    let out = w
        .local
        .deliver_reply(
            &sms_reply(&w.alice, &format!("ack {code}"), &format!("in-{}", w.tag)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![ReplyOutcome::Acknowledged {
            incident_id: id.clone()
        }]
    );

    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Acknowledged);
    assert!(
        incident
            .acknowledged_by
            .as_deref()
            .unwrap_or_default()
            .contains("Alice")
    );
    assert!(incident.acknowledged_at.is_some());
    let alice = w.wait_for_sms(&w.alice, 2).await;
    assert!(
        alice[1].message.contains("acknowledged"),
        "confirmation: {}",
        alice[1].message
    );
    assert_eq!(w.wait_execution_end(&id).await, "ABORTED");
    // Well past level 1's timeout: nobody else is paged.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(w.sms_to(&w.bob).await.is_empty(), "level 2 never paged");
    assert_eq!(
        w.sms_to(&w.alice).await.len(),
        2,
        "page + confirmation only"
    );
    let kinds: Vec<&str> = w
        .timeline(&id)
        .await
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert!(kinds.contains(&"acknowledged"), "{kinds:?}");
    assert!(kinds.contains(&"confirmation_sent"), "{kinds:?}");
    pump.stop().await;
}

#[tokio::test]
async fn ok_resolves_the_incident_and_stops_the_escalation() {
    let w = World::new(10, 2).await;
    let pump = w.pump();
    let name = w.alarm_name("ok");
    let id = opened_id(
        &w.local
            .deliver_alarm(
                &alarm(
                    Delivery::EventBridge,
                    &name,
                    "ALARM",
                    "2026-11-21T06:00:00.000Z",
                )
                .unwrap(),
            )
            .await
            .unwrap(),
    );
    w.wait_for_sms(&w.alice, 1).await;
    let out = w
        .local
        .deliver_alarm(
            &alarm(
                Delivery::EventBridge,
                &name,
                "OK",
                "2026-11-21T06:01:00.000Z",
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![IntakeOutcome::Resolved {
            incident_id: id.clone()
        }]
    );
    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Resolved);
    assert!(incident.resolved_at.is_some());
    assert_eq!(w.wait_execution_end(&id).await, "ABORTED");
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(w.sms_to(&w.bob).await.is_empty(), "no more pages");
    assert_eq!(w.sms_to(&w.alice).await.len(), 1);
    assert!(w.local.store.list_open().await.unwrap().is_empty());

    // A new ALARM after resolution opens a new incident.
    let again = opened_id(
        &w.local
            .deliver_alarm(
                &alarm(
                    Delivery::EventBridge,
                    &name,
                    "ALARM",
                    "2026-11-21T06:10:00.000Z",
                )
                .unwrap(),
            )
            .await
            .unwrap(),
    );
    assert_ne!(again, id);
    pump.stop().await;
}

#[tokio::test]
async fn a_step_that_cannot_succeed_is_written_on_the_timeline_and_fails_the_execution() {
    // GIVEN an escalation whose incident the escalator cannot find
    let w = World::new(2, 0).await;
    let pump = w.pump();
    let id = format!("20261130-GONE{}", w.tag);
    let execution = klaxon_ports::Escalations::start(&w.local.escalations, &id, 0)
        .await
        .expect("start");
    // WHEN its first step runs: the escalator reports it cannot succeed
    let status = w
        .wait_execution_arn_end(&execution, crate::common::PATIENCE)
        .await;
    pump.stop().await;
    // THEN the workflow records why on the timeline and fails, for the alarm to see
    assert_eq!(status, "FAILED");
    let timeline = w.timeline(&id).await;
    let failure = timeline
        .iter()
        .find_map(|e| match &e.event {
            TimelineEvent::EscalationFailed { failure } => Some(failure.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("escalation_failed missing: {timeline:?}"));
    assert_eq!(failure["Error"], "Klaxon.StepFailed", "{failure}");
    // AWS passes SendTaskFailure's cause on; moto 5.2.5 leaves it null.
    if let Some(cause) = failure["Cause"].as_str() {
        assert!(cause.contains("does not exist"), "{failure}");
    }
    assert!(
        timeline[0]
            .event
            .summary()
            .starts_with("escalation failed, paging stopped")
    );
}

/// The escalator's event source mapping as deployed: a step the escalator
/// reports as failed (DynamoDB fails every read of its incident) is not
/// handed back at once; it comes back when the queue's visibility timeout
/// (scaled) has passed since it was received, and pages once DynamoDB
/// works again.
#[tokio::test]
async fn a_failed_escalation_step_comes_back_after_the_queues_visibility_timeout() {
    use klaxon_local::faults::Fault;
    let (w, proxy) = World::behind_proxy().await;
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("vis"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    // (A failing page does not fail its step: the step answers and comes
    // back for it. A step fails when the escalator cannot read its
    // incident.)
    proxy.inject("dynamodb", Some("GetItem"), Fault::Status(500), 100_000);

    // The first delivery of level 1's step: the incident cannot be read,
    // the step fails.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let first = loop {
        let before = tokio::time::Instant::now();
        if w.local.pump_once(Duration::from_secs(1)).await.unwrap() > 0 {
            break before;
        }
        assert!(tokio::time::Instant::now() < deadline, "no step message");
    };
    assert!(w.sms_to(&w.alice).await.is_empty(), "the step failed");

    // Nothing comes back before the visibility timeout.
    let visibility = w.local.escalation_visibility;
    let again = loop {
        if w.local.pump_once(Duration::from_secs(1)).await.unwrap() > 0 {
            break first.elapsed();
        }
        assert!(first.elapsed() < visibility * 4, "the step never came back");
    };
    assert!(
        again >= visibility,
        "came back after {again:?}, before the visibility timeout {visibility:?}"
    );
    assert!(
        again < Duration::from_secs(90),
        "the harness scales the 90 s timeout: {again:?}"
    );

    // DynamoDB works again: the next delivery pages.
    proxy.heal();
    let deadline = tokio::time::Instant::now() + visibility * 4;
    while w.sms_to(&w.alice).await.is_empty() {
        w.local.pump_once(Duration::from_secs(1)).await.unwrap();
        assert!(tokio::time::Instant::now() < deadline, "never paged");
    }
}

/// The workflow's step timeout is a template parameter, scaled for the
/// local stack with the escalation queue's timings: a step message that
/// never reaches the escalator (received and deleted here) is queued again
/// by the workflow after that timeout, not before, and the step then pages.
#[tokio::test]
async fn a_lost_escalation_step_is_queued_again_after_the_workflows_step_timeout() {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    let w = World::new(60, 0).await;
    let deployed: u64 = w.local.stack.parameters[klaxon_local::STEP_TIMEOUT_PARAMETER]
        .parse()
        .unwrap();
    let expected = klaxon_local::workflow_parameters(klaxon_local::time_scale()).unwrap();
    assert_eq!(
        deployed.to_string(),
        expected[klaxon_local::STEP_TIMEOUT_PARAMETER],
        "the stack runs the scaled step timeout"
    );
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("lost"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());

    let sqs = aws_sdk_sqs::Client::new(&w.local.sdk);
    let queue = w
        .local
        .stack
        .physical(klaxon_local::ids::ESCALATION_QUEUE)
        .unwrap();
    // (sent at, task token) of the next step message, deleted once read.
    let take = async |within: Duration| {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = sqs
                .receive_message()
                .queue_url(queue)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .send()
                .await
                .unwrap();
            if let Some(m) = got.messages().first() {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
                let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
                let sent: u64 = m.attributes().unwrap()[&MessageSystemAttributeName::SentTimestamp]
                    .parse()
                    .unwrap();
                return (sent, body);
            }
            assert!(tokio::time::Instant::now() < deadline, "no step message");
        }
    };
    let (first_sent, first) = take(Duration::from_secs(30)).await;
    assert_eq!(first["incident_id"], id.as_str());
    let (again_sent, again) = take(Duration::from_secs(deployed * 3)).await;
    assert_eq!(again["incident_id"], id.as_str());
    assert_eq!(again["step"], first["step"], "the same step, queued again");
    let after_ms = again_sent - first_sent;
    assert!(
        after_ms >= deployed * 1000,
        "queued again after {after_ms} ms, before the step timeout ({deployed} s)"
    );
    // The escalator takes the new message: level 1 pages.
    let pump = w.pump();
    w.wait_for_sms(&w.alice, 1).await;
    pump.stop().await;
}
