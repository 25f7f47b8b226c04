//! The voice-call handler against the fakes, driven with AWS's documented
//! event payloads (`events/voice/`), the call's attributes carried from
//! one answer to the next as the SIP media application carries them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::world::World;
use klaxon_core::incident::{Channel, Status, TimelineEvent};
use klaxon_core::voice::{CallNote, CallOutcome};
use klaxon_ports::{CallPurpose, Incidents};
use klaxon_testing::{AIKO, BEN, at};

/// Aiko: email at once, a call after 60 s; Ben speaks Japanese and is
/// called at once on level 2.
const VOICE: &str = r#"
version: 1
people:
  aiko:
    name: Aiko Tanaka
    phone: "+819012340001"
    email: aiko@example.com
    notification_rules:
      high:
        - {channel: email, after_seconds: 0}
        - {channel: voice, after_seconds: 60}
  ben:
    name: Ben Miller
    language: ja-JP
    phone: "+14155550102"
    notification_rules:
      high:
        - {channel: voice}
services:
  general: {escalation_policy: default}
escalation_policies:
  default:
    levels:
      - targets: [aiko]
        timeout_seconds: 300
      - targets: [ben]
        timeout_seconds: 300
routing:
  default: {service: general, severity: SEV1}
"#;

fn fixture(name: &str) -> Value {
    let text = match name {
        "new-outbound-call" => include_str!("../../../../events/voice/new-outbound-call.json"),
        "ringing" => include_str!("../../../../events/voice/ringing.json"),
        "call-answered" => include_str!("../../../../events/voice/call-answered.json"),
        "digits-received" => include_str!("../../../../events/voice/digits-received.json"),
        "no-digits" => include_str!("../../../../events/voice/no-digits.json"),
        "speak-done" => include_str!("../../../../events/voice/speak-done.json"),
        "call-update-requested" => {
            include_str!("../../../../events/voice/call-update-requested.json")
        }
        "hangup" => include_str!("../../../../events/voice/hangup.json"),
        "hangup-busy" => include_str!("../../../../events/voice/hangup-busy.json"),
        "hangup-no-answer" => include_str!("../../../../events/voice/hangup-no-answer.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// One call as the SIP media application sees it.
struct Call<'w> {
    w: &'w World,
    transaction_id: String,
    to: String,
    arguments: BTreeMap<String, String>,
    attributes: Value,
    sequence: u64,
}

impl<'w> Call<'w> {
    /// The last call the fake network placed.
    fn last(w: &'w World) -> Self {
        let placed = w.calls.placed().last().cloned().expect("a call was placed");
        Self {
            w,
            transaction_id: placed.transaction_id,
            to: placed.to,
            arguments: placed.arguments.to_map(),
            attributes: json!({}),
            sequence: 0,
        }
    }

    /// Sends the event `name` (with `digits`, if any) and returns the actions.
    async fn event(&mut self, name: &str, digits: Option<&str>) -> Vec<Value> {
        let mut e = fixture(name);
        self.w.clock.advance(1);
        self.sequence += 1;
        e["Sequence"] = json!(self.sequence);
        e["CallDetails"]["TransactionId"] = json!(self.transaction_id);
        e["CallDetails"]["TransactionAttributes"] = self.attributes.clone();
        e["CallDetails"]["Participants"][0]["To"] = json!(self.to);
        if name == "new-outbound-call" {
            e["ActionData"]["Parameters"]["Arguments"] = json!(self.arguments);
        }
        if let Some(d) = digits {
            e["ActionData"]["ReceivedDigits"] = json!(d);
        }
        let response = self.w.voice().handle(&e).await.expect("handled");
        assert_eq!(response["SchemaVersion"], "1.0");
        self.attributes = response["TransactionAttributes"].clone();
        response["Actions"].as_array().cloned().unwrap_or_default()
    }

    /// Placed, ringing, answered: the actions of the answer.
    async fn answer(&mut self) -> Vec<Value> {
        assert!(self.event("new-outbound-call", None).await.is_empty());
        assert!(self.event("ringing", None).await.is_empty());
        self.event("call-answered", None).await
    }
}

fn said(actions: &[Value]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| {
            a["Parameters"]["Text"]
                .as_str()
                .or(a["Parameters"]["SpeechParameters"]["Text"].as_str())
                .map(str::to_string)
        })
        .collect()
}

fn types(actions: &[Value]) -> Vec<&str> {
    actions.iter().filter_map(|a| a["Type"].as_str()).collect()
}

async fn notes(w: &World, id: &str) -> Vec<String> {
    w.timeline(id)
        .await
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Call { note, .. } => Some(note.to_string()),
            _ => None,
        })
        .collect()
}

