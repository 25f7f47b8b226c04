use super::*;

const RECORD: &str = include_str!("../../../events/lambda-failure-record.json");
const ALARM: &str = include_str!("../../../events/eventbridge-alarm.json");

fn none() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn rule_attributes(target: &str) -> BTreeMap<String, String> {
    [
        ("ERROR_CODE", "SDK_CLIENT_ERROR"),
        (
            "ERROR_MESSAGE",
            "Unable to invoke Lambda function: Rate Exceeded.",
        ),
        (
            "RULE_ARN",
            "arn:aws:events:ap-northeast-1:123456789012:rule/klaxon-AlarmIntakeFunctionAlarmStateChange-1X2Y",
        ),
        ("TARGET_ARN", target),
        ("EXHAUSTED_RETRY_CONDITION", "MaximumRetryAttempts"),
        ("RETRY_ATTEMPTS", "8"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

const INTAKE_ARN: &str = "arn:aws:lambda:ap-northeast-1:123456789012:function:klaxon-alarm-intake";

#[test]
fn an_escalation_step_names_its_incident_and_goes_back_to_the_queue() {
    let body = r#"{"incident_id":"20261121-1PS7A2","step":1,"task_token":"AAAA"}"#;
    let letter = Letter::parse(DlqQueue::Escalation, body, &none());
    assert_eq!(
        letter,
        Letter::EscalationStep {
            incident_id: "20261121-1PS7A2".into(),
            step: 1
        }
    );
    assert!(
        letter
            .reason()
            .contains("step 1 of incident 20261121-1PS7A2")
    );
    assert!(
        letter
            .next(DlqQueue::Escalation, "m-1")
            .contains("klaxon incidents show 20261121-1PS7A2")
    );
    assert_eq!(
        letter.redrive(&StackNames::new("klaxon"), body),
        Redrive::ToQueue
    );
}

#[test]
fn a_lambda_failure_record_gives_the_function_the_condition_and_the_error() {
    let letter = Letter::parse(DlqQueue::FailedEvents, RECORD, &none());
    let Letter::LambdaFailure {
        function,
        condition,
        attempts,
        error_type,
        payload,
        ..
    } = &letter
    else {
        panic!("not a Lambda failure: {letter:?}");
    };
    assert_eq!(
        function,
        "arn:aws:lambda:ap-northeast-1:123456789012:function:klaxon-sms-reply"
    );
    assert_eq!(condition.as_deref(), Some("RetriesExhausted"));
    assert_eq!(*attempts, Some(3));
    assert_eq!(error_type.as_deref(), Some("Klaxon.Retryable"));
    assert_eq!(
        letter.reason(),
        "klaxon-sms-reply failed every retry after 3 attempt(s): Klaxon.Retryable: DynamoDB TransactWriteItems: ThrottlingException: Rate of requests exceeds the allowed throughput."
    );
    // The payload is the original event, to invoke the function with again.
    let original: Value =
        serde_json::from_str(include_str!("../../../events/sms-reply.json")).unwrap();
    let sent: Value = serde_json::from_str(payload.as_deref().unwrap()).unwrap();
    assert_eq!(sent, original);
}

#[test]
fn a_failed_event_is_redriven_only_to_a_function_of_this_stack() {
    let letter = Letter::parse(DlqQueue::FailedEvents, RECORD, &none());
    match letter.redrive(&StackNames::new("klaxon"), RECORD) {
        Redrive::Invoke { function, .. } => assert_eq!(
            function,
            "arn:aws:lambda:ap-northeast-1:123456789012:function:klaxon-sms-reply"
        ),
        other => panic!("{other:?}"),
    }
    match letter.redrive(&StackNames::new("staging"), RECORD) {
        Redrive::Cannot(why) => {
            assert_eq!(why, "klaxon-sms-reply is not a function of stack staging")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_eventbridge_dead_letter_is_the_event_with_the_reason_in_its_attributes() {
    let attributes = rule_attributes(INTAKE_ARN);
    let letter = Letter::parse(DlqQueue::FailedEvents, ALARM, &attributes);
    assert!(matches!(letter, Letter::RuleFailure { .. }), "{letter:?}");
    assert_eq!(
        letter.reason(),
        "EventBridge rule klaxon-AlarmIntakeFunctionAlarmStateChange-1X2Y could not deliver the event to klaxon-alarm-intake: SDK_CLIENT_ERROR: Unable to invoke Lambda function: Rate Exceeded. (MaximumRetryAttempts reached)"
    );
    // Redrive invokes the target with the body, unchanged.
    assert_eq!(
        letter.redrive(&StackNames::new("klaxon"), ALARM),
        Redrive::Invoke {
            function: INTAKE_ARN.into(),
            payload: ALARM.into()
        }
    );
}

#[test]
fn an_eventbridge_dead_letter_for_a_target_that_is_not_a_function_is_not_redriven() {
    let attributes = rule_attributes("arn:aws:sqs:ap-northeast-1:123456789012:klaxon-other");
    let letter = Letter::parse(DlqQueue::FailedEvents, ALARM, &attributes);
    assert!(matches!(
        letter.redrive(&StackNames::new("klaxon"), ALARM),
        Redrive::Cannot(_)
    ));
}

#[test]
fn a_message_of_neither_shape_is_shown_with_why_and_never_redriven() {
    for (queue, body) in [
        (DlqQueue::FailedEvents, "hello"),
        (DlqQueue::FailedEvents, r#"{"detail-type":"x"}"#),
        (DlqQueue::Escalation, r#"{"incident":"x"}"#),
    ] {
        let letter = Letter::parse(queue, body, &none());
        assert!(
            matches!(letter, Letter::Unknown { .. }),
            "{body}: {letter:?}"
        );
        assert!(matches!(
            letter.redrive(&StackNames::new("klaxon"), body),
            Redrive::Cannot(_)
        ));
        assert!(letter.next(queue, "m-9").contains("klaxon dlq show m-9"));
    }
}

#[test]
fn the_advice_follows_the_klaxon_error_type() {
    let with = |t: &str| Letter::LambdaFailure {
        function: INTAKE_ARN.into(),
        condition: None,
        attempts: None,
        error_type: Some(t.into()),
        error_message: None,
        failed_at: None,
        payload: None,
    };
    assert!(
        with("Klaxon.InvalidEvent")
            .next(DlqQueue::FailedEvents, "m")
            .contains("fails the same way")
    );
    assert!(
        with("Klaxon.Failed")
            .next(DlqQueue::FailedEvents, "m")
            .contains("klaxon doctor")
    );
    assert!(
        with("Klaxon.Retryable")
            .next(DlqQueue::FailedEvents, "m")
            .contains("klaxon dlq redrive --queue failed-events --id m")
    );
}

#[test]
fn phone_numbers_are_masked_wherever_they_appear() {
    assert_eq!(
        mask_numbers(r#"{"originationNumber": "+819012340001", "n": 5, "x": "+12"}"#),
        r#"{"originationNumber": "+81******0001", "n": 5, "x": "+12"}"#
    );
    assert_eq!(mask_numbers("call +14155550102."), "call +14*****0102.");
    // Escaped JSON inside a string (the SNS message) is masked too.
    assert_eq!(
        mask_numbers(r#"\"originationNumber\":\"+819012340001\""#),
        r#"\"originationNumber\":\"+81******0001\""#
    );
}

#[test]
fn a_dead_letter_shows_its_times_and_masks_the_body_it_shows() {
    let system: BTreeMap<String, String> = [
        ("SentTimestamp", "1795240992345"),
        ("ApproximateReceiveCount", "6"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let d = DeadLetter::new(
        DlqQueue::FailedEvents,
        "m-1".into(),
        RECORD.into(),
        &system,
        BTreeMap::new(),
    );
    assert_eq!(d.receive_count, Some(6));
    assert_eq!(
        d.sent_at.map(iso).as_deref(),
        Some("2026-11-21T06:03:12.345Z")
    );
    let shown = render_show(&d, "klaxon-failed-events");
    assert!(shown.contains("sent 2026-11-21T06:03:12.345Z, received 6 time(s)"));
    assert!(shown.contains("+81******0001"), "{shown}");
    assert!(!shown.contains("+819012340001"));
    // The body kept for the redrive is unchanged.
    assert!(d.body.contains("+819012340001"));
}

#[test]
fn the_list_says_for_each_queue_what_waits_and_why() {
    let body = r#"{"incident_id":"20261121-1PS7A2","step":0,"task_token":"t"}"#;
    let d = DeadLetter::new(
        DlqQueue::Escalation,
        "m-1".into(),
        body.into(),
        &BTreeMap::new(),
        BTreeMap::new(),
    );
    let text = render_list(&[
        QueueLetters {
            queue: DlqQueue::Escalation,
            queue_name: "k-escalation-dead-letters".into(),
            letters: vec![d],
        },
        QueueLetters {
            queue: DlqQueue::FailedEvents,
            queue_name: "k-failed-events".into(),
            letters: vec![],
        },
    ]);
    assert!(text.starts_with("escalation (k-escalation-dead-letters): 1 dead letter(s)\n  m-1  sent at an unknown time\n    why:  escalation step 0 of incident 20261121-1PS7A2"));
    assert!(text.ends_with("failed-events (k-failed-events): no dead letters\n"));
}

#[test]
fn a_redrive_that_left_anything_behind_exits_one() {
    let o = |result| RedriveOutcome {
        queue: DlqQueue::Escalation,
        message_id: "m".into(),
        result,
        detail: String::new(),
    };
    assert_eq!(redrive_exit_code(&[o(RedriveResult::Redriven)]), 0);
    assert_eq!(redrive_exit_code(&[o(RedriveResult::WouldRedrive)]), 0);
    assert_eq!(redrive_exit_code(&[]), 0);
    for bad in [
        RedriveResult::Failed,
        RedriveResult::Skipped,
        RedriveResult::RedrivenNotDeleted,
    ] {
        assert_eq!(redrive_exit_code(&[o(RedriveResult::Redriven), o(bad)]), 1);
    }
}

const STREAM_RECORD: &str = include_str!("../../../events/stream-failure-record.json");

#[test]
fn a_stream_batch_failure_gives_the_function_the_batch_position_and_is_never_redriven() {
    for queue in [DlqQueue::UnnotifiedEvents, DlqQueue::UnpublishedEvents] {
        let letter = Letter::parse(queue, STREAM_RECORD, &none());
        let Letter::StreamBatch {
            function,
            first_sequence,
            batch_size,
            stream,
            ..
        } = &letter
        else {
            panic!("not a stream batch: {letter:?}");
        };
        assert_eq!(
            function.as_deref(),
            Some("arn:aws:lambda:ap-northeast-1:123456789012:function:klaxon-notifier")
        );
        assert_eq!(first_sequence.as_deref(), Some("800000000003126276362"));
        assert_eq!(*batch_size, Some(10));
        assert!(
            stream
                .as_deref()
                .is_some_and(|s| s.contains("klaxon-incidents"))
        );
        assert!(
            letter.reason().starts_with(
                "klaxon-notifier failed every retry on a stream batch of 10 record(s)"
            ),
            "{}",
            letter.reason()
        );
        assert!(matches!(
            letter.redrive(&StackNames::new("klaxon"), STREAM_RECORD),
            Redrive::Cannot(_)
        ));
        assert!(
            letter
                .next(queue, "m-1")
                .contains("klaxon dlq delete --queue")
        );
    }
    // The batch that aged out says so.
    let aged = STREAM_RECORD.replace("RetryAttemptsExhausted", "RecordAgeExceeded");
    let letter = Letter::parse(DlqQueue::UnpublishedEvents, &aged, &none());
    assert!(
        letter.reason().contains("maximum record age"),
        "{}",
        letter.reason()
    );
}

#[test]
fn an_undelivered_notification_names_the_incident_the_destination_and_the_error() {
    let body = r#"{"incident_id":"20261201-ABC123","event_id":"20261201-ABC123/2026-12-01T08:00:00.000Z/opened","detail_type":"Incident Opened","target":"ops-slack","destination":"slack","attempts":5,"error":"Slack answered channel_not_found","failed_at":"2026-12-01T08:00:09.000Z"}"#;
    let letter = Letter::parse(DlqQueue::UndeliveredNotifications, body, &none());
    assert_eq!(
        letter.reason(),
        "Incident Opened of incident 20261201-ABC123 was not delivered to ops-slack (slack) after 5 attempt(s): Slack answered channel_not_found"
    );
    let next = letter.next(DlqQueue::UndeliveredNotifications, "m-2");
    assert!(next.contains("`ops-slack`"), "{next}");
    assert!(
        next.contains("klaxon dlq delete --queue undelivered-notifications --id m-2"),
        "{next}"
    );
    assert!(matches!(
        letter.redrive(&StackNames::new("klaxon"), body),
        Redrive::Cannot(_)
    ));
}

#[test]
fn a_message_of_another_shape_in_the_new_queues_is_shown_as_unknown() {
    for queue in [
        DlqQueue::UndeliveredNotifications,
        DlqQueue::UnnotifiedEvents,
        DlqQueue::UnpublishedEvents,
    ] {
        for body in ["not json", r#"{"requestContext":{}}"#] {
            let letter = Letter::parse(queue, body, &none());
            assert!(
                matches!(letter, Letter::Unknown { .. }),
                "{queue:?} {body}: {letter:?}"
            );
        }
    }
}
