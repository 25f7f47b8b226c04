//! `klaxon dlq list|show|redrive|delete` against the local stack's queues.

use std::time::Duration;

use klaxon_cli::dlq::{self, Clients, DlqQueue, Letter, RedriveResult, redrive_exit_code};
use klaxon_local::events::{Delivery, alarm};
use serde_json::Value;

use super::lambda::LambdaStandIn;
use super::{
    ESCALATION_DLQ, ESCALATION_QUEUE, FAILED_EVENTS, UNDELIVERED, UNNOTIFIED_EVENTS,
    UNPUBLISHED_EVENTS, depth, drain, function_arn, lambda_failure_record, names, put,
    rule_dead_letter_attributes, visible,
};
use crate::common::{PATIENCE, World, opened_id};

/// The CLI's clients as an operator with only the template's
/// `OperatorPolicy` (Lambda at the stand-in, which asks the emulator too).
async fn clients(w: &World, lambda: &LambdaStandIn) -> Clients {
    let operator = w.local.as_operator().await.expect("operator role");
    Clients {
        sqs: aws_sdk_sqs::Client::new(&operator),
        lambda: lambda.client(&operator),
    }
}

fn attrs<'a>(
    map: &'a std::collections::BTreeMap<&'static str, String>,
) -> Vec<(&'static str, &'a str)> {
    map.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn list_gives_each_dead_letter_with_why_it_failed_and_leaves_it_in_its_queue() {
    // GIVEN a failed escalation step, a failed sms-reply invocation and an
    // alarm event EventBridge could not deliver, as AWS writes them
    let w = World::bare().await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let clients = clients(&w, &stand_in).await;
    let step = put(
        &w,
        ESCALATION_DLQ,
        r#"{"incident_id":"20261130-ABCDEF","step":2,"task_token":"token"}"#,
        &[],
    )
    .await;
    let record = put(
        &w,
        FAILED_EVENTS,
        &lambda_failure_record(&w).to_string(),
        &[],
    )
    .await;
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("dlq"),
        "ALARM",
        "2026-11-30T06:00:00.000Z",
    )
    .unwrap();
    let rule_attributes = rule_dead_letter_attributes(&w);
    let rule = put(
        &w,
        FAILED_EVENTS,
        &event.to_string(),
        &attrs(&rule_attributes),
    )
    .await;

    // WHEN the operator lists them
    let listed = dlq::list(&clients, &names(&w), &DlqQueue::ALL)
        .await
        .unwrap();

    // THEN each queue's letters come with their reason
    assert_eq!(listed.len(), DlqQueue::ALL.len());
    assert!(listed[2..].iter().all(|q| q.letters.is_empty()));
    assert_eq!(
        listed[0].queue_name,
        format!("{}-escalation-dead-letters", w.local.stack.name)
    );
    let escalation = &listed[0].letters;
    assert_eq!(escalation.len(), 1);
    assert_eq!(escalation[0].message_id, step);
    assert_eq!(
        escalation[0].letter,
        Letter::EscalationStep {
            incident_id: "20261130-ABCDEF".into(),
            step: 2
        }
    );
    assert!(escalation[0].sent_at.is_some());
    assert!(
        escalation[0]
            .next
            .contains("klaxon incidents show 20261130-ABCDEF")
    );

    let failed = &listed[1].letters;
    assert_eq!(failed.len(), 2);
    let by_id = |id: &str| {
        failed
            .iter()
            .find(|d| d.message_id == id)
            .unwrap_or_else(|| panic!("{id} not listed: {failed:?}"))
    };
    let stack = &w.local.stack.name;
    assert_eq!(
        by_id(&record).reason,
        format!(
            "{stack}-sms-reply failed every retry after 3 attempt(s): Klaxon.Retryable: DynamoDB TransactWriteItems: ThrottlingException: Rate of requests exceeds the allowed throughput."
        )
    );
    assert!(
        by_id(&rule).reason.starts_with(&format!(
            "EventBridge rule {stack}-AlarmIntakeFunctionAlarmStateChange-1X2Y could not deliver the event to {stack}-alarm-intake: SDK_CLIENT_ERROR"
        )),
        "{}",
        by_id(&rule).reason
    );
    let text = dlq::render_list(&listed);
    assert!(text.contains(&format!("{step}  sent ")), "{text}");

    // AND reading consumed nothing: every message is visible again at once
    assert_eq!(visible(&w, ESCALATION_DLQ).await, 1);
    assert_eq!(visible(&w, FAILED_EVENTS).await, 2);
    let again = dlq::list(&clients, &names(&w), &[DlqQueue::FailedEvents])
        .await
        .unwrap();
    assert_eq!(again[0].letters.len(), 2);
}

