//! SMS replies against the fakes.

use super::*;
use crate::world::World;
use klaxon_core::incident::Status;
use klaxon_testing::{AIKO, BEN, Op, at, transient};

/// An incident whose level 1 has texted Aiko; returns its id and code.
async fn paged(w: &World) -> (String, String) {
    let id = w.open_incident("checkout-5xx", at(0)).await;
    w.escalator().run_step(&id, 0).await.unwrap();
    w.clock.advance(60);
    w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(w.sms.to(AIKO).len(), 1);
    let code = w.incident(&id).await.ack_code;
    (id, code)
}

#[tokio::test]
async fn a_paged_responder_acknowledges_by_sms() {
    // GIVEN Aiko was paged
    let w = World::default();
    let (id, code) = paged(&w).await;
    // WHEN she replies with the code, in full-width characters
    let outcome = w
        .replies()
        .handle_sms(&w.sms_from(AIKO, &format!("ＡＣＫ　{code}"), "in-1"))
        .await
        .unwrap();
    // THEN the incident is acknowledged, escalation stops, she gets a confirmation
    assert_eq!(
        outcome,
        ReplyOutcome::Acknowledged {
            incident_id: id.clone()
        }
    );
    let i = w.incident(&id).await;
    assert_eq!(i.status, Status::Acknowledged);
    assert_eq!(i.acknowledged_at, Some(at(60)));
    assert!(i.acknowledged_by.unwrap().contains("Aiko"));
    assert_eq!(w.escalations.stopped().len(), 1);
    assert_eq!(w.sms.to(AIKO).len(), 2);
    assert!(w.kinds(&id).await.contains(&"confirmation_sent"));
}