/// An incident whose level 1 has fired and whose call to Aiko was placed.
async fn called(w: &World) -> String {
    let id = w.open_incident("api-5xx", at(0)).await;
    w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(w.email.sent().len(), 1, "email first");
    assert!(w.calls.placed().is_empty(), "no call before its offset");
    w.clock.advance(60);
    w.escalator().run_step(&id, 0).await.unwrap();
    id
}

#[tokio::test]
async fn a_voice_rule_calls_at_its_offset_and_four_acknowledges() {
    // GIVEN Aiko's call was placed 60 s after her email
    let w = World::new(VOICE);
    let id = called(&w).await;
    let placed = w.calls.placed();
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].to, AIKO);
    assert_eq!(
        placed[0].arguments.purpose,
        CallPurpose::Page {
            incident_id: id.clone(),
            step: 0
        }
    );
    // WHEN she answers and presses 4
    let mut call = Call::last(&w);
    let asked = call.answer().await;
    assert_eq!(types(&asked), ["SpeakAndGetDigits"]);
    assert_eq!(
        said(&asked),
        [
            "Klaxon alert for general. Severity 1. api-5xx. Press 4 to acknowledge. Press 6 to resolve. Press star to hear this again."
        ]
    );
    assert_eq!(
        asked[0]["Parameters"]["SpeechParameters"]["VoiceId"],
        "Joanna"
    );
    let answer = call.event("digits-received", Some("4")).await;
    // THEN it is acknowledged by her, she hears so, and the call ends
    assert_eq!(said(&answer), ["Acknowledged. Thank you, Aiko Tanaka."]);
    assert_eq!(types(&answer), ["Speak", "Hangup"]);
    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Acknowledged);
    assert_eq!(
        incident.acknowledged_by.as_deref(),
        Some("Aiko Tanaka (+81******0001)")
    );
    assert_eq!(w.escalations.stopped().len(), 1, "escalation stopped");
    call.event("speak-done", None).await;
    call.event("hangup", None).await;
    assert_eq!(
        notes(&w, &id).await,
        ["answered", "pressed 4: acknowledged", "ended, acted on"]
    );
    // AND nothing more is sent for it
    w.clock.advance(300);
    w.escalator().run_step(&id, 1).await.unwrap();
    assert_eq!(w.calls.placed().len(), 1);
}

#[tokio::test]
async fn six_resolves() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    let mut call = Call::last(&w);
    call.answer().await;
    let answer = call.event("digits-received", Some("6")).await;
    assert_eq!(said(&answer), ["Resolved. Thank you, Aiko Tanaka."]);
    assert_eq!(w.incident(&id).await.status, Status::Resolved);
}

#[tokio::test]
async fn nine_changes_nothing_and_four_then_acknowledges() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    let mut call = Call::last(&w);
    call.answer().await;
    let answer = call.event("digits-received", Some("9")).await;
    assert_eq!(types(&answer), ["SpeakAndGetDigits"]);
    assert!(said(&answer)[0].starts_with("That key does nothing. Press 4"));
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    call.event("digits-received", Some("4")).await;
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
}

#[tokio::test]
async fn silence_repeats_twice_then_the_call_ends_unacknowledged() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    let mut call = Call::last(&w);
    call.answer().await;
    for _ in 0..2 {
        let again = call.event("no-digits", None).await;
        assert_eq!(types(&again), ["SpeakAndGetDigits"]);
    }
    let last = call.event("no-digits", None).await;
    assert_eq!(types(&last), ["Speak", "Hangup"]);
    call.event("hangup", None).await;
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    assert_eq!(
        notes(&w, &id).await.last().map(String::as_str),
        Some("ended, answered, no key acted")
    );
}