#[tokio::test]
async fn show_prints_one_dead_letter_with_the_phone_numbers_in_it_masked() {
    let w = World::bare().await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let record = put(
        &w,
        FAILED_EVENTS,
        &lambda_failure_record(&w).to_string(),
        &[],
    )
    .await;

    let (letter, queue) = dlq::show(
        &clients(&w, &stand_in).await,
        &names(&w),
        &DlqQueue::ALL,
        &record,
    )
    .await
    .unwrap()
    .expect("found");

    assert_eq!(queue, format!("{}-failed-events", w.local.stack.name));
    let text = dlq::render_show(&letter, &queue);
    // The SMS reply's sender (in the SNS message inside the payload).
    assert!(text.contains("+81******0001"), "{text}");
    assert!(!text.contains("+819012340001"), "{text}");
    assert!(
        text.contains("\"condition\": \"RetriesExhausted\""),
        "{text}"
    );
    assert!(
        dlq::show(
            &clients(&w, &stand_in).await,
            &names(&w),
            &DlqQueue::ALL,
            "no-such-id"
        )
        .await
        .unwrap()
        .is_none()
    );
}

/// Waits for the escalation step message the workflow queues.
async fn next_step_message(w: &World) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut bodies = drain(w, ESCALATION_QUEUE).await;
        if let Some(body) = bodies.pop() {
            assert!(bodies.is_empty(), "one step at a time: {bodies:?}");
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "no step queued");
    }
}

#[tokio::test]
async fn a_redriven_escalation_step_goes_back_to_the_escalator_which_pages() {
    // GIVEN an open incident whose first step the escalator failed five
    // times: SQS moved the step message to the dead-letter queue
    let w = World::new(60, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let clients = clients(&w, &stand_in).await;
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("redrive"),
        "ALARM",
        "2026-11-30T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let step = next_step_message(&w).await;
    assert!(step.contains(&id));
    let dead = put(&w, ESCALATION_DLQ, &step, &[]).await;

    // WHEN the operator first tries a dry run
    let dry = dlq::redrive(&clients, &names(&w), DlqQueue::Escalation, None, true)
        .await
        .unwrap();
    // THEN nothing moves
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0].result, RedriveResult::WouldRedrive);
    assert_eq!(
        dry[0].detail,
        format!("send to {}-escalation-steps", w.local.stack.name)
    );
    assert_eq!(depth(&w, ESCALATION_DLQ).await, 1);
    assert_eq!(depth(&w, ESCALATION_QUEUE).await, 0);

    // WHEN the operator redrives after the fix
    let done = dlq::redrive(&clients, &names(&w), DlqQueue::Escalation, None, false)
        .await
        .unwrap();

    // THEN the step is back in the escalation queue, gone from the DLQ
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].message_id, dead);
    assert_eq!(done[0].result, RedriveResult::Redriven, "{done:?}");
    assert_eq!(redrive_exit_code(&done), 0);
    assert_eq!(depth(&w, ESCALATION_DLQ).await, 0);
    // AND the escalator runs it: Alice is paged
    let handled = w.local.pump_once(Duration::from_secs(2)).await.unwrap();
    assert_eq!(handled, 1);
    let sms = w.wait_for_sms(&w.alice, 1).await;
    assert!(sms[0].message.contains("ACK"), "{sms:?}");
}