#[tokio::test]
async fn a_reply_from_a_number_that_was_not_paged_changes_nothing() {
    // GIVEN only Aiko was paged; Ben is a known responder
    let w = World::default();
    let (id, code) = paged(&w).await;
    // WHEN Ben replies with the code
    let outcome = w
        .replies()
        .handle_sms(&w.sms_from(BEN, &format!("ACK {code}"), "in-2"))
        .await
        .unwrap();
    // THEN nothing changes and nothing is sent to him
    assert!(
        matches!(outcome, ReplyOutcome::Refused { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    assert!(w.sms.to(BEN).is_empty());
}

#[tokio::test]
async fn a_redelivered_inbound_message_acts_once() {
    let w = World::default();
    let (_, code) = paged(&w).await;
    let sms = w.sms_from(AIKO, &format!("RES {code}"), "in-3");
    assert!(matches!(
        w.replies().handle_sms(&sms).await.unwrap(),
        ReplyOutcome::Resolved { .. }
    ));
    assert_eq!(
        w.replies().handle_sms(&sms).await.unwrap(),
        ReplyOutcome::Duplicate
    );
    assert_eq!(w.sms.to(AIKO).len(), 2, "one page, one confirmation");
}

#[tokio::test]
async fn an_acknowledgement_after_another_says_so() {
    let w = World::default();
    let (id, code) = paged(&w).await;
    w.store
        .with(|s| s.set_status(&id, Status::Acknowledged, at(30), "Ben"));
    let outcome = w
        .replies()
        .handle_sms(&w.sms_from(AIKO, &format!("ACK {code}"), "in-4"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, ReplyOutcome::Refused { .. }),
        "{outcome:?}"
    );
    assert!(
        w.sms.to(AIKO).last().unwrap().contains("ACKNOWLEDGED"),
        "{:?}",
        w.sms.to(AIKO)
    );
}

#[tokio::test]
async fn unknown_codes_and_gibberish_get_help_only_for_known_responders() {
    let w = World::default();
    paged(&w).await;
    let r = w
        .replies()
        .handle_sms(&w.sms_from(BEN, "ACK 0000", "in-5"))
        .await
        .unwrap();
    assert!(matches!(r, ReplyOutcome::Refused { .. }));
    let r = w
        .replies()
        .handle_sms(&w.sms_from(BEN, "what?", "in-6"))
        .await
        .unwrap();
    assert_eq!(r, ReplyOutcome::Unrecognised);
    assert_eq!(w.sms.to(BEN).len(), 2, "help twice");
    let stranger = "+447700900123";
    let r = w
        .replies()
        .handle_sms(&w.sms_from(stranger, "what?", "in-7"))
        .await
        .unwrap();
    assert_eq!(r, ReplyOutcome::Unrecognised);
    assert!(w.sms.to(stranger).is_empty(), "strangers get no answer");
}

#[tokio::test]
async fn stop_and_help_are_left_to_end_user_messaging() {
    // GIVEN Aiko was paged
    let w = World::default();
    let (id, code) = paged(&w).await;
    let before = w.sms.sent().len();
    // WHEN she replies STOP, and STOP with the incident's code
    let plain = w
        .replies()
        .handle_sms(&w.sms_from(AIKO, "STOP", "in-8"))
        .await
        .unwrap();
    let named = w
        .replies()
        .handle_sms(&w.sms_from(AIKO, &format!("stop {code}"), "in-9"))
        .await
        .unwrap();
    let help = w
        .replies()
        .handle_sms(&w.sms_from(BEN, "HELP", "in-10"))
        .await
        .unwrap();
    // THEN Klaxon answers none of them; the one naming a code is on the timeline
    assert_eq!(
        plain,
        ReplyOutcome::Keyword {
            keyword: "STOP".into(),
            incident_id: None
        }
    );
    assert_eq!(
        named,
        ReplyOutcome::Keyword {
            keyword: "STOP".into(),
            incident_id: Some(id.clone())
        }
    );
    assert_eq!(
        help,
        ReplyOutcome::Keyword {
            keyword: "HELP".into(),
            incident_id: None
        }
    );
    assert_eq!(w.sms.sent().len(), before);
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    assert_eq!(
        w.kinds(&id)
            .await
            .iter()
            .filter(|k| **k == "keyword")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_failed_reply_gives_its_claim_back_for_the_redelivery() {
    let w = World::default();
    let (id, code) = paged(&w).await;
    w.store
        .fail_next(Op::Transition, transient("TransactWriteItems"));
    let sms = w.sms_from(AIKO, &format!("ACK {code}"), "in-11");
    assert!(w.replies().handle_sms(&sms).await.unwrap_err().retryable());
    assert!(matches!(
        w.replies().handle_sms(&sms).await.unwrap(),
        ReplyOutcome::Acknowledged { .. }
    ));
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
}

#[tokio::test]
async fn an_sns_event_carries_the_inbound_sms() {
    let w = World::default();
    let (id, code) = paged(&w).await;
    let message = serde_json::json!({
        "originationNumber": AIKO,
        "messageBody": format!("ack {code}"),
        "inboundMessageId": "in-12"
    });
    let event = serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m", "Message": message.to_string()}}]});
    let outcomes = w.replies().handle(&event).await.unwrap();
    assert_eq!(
        outcomes,
        vec![ReplyOutcome::Acknowledged { incident_id: id }]
    );
    let err = w
        .replies()
        .handle(&serde_json::json!({"Records": []}))
        .await
        .unwrap_err();
    assert!(!err.retryable());
}

#[tokio::test]
async fn a_redelivered_ack_finishes_what_a_crashed_first_run_began() {
    // GIVEN Aiko's ACK was applied, but the run died before stopping the
    // escalation or confirming (and could not even give its claim back)
    let w = World::default();
    let (id, code) = paged(&w).await;
    w.escalations.fail_next_stop(transient("StopExecution"));
    w.store
        .fail_next(Op::ReleaseInbound, transient("DeleteItem"));
    let sms = w.sms_from(AIKO, &format!("ACK {code}"), "in-13");
    assert!(w.replies().handle_sms(&sms).await.is_err());
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
    assert!(w.escalations.stopped().is_empty());
    assert_eq!(w.sms.to(AIKO).len(), 1, "no confirmation yet");
    // WHEN the same message is delivered again, twice
    w.clock.advance(5);
    let again = w.replies().handle_sms(&sms).await.unwrap();
    let third = w.replies().handle_sms(&sms).await.unwrap();
    // THEN the escalation is stopped and she is confirmed once, not told "already acknowledged"
    assert_eq!(again, ReplyOutcome::Duplicate);
    assert_eq!(third, ReplyOutcome::Duplicate);
    assert!(!w.escalations.stopped().is_empty());
    let texts = w.sms.to(AIKO);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].contains("acknowledged"), "{texts:?}");
    assert_eq!(
        w.kinds(&id)
            .await
            .iter()
            .filter(|k| **k == "acknowledged")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_reply_given_back_after_a_failure_is_finished_not_refused() {
    // GIVEN the ACK was applied but stopping the escalation failed, so the
    // claim was given back for a redelivery
    let w = World::default();
    let (id, code) = paged(&w).await;
    w.escalations.fail_next_stop(transient("StopExecution"));
    let sms = w.sms_from(AIKO, &format!("ack {code}"), "in-14");
    assert!(w.replies().handle_sms(&sms).await.unwrap_err().retryable());
    // WHEN it comes again
    let outcome = w.replies().handle_sms(&sms).await.unwrap();
    // THEN it finishes: stop, one confirmation, no "already acknowledged"
    assert_eq!(outcome, ReplyOutcome::Duplicate);
    assert_eq!(w.escalations.stopped().len(), 1);
    let texts = w.sms.to(AIKO);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(!texts[1].contains("already"), "{texts:?}");
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
}

#[tokio::test]
async fn a_redelivered_ack_that_was_never_applied_is_applied() {
    // GIVEN the first run claimed the message and died before acting
    let w = World::default();
    let (id, code) = paged(&w).await;
    let sms = w.sms_from(AIKO, &format!("ACK {code}"), "in-15");
    w.store.with(|s| {
        s.inbound.insert("in-15".into(), None);
    });
    // WHEN it is delivered again
    let outcome = w.replies().handle_sms(&sms).await.unwrap();
    // THEN it acknowledges
    assert_eq!(outcome, ReplyOutcome::Acknowledged { incident_id: id });
}

#[tokio::test]
async fn a_confirmation_being_sent_by_another_run_is_not_sent_twice() {
    // GIVEN Aiko's ACK is being confirmed by a first run, until its deadline
    let w = World::default();
    let (_, code) = paged(&w).await;
    let sms = w.sms_from(AIKO, &format!("ACK {code}"), "in-16");
    let first = Replies {
        deadline: Some(at(100)),
        ..w.replies()
    };
    // (it died after claiming: its send failed, and so did giving back the
    // confirmation's claim and the message's)
    w.sms.fail_next(transient("Publish"));
    w.store
        .fail_next(Op::ReleaseConfirmation, transient("UpdateItem"));
    w.store
        .fail_next(Op::ReleaseInbound, transient("DeleteItem"));
    assert!(first.handle_sms(&sms).await.is_err());
    // WHEN the message is delivered again before that run's deadline
    let early = w.replies().handle_sms(&sms).await.unwrap_err();
    // THEN it is told to come back after the deadline, and nothing is sent
    assert!(early.retryable(), "{early}");
    assert_eq!(early.retry_after(), Some(at(100)));
    assert_eq!(w.sms.to(AIKO).len(), 1, "the page only");
    // WHEN it comes again after the deadline, twice
    w.clock.advance(100);
    assert_eq!(
        w.replies().handle_sms(&sms).await.unwrap(),
        ReplyOutcome::Duplicate
    );
    w.replies().handle_sms(&sms).await.unwrap();
    // THEN she is confirmed once
    let texts = w.sms.to(AIKO);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].contains("acknowledged"), "{texts:?}");
}

#[tokio::test]
async fn an_event_with_a_bad_record_acts_on_none_of_its_records() {
    // GIVEN Aiko was paged, and an event whose first record acknowledges
    let w = World::default();
    let (id, code) = paged(&w).await;
    let good = serde_json::json!({"originationNumber": AIKO, "messageBody": format!("ACK {code}"), "inboundMessageId": "in-20"});
    let event = serde_json::json!({"Records": [
        {"Sns": {"Message": good.to_string()}},
        {"Sns": {"Message": "{\"messageBody\": \"ACK 1\"}"}}
    ]});
    // WHEN it is handled
    let err = w.replies().handle(&event).await.unwrap_err();
    // THEN it is rejected naming the bad record and its field, and nothing happened
    let message = err.to_string();
    assert!(
        message.contains("SNS record 1: not an inbound SMS: missing field `originationNumber`"),
        "{message}"
    );
    assert!(!err.retryable());
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    assert_eq!(w.sms.to(AIKO).len(), 1, "the page only");
}

#[tokio::test]
async fn errors_in_an_inbound_sms_name_the_field() {
    let w = World::default();
    let base = serde_json::json!({"originationNumber": AIKO, "messageBody": "ACK 1234", "inboundMessageId": "in-21"});
    let cases = [
        (
            "/messageBody",
            serde_json::json!(null),
            "messageBody: invalid type: null",
        ),
        (
            "/originationNumber",
            serde_json::json!(819012340001_u64),
            "originationNumber: invalid type: integer",
        ),
        (
            "/destinationNumber",
            serde_json::json!(5),
            "destinationNumber: invalid type: integer",
        ),
        (
            "/inboundMessageId",
            serde_json::json!(""),
            "inboundMessageId: is blank",
        ),
        (
            "/inboundMessageId",
            serde_json::json!(" "),
            "inboundMessageId: is blank",
        ),
        (
            "/inboundMessageId",
            serde_json::json!("i".repeat(257)),
            "inboundMessageId: is 257 characters",
        ),
    ];
    for (pointer, value, want) in cases {
        let mut message = base.clone();
        if let Some(slot) = message.pointer_mut(pointer) {
            *slot = value;
        } else {
            message[&pointer[1..]] = value;
        }
        let event = serde_json::json!({"Records": [{"Sns": {"Message": message.to_string()}}]});
        let err = w.replies().handle(&event).await.unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
        assert!(!err.retryable());
    }
    let mut longest = base.clone();
    longest["inboundMessageId"] = serde_json::json!("i".repeat(256));
    let event = serde_json::json!({"Records": [{"Sns": {"Message": longest.to_string()}}]});
    assert!(w.replies().handle(&event).await.is_ok());
}