#[tokio::test]
async fn busy_and_no_answer_are_on_the_timeline_and_escalation_goes_on() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    let mut call = Call::last(&w);
    call.event("new-outbound-call", None).await;
    call.event("hangup-busy", None).await;
    assert_eq!(notes(&w, &id).await, ["ended, busy (SIP 486)"]);
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
    // Level 2 calls Ben, who does not answer.
    w.clock.advance(300);
    w.escalator().run_step(&id, 1).await.unwrap();
    let mut ben = Call::last(&w);
    assert_eq!(ben.to, BEN);
    ben.event("new-outbound-call", None).await;
    ben.event("hangup-no-answer", None).await;
    let last = w
        .timeline(&id)
        .await
        .into_iter()
        .rev()
        .find_map(|e| match e.event {
            TimelineEvent::Call {
                note: CallNote::Ended { outcome, .. },
                person,
                ..
            } => Some((person, outcome)),
            _ => None,
        });
    assert_eq!(last, Some(("Ben Miller".into(), CallOutcome::NoAnswer)));
}

#[tokio::test]
async fn a_call_answered_after_an_sms_acknowledgement_says_who_and_asks_nothing() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    let code = w.incident(&id).await.ack_code;
    // Aiko's SMS is paged too (her number was, by the call): she replies.
    let reply = w.sms_from(AIKO, &format!("ACK {code}"), "in-1");
    w.replies().handle_sms(&reply).await.unwrap();
    // The ringing call was told to end...
    let updates = w.calls.updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].1["klaxon_status"], "ACKNOWLEDGED");
    // ...and answered anyway, it says so and asks nothing.
    let mut call = Call::last(&w);
    let answer = call.answer().await;
    assert_eq!(
        said(&answer),
        ["This alert was acknowledged by Aiko Tanaka. Goodbye."]
    );
    assert_eq!(types(&answer), ["Speak", "Hangup"]);
}

#[tokio::test]
async fn an_update_during_the_call_says_why_it_ends_in_the_callees_language() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    w.clock.advance(300);
    w.escalator().run_step(&id, 1).await.unwrap();
    let mut ben = Call::last(&w);
    let asked = ben.answer().await;
    assert_eq!(
        asked[0]["Parameters"]["SpeechParameters"]["VoiceId"],
        "Takumi"
    );
    assert_eq!(
        asked[0]["Parameters"]["SpeechParameters"]["LanguageCode"],
        "ja-JP"
    );
    assert!(said(&asked)[0].starts_with("Klaxon のアラートです。"));
    let update = ben.event("call-update-requested", None).await;
    assert_eq!(
        said(&update),
        ["このアラートは Ben Miller さんが確認済みにしました。失礼します。"]
    );
    assert_eq!(types(&update), ["Speak", "Hangup"]);
}

#[tokio::test]
async fn a_key_on_a_call_to_a_number_that_was_not_paged_changes_nothing() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    let mut call = Call::last(&w);
    call.to = "+819099999999".into();
    call.answer().await;
    let answer = call.event("digits-received", Some("4")).await;
    assert_eq!(
        said(&answer),
        ["This number was not paged for this alert. Goodbye."]
    );
    assert_eq!(w.incident(&id).await.status, Status::Triggered);
}

#[tokio::test]
async fn the_fourth_call_to_a_number_in_fifteen_minutes_is_not_placed() {
    let w = World::new(VOICE);
    for n in 0..4 {
        let id = w.open_incident(&format!("api-{n}"), at(n * 100)).await;
        w.escalator().run_step(&id, 0).await.unwrap();
        w.clock.advance(60);
        w.escalator().run_step(&id, 0).await.unwrap();
        if n == 3 {
            let warned = w.timeline(&id).await.iter().any(|e| {
                matches!(&e.event, TimelineEvent::Warning { message, .. }
                    if message.contains("not placed: 3 calls to that number in 15 minutes"))
            });
            assert!(warned, "{:?}", w.kinds(&id).await);
        }
    }
    assert_eq!(w.calls.placed().len(), 3);
}