#[tokio::test]
async fn redriving_one_message_by_id_leaves_the_others_and_an_unknown_id_is_an_error() {
    let w = World::bare().await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let clients = clients(&w, &stand_in).await;
    let first = r#"{"incident_id":"20261130-AAAAAA","step":0,"task_token":"a"}"#;
    let second = r#"{"incident_id":"20261130-BBBBBB","step":1,"task_token":"b"}"#;
    put(&w, ESCALATION_DLQ, first, &[]).await;
    let wanted = put(&w, ESCALATION_DLQ, second, &[]).await;

    let done = dlq::redrive(
        &clients,
        &names(&w),
        DlqQueue::Escalation,
        Some(&wanted),
        false,
    )
    .await
    .unwrap();

    assert_eq!(done.len(), 1);
    assert_eq!(done[0].message_id, wanted);
    assert_eq!(done[0].result, RedriveResult::Redriven);
    assert_eq!(drain(&w, ESCALATION_QUEUE).await, vec![second.to_string()]);
    assert_eq!(depth(&w, ESCALATION_DLQ).await, 1);
    let left = dlq::list(&clients, &names(&w), &[DlqQueue::Escalation])
        .await
        .unwrap();
    assert!(left[0].letters[0].body.contains("20261130-AAAAAA"));

    let missing = dlq::redrive(
        &clients,
        &names(&w),
        DlqQueue::Escalation,
        Some("no-such-id"),
        false,
    )
    .await
    .unwrap_err();
    assert!(
        missing.starts_with("no message no-such-id in "),
        "{missing}"
    );
    assert_eq!(depth(&w, ESCALATION_DLQ).await, 1);
}

#[tokio::test]
async fn failed_events_are_invoked_again_with_the_original_event_and_deleted_only_when_that_worked()
{
    // GIVEN in FailedEventsQueue: an alarm EventBridge could not deliver to
    // intake, a failed sms-reply invocation (whose function still fails),
    // a record naming another stack's function, and a message of neither shape
    let w = World::new(60, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let clients = clients(&w, &stand_in).await;
    let stack = w.local.stack.name.clone();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("lost"),
        "ALARM",
        "2026-11-30T06:00:00.000Z",
    )
    .unwrap();
    let rule_attributes = rule_dead_letter_attributes(&w);
    let rule = put(
        &w,
        FAILED_EVENTS,
        &event.to_string(),
        &attrs(&rule_attributes),
    )
    .await;
    let record = lambda_failure_record(&w);
    let reply = put(&w, FAILED_EVENTS, &record.to_string(), &[]).await;
    let mut other = record.clone();
    other["requestContext"]["functionArn"] =
        function_arn(&w, "x").replace(&stack, "someone-else").into();
    let foreign = put(&w, FAILED_EVENTS, &other.to_string(), &[]).await;
    let junk = put(&w, FAILED_EVENTS, "not an event", &[]).await;
    stand_in.fail(&format!("{stack}-sms-reply"), true);

    // WHEN the operator redrives the queue
    let outcomes = dlq::redrive(&clients, &names(&w), DlqQueue::FailedEvents, None, false)
        .await
        .unwrap();

    // THEN each message says what happened to it
    let result = |id: &str| {
        outcomes
            .iter()
            .find(|o| o.message_id == id)
            .unwrap_or_else(|| panic!("no outcome for {id}: {outcomes:?}"))
    };
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert_eq!(result(&rule).result, RedriveResult::Redriven);
    assert_eq!(result(&reply).result, RedriveResult::Failed);
    assert!(result(&reply).detail.contains("stays in"), "{outcomes:?}");
    assert_eq!(result(&foreign).result, RedriveResult::Skipped);
    assert_eq!(
        result(&foreign).detail,
        format!("someone-else-x is not a function of stack {stack}")
    );
    assert_eq!(result(&junk).result, RedriveResult::Skipped);
    assert_eq!(redrive_exit_code(&outcomes), 1);
    // AND only the redriven one left the queue
    assert_eq!(depth(&w, FAILED_EVENTS).await, 3);
    // AND intake was invoked asynchronously with the event, unchanged
    let invoked = stand_in.invocations();
    assert_eq!(invoked.len(), 1, "{invoked:?}");
    assert_eq!(invoked[0].function, format!("{stack}-alarm-intake"));
    assert_eq!(invoked[0].invocation_type.as_deref(), Some("Event"));
    let payload: Value = serde_json::from_str(&invoked[0].payload).unwrap();
    assert_eq!(payload, event);
    // AND that is an event intake handles: it opens the incident
    opened_id(&w.local.deliver_alarm(&payload).await.unwrap());

    // WHEN sms-reply works again and the operator redrives its record only
    stand_in.fail(&format!("{stack}-sms-reply"), false);
    let outcomes = dlq::redrive(
        &clients,
        &names(&w),
        DlqQueue::FailedEvents,
        Some(&reply),
        false,
    )
    .await
    .unwrap();

    // THEN sms-reply gets the original SNS event, and the record is gone
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].result, RedriveResult::Redriven, "{outcomes:?}");
    let invoked = stand_in.invocations();
    assert_eq!(invoked.len(), 2);
    assert_eq!(invoked[1].function, format!("{stack}-sms-reply"));
    let payload: Value = serde_json::from_str(&invoked[1].payload).unwrap();
    assert_eq!(payload, record["requestPayload"]);
    assert_eq!(depth(&w, FAILED_EVENTS).await, 2);
}