#[tokio::test]
async fn without_a_voice_number_a_voice_rule_leaves_a_warning() {
    let w = World::new(VOICE);
    let id = w.open_incident("api-5xx", at(0)).await;
    let escalator = crate::escalator::Escalator {
        calls: None,
        ..w.escalator()
    };
    escalator.run_step(&id, 0).await.unwrap();
    w.clock.advance(60);
    escalator.run_step(&id, 0).await.unwrap();
    assert!(w.calls.placed().is_empty());
    let warning = w
        .timeline(&id)
        .await
        .into_iter()
        .find_map(|e| match e.event {
            TimelineEvent::Warning { message, .. } => Some(message),
            _ => None,
        });
    assert_eq!(
        warning.as_deref(),
        Some(
            "aiko not notified by voice: voice is not configured (the stack has no VoiceFromNumber)"
        )
    );
}

#[tokio::test]
async fn the_paged_entry_of_a_call_names_its_transaction() {
    let w = World::new(VOICE);
    let id = called(&w).await;
    let call = Call::last(&w);
    let paged = w
        .timeline(&id)
        .await
        .into_iter()
        .find_map(|e| match e.event {
            TimelineEvent::Paged {
                channel: Channel::Voice,
                message_id,
                to,
                ..
            } => Some((message_id, to)),
            _ => None,
        });
    assert_eq!(
        paged,
        Some((call.transaction_id.clone(), "+81******0001".to_string()))
    );
    let incident = w.store.get(&id).await.unwrap().unwrap();
    assert!(incident.paged_numbers.contains(AIKO));
}

#[tokio::test]
async fn an_event_without_call_details_is_refused_naming_the_field() {
    let w = World::new(VOICE);
    let err = w
        .voice()
        .handle(&json!({"SchemaVersion": "1.0", "InvocationEventType": "RINGING"}))
        .await
        .unwrap_err();
    assert!(!err.retryable());
    assert!(err.to_string().contains("CallDetails"), "{err}");
}

#[tokio::test]
async fn a_call_klaxon_did_not_place_is_hung_up() {
    let w = World::new(VOICE);
    let mut e = fixture("call-answered");
    e["CallDetails"]["TransactionAttributes"] = json!({});
    let response = w.voice().handle(&e).await.unwrap();
    assert_eq!(types(response["Actions"].as_array().unwrap()), ["Hangup"]);
}

#[tokio::test]
async fn an_event_naming_the_application_sip_application_id_is_read_the_same() {
    // AWS's own samples use both names for the application's id.
    let mut e = fixture("call-answered");
    let details = e["CallDetails"].as_object_mut().unwrap();
    let id = details.remove("SipMediaApplicationId").unwrap();
    details.insert("SipApplicationId".into(), id.clone());
    let parsed = super::SmaEvent::parse(&e).unwrap();
    assert_eq!(
        parsed.call_details.sip_media_application_id.as_deref(),
        id.as_str()
    );
}

#[tokio::test]
async fn the_calls_of_an_incident_are_summarised_with_their_outcome_and_keys() {
    // GIVEN Aiko answered, pressed 9, then 4; Ben's call was busy
    let w = World::new(VOICE);
    let id = called(&w).await;
    let mut aiko = Call::last(&w);
    aiko.answer().await;
    aiko.event("digits-received", Some("9")).await;
    aiko.event("digits-received", Some("4")).await;
    aiko.event("hangup", None).await;
    // WHEN the incident's calls are listed (klaxon incidents show)
    let calls = crate::calls::call_summaries(&w.timeline(&id).await);
    // THEN each call has its person, masked number, outcome and keys
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(
        (c.person.as_str(), c.to.as_str()),
        ("Aiko Tanaka", "+81******0001")
    );
    assert!(c.answered);
    assert_eq!(c.keys, ["9: options repeated", "4: acknowledged"]);
    assert_eq!(c.outcome, Some(CallOutcome::Acted));
    assert!(crate::calls::live_calls(&w.timeline(&id).await).is_empty());
}