#[tokio::test]
async fn stream_batches_and_undelivered_notifications_are_listed_with_why_never_redriven_and_deleted_by_id()
 {
    // GIVEN a stream batch the notifier gave up on, one the publisher gave
    // up on, and a delivery that failed for good, as Lambda and the
    // notifier write them
    let w = World::bare().await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let clients = clients(&w, &stand_in).await;
    let stack = w.local.stack.name.clone();
    let batch = |function: &str| {
        let mut record: Value =
            serde_json::from_str(include_str!("../../../events/stream-failure-record.json"))
                .unwrap();
        record["requestContext"]["functionArn"] = function_arn(&w, function).into();
        record.to_string()
    };
    let unnotified = put(&w, UNNOTIFIED_EVENTS, &batch("notifier"), &[]).await;
    let unpublished = put(&w, UNPUBLISHED_EVENTS, &batch("event-publisher"), &[]).await;
    let undelivered = put(
        &w,
        UNDELIVERED,
        r#"{"incident_id":"20261201-ABC123","event_id":"20261201-ABC123/2026-12-01T08:00:00.000Z/opened","detail_type":"Incident Opened","target":"partner","destination":"webhook","status":404,"attempts":1,"error":"the endpoint answered 404 Not Found","failed_at":"2026-12-01T08:00:01.000Z"}"#,
        &[],
    )
    .await;

    // WHEN the operator lists them
    let listed = dlq::list(
        &clients,
        &names(&w),
        &[
            DlqQueue::UndeliveredNotifications,
            DlqQueue::UnpublishedEvents,
            DlqQueue::UnnotifiedEvents,
        ],
    )
    .await
    .unwrap();

    // THEN each says what was missed and why
    let only = |i: usize, id: &str| {
        assert_eq!(listed[i].letters.len(), 1, "{:?}", listed[i]);
        assert_eq!(listed[i].letters[0].message_id, id);
        listed[i].letters[0].clone()
    };
    let d = only(0, &undelivered);
    assert_eq!(
        d.reason,
        "Incident Opened of incident 20261201-ABC123 was not delivered to partner (webhook) after 1 attempt(s), status 404: the endpoint answered 404 Not Found"
    );
    assert!(
        d.next.contains("klaxon incidents show 20261201-ABC123"),
        "{}",
        d.next
    );
    let p = only(1, &unpublished);
    assert_eq!(
        p.reason,
        format!(
            "{stack}-event-publisher failed every retry on a stream batch of 10 record(s) (sequence 800000000003126276362 to 800000000003126276371, shardId-00000001764576000000-864758bb, written from 2026-12-01T08:00:19Z) after 6 attempt(s): Unhandled"
        )
    );
    assert!(p.next.contains("events on the bus"), "{}", p.next);
    let n = only(2, &unnotified);
    assert!(
        n.reason
            .starts_with(&format!("{stack}-notifier failed every retry")),
        "{}",
        n.reason
    );
    assert!(n.next.contains("Slack"), "{}", n.next);

    // AND a redrive sends none of them again, and keeps them
    for queue in [
        DlqQueue::UndeliveredNotifications,
        DlqQueue::UnnotifiedEvents,
    ] {
        let outcomes = dlq::redrive(&clients, &names(&w), queue, None, false)
            .await
            .unwrap();
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].result, RedriveResult::Skipped);
    }
    assert_eq!(visible(&w, UNDELIVERED).await, 1);

    // WHEN the operator deletes the undelivered notification by its id (a
    // dry run first)
    let dry = dlq::delete(
        &clients,
        &names(&w),
        DlqQueue::UndeliveredNotifications,
        Some(&undelivered),
        true,
    )
    .await
    .unwrap();
    assert_eq!(dry[0].result, RedriveResult::WouldDelete);
    assert_eq!(visible(&w, UNDELIVERED).await, 1);
    let deleted = dlq::delete(
        &clients,
        &names(&w),
        DlqQueue::UndeliveredNotifications,
        Some(&undelivered),
        false,
    )
    .await
    .unwrap();

    // THEN it is gone, and the other queues keep theirs
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].result, RedriveResult::Deleted);
    assert_eq!(redrive_exit_code(&deleted), 0);
    assert_eq!(depth(&w, UNDELIVERED).await, 0);
    assert_eq!(visible(&w, UNNOTIFIED_EVENTS).await, 1);
    assert_eq!(visible(&w, UNPUBLISHED_EVENTS).await, 1);
    // AND an id that is not there is an error naming the queue
    let missing = dlq::delete(
        &clients,
        &names(&w),
        DlqQueue::UnnotifiedEvents,
        Some("no-such-message"),
        false,
    )
    .await
    .unwrap_err();
    assert!(missing.contains("unnotified-events"), "{missing}");
}

#[tokio::test]
async fn an_alarm_sns_could_not_hand_to_intake_is_handed_over_again_and_opens_its_incident() {
    // GIVEN in the alarm topic's dead-letter queue: an ALARM's notification
    // SNS could not deliver to intake (its subscription's redrive policy)
    let w = World::new(60, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let clients = clients(&w, &stand_in).await;
    let stack = w.local.stack.name.clone();
    let event = alarm(
        Delivery::Sns,
        &w.alarm_name("undelivered"),
        "ALARM",
        "2026-12-07T06:00:00.000Z",
    )
    .unwrap();
    let notification = event["Records"][0]["Sns"].clone();
    let id = put(
        &w,
        "AlarmTopicDeadLetterQueue",
        &notification.to_string(),
        &[],
    )
    .await;

    // WHEN the operator lists, then redrives, the queue
    let letters = dlq::list(&clients, &names(&w), &[DlqQueue::AlarmTopic])
        .await
        .unwrap()
        .remove(0)
        .letters;
    let outcomes = dlq::redrive(&clients, &names(&w), DlqQueue::AlarmTopic, None, false)
        .await
        .unwrap();

    // THEN the letter says SNS could not hand over an alarm, and what to do
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        matches!(letters[0].letter, Letter::SnsDelivery(_)),
        "{letters:?}"
    );
    assert!(
        letters[0].reason.starts_with("SNS could not hand an alarm"),
        "{letters:?}"
    );
    assert!(
        letters[0]
            .next
            .contains("klaxon dlq redrive --queue alarm-topic")
    );
    // AND intake was invoked with the event SNS would have sent, which
    // opens the incident; the letter left the queue
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].message_id, id);
    assert_eq!(outcomes[0].result, RedriveResult::Redriven, "{outcomes:?}");
    let invoked = stand_in.invocations();
    assert_eq!(invoked[0].function, format!("{stack}-alarm-intake"));
    let payload: Value = serde_json::from_str(&invoked[0].payload).unwrap();
    assert_eq!(payload["Records"][0]["Sns"], notification);
    opened_id(&w.local.deliver_alarm(&payload).await.unwrap());
    assert_eq!(depth(&w, "AlarmTopicDeadLetterQueue").await, 0);
}
