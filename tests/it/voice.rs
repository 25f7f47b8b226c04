//! Voice pages end to end: the escalator places calls through the Chime SDK
//! Voice API, answered by the simulated phone network
//! (`klaxon_local::phone`), which drives the real voice-call handler with
//! the SIP media application's events, per a script for each number. The
//! store, the workflow and the queues are the emulator's.

use std::sync::Arc;
use std::time::Duration;

use klaxon_core::incident::{Status, TimelineEvent};
use klaxon_core::voice::{CallNote, CallOutcome};
use klaxon_local::events::{Delivery, alarm, sms_reply};
use klaxon_local::phone::{CallRecord, PhoneNetwork, Press, Script};
use klaxon_local::{LOCAL_VOICE_FROM, Local, Pump};
use klaxon_ports::Incidents;
use rand::RngExt;
use tokio::sync::Notify;

use crate::common::{PATIENCE, opened_id};

/// A stack with a voice number and its phone network. Hana: email at
/// once, SMS and a call after 2 s; Ben (Japanese): a call at once, on
/// level 2.
struct Voice {
    local: Arc<Local>,
    network: PhoneNetwork,
    hana: String,
    ben: String,
    tag: String,
}

impl Voice {
    async fn new(level_seconds: u32) -> Self {
        let network = PhoneNetwork::start().await.expect("phone network");
        let n: u32 = rand::rng().random_range(0..1_000_000);
        let tag = format!("{n:06}");
        let local = Local::up_voice(&format!("v{tag}"), &network)
            .await
            .expect("local stack with voice");
        let (hana, ben) = (format!("+8190{tag}11"), format!("+8190{tag}12"));
        local
            .apply_config(&format!(
                r#"
version: 1
people:
  hana:
    name: Hana
    phone: "{hana}"
    email: hana-{tag}@example.com
    notification_rules:
      high:
        - {{channel: email}}
        - {{channel: sms, after_seconds: 2}}
        - {{channel: voice, after_seconds: 2}}
  ben:
    name: Ben
    language: ja-JP
    phone: "{ben}"
    notification_rules:
      high:
        - {{channel: voice}}
services:
  payments: {{escalation_policy: voice}}
escalation_policies:
  voice:
    levels:
      - {{targets: [hana], timeout_seconds: {level_seconds}}}
      - {{targets: [ben], timeout_seconds: {level_seconds}}}
routing:
  default: {{service: payments, severity: SEV1}}
"#
            ))
            .await
            .expect("apply config");
        Self {
            local,
            network,
            hana,
            ben,
            tag,
        }
    }

    /// Fires an alarm; returns the incident.
    async fn fire(&self) -> String {
        let name = format!("決済API-5xx-{}", self.tag);
        let event = alarm(
            Delivery::EventBridge,
            &name,
            "ALARM",
            "2026-11-21T06:00:00.000Z",
        )
        .unwrap();
        opened_id(&self.local.deliver_alarm(&event).await.unwrap())
    }

    async fn call_notes(&self, id: &str) -> Vec<(String, CallNote)> {
        self.local
            .store
            .timeline(id)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.event {
                TimelineEvent::Call { person, note, .. } => Some((person, note)),
                _ => None,
            })
            .collect()
    }

    async fn ended_calls(&self, number: &str, n: usize) -> Vec<CallRecord> {
        self.network
            .ended(number, n, PATIENCE)
            .await
            .expect("calls ended")
    }

    /// Waits until a call to `number` was placed (it may still ring).
    async fn placed(&self, number: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.network.calls_to(number).is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no call placed to {number}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Hana's SMS page's ack code, as she would read it.
    async fn hana_code(&self) -> String {
        let sms = self.local.emulator.sms_to(&self.hana).await.unwrap();
        crate::common::ack_code(&sms.last().expect("SMS page").message)
    }

    async fn status(&self, id: &str) -> Status {
        self.local.store.get(id).await.unwrap().unwrap().status
    }
}

fn texts(call: &CallRecord) -> Vec<&str> {
    call.spoken.iter().map(|s| s.text.as_str()).collect()
}

fn outcome(notes: &[(String, CallNote)], who: &str) -> Option<CallOutcome> {
    notes.iter().rev().find_map(|(p, n)| match n {
        CallNote::Ended { outcome, .. } if p == who => Some(*outcome),
        _ => None,
    })
}

#[tokio::test]
async fn a_voice_rule_rings_after_the_email_and_pressing_4_acknowledges() {
    let v = Voice::new(60).await;
    v.network
        .script(&v.hana, Script::Answer(vec![Press::Key('4')]));
    let pump = Pump::start(Arc::clone(&v.local));
    let id = v.fire().await;
    let calls = v.ended_calls(&v.hana, 1).await;
    let call = &calls[0];
    assert_eq!(call.from, LOCAL_VOICE_FROM);
    assert_eq!(
        texts(call),
        [
            format!(
                "Klaxon alert for payments. Severity 1. 決済API-5xx-{}. Press 4 to acknowledge. Press 6 to resolve. Press star to hear this again.",
                v.tag
            )
            .as_str(),
            "Acknowledged. Thank you, Hana."
        ]
    );
    assert_eq!(call.spoken[0].voice_id, "Joanna");
    assert_eq!(v.status(&id).await, Status::Acknowledged);
    let incident = v.local.store.get(&id).await.unwrap().unwrap();
    assert!(
        incident
            .acknowledged_by
            .as_deref()
            .is_some_and(|b| b.starts_with("Hana (+81")),
        "{incident:?}"
    );
    // The email went first, the call at its offset.
    let timeline = v.local.store.timeline(&id).await.unwrap();
    let paged: Vec<(String, jiff::Timestamp)> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Paged { channel, .. } => Some((channel.to_string(), e.at)),
            _ => None,
        })
        .collect();
    let at = |ch: &str| {
        paged
            .iter()
            .find(|(c, _)| c == ch)
            .map(|(_, t)| *t)
            .unwrap()
    };
    assert!(
        at("voice").duration_since(at("email")).as_secs_f64() >= 1.9,
        "{paged:?}"
    );
    let notes = v.call_notes(&id).await;
    assert!(notes.iter().any(|(_, n)| matches!(n, CallNote::Key { key, effect } if key == "4" && effect == "acknowledged")));
    assert_eq!(outcome(&notes, "Hana"), Some(CallOutcome::Acted));
    // The escalation ended; Ben is never called.
    tokio::time::sleep(Duration::from_secs(3)).await;
    pump.stop().await;
    assert!(v.network.calls_to(&v.ben).is_empty());
    assert_eq!(
        v.network.calls_to(&v.hana).len(),
        1,
        "one call, however often the step ran"
    );
}

#[tokio::test]
async fn pressing_9_changes_nothing_then_6_resolves() {
    let v = Voice::new(60).await;
    v.network.script(
        &v.hana,
        Script::Answer(vec![Press::Key('9'), Press::Key('6')]),
    );
    let pump = Pump::start(Arc::clone(&v.local));
    let id = v.fire().await;
    let calls = v.ended_calls(&v.hana, 1).await;
    pump.stop().await;
    let said = texts(&calls[0]);
    assert!(
        said[1].starts_with("That key does nothing. Press 4"),
        "{said:?}"
    );
    assert_eq!(said.last(), Some(&"Resolved. Thank you, Hana."));
    assert_eq!(v.status(&id).await, Status::Resolved);
}

#[tokio::test]
async fn silence_ends_the_call_unacknowledged_and_level_2_is_called_in_japanese() {
    let v = Voice::new(6).await;
    v.network.script(&v.hana, Script::Answer(vec![]));
    v.network
        .script(&v.ben, Script::Answer(vec![Press::Key('4')]));
    let pump = Pump::start(Arc::clone(&v.local));
    let id = v.fire().await;
    let hana = v.ended_calls(&v.hana, 1).await;
    // The message, the options twice more, then goodbye.
    assert_eq!(hana[0].spoken.len(), 4, "{:?}", texts(&hana[0]));
    assert_eq!(texts(&hana[0])[3], "No key was pressed. Goodbye.");
    let ben = v.ended_calls(&v.ben, 1).await;
    pump.stop().await;
    let first = &ben[0].spoken[0];
    assert!(
        first
            .text
            .starts_with("Klaxon のアラートです。サービス payments、重大度 1。"),
        "{first:?}"
    );
    assert_eq!(
        (first.voice_id.as_str(), first.language.as_str()),
        ("Takumi", "ja-JP")
    );
    assert_eq!(
        texts(&ben[0]).last(),
        Some(&"確認済みにしました。Ben さん、ありがとうございます。")
    );
    assert_eq!(v.status(&id).await, Status::Acknowledged);
    let notes = v.call_notes(&id).await;
    assert_eq!(outcome(&notes, "Hana"), Some(CallOutcome::NoKey));
    assert_eq!(outcome(&notes, "Ben"), Some(CallOutcome::Acted));
}

#[tokio::test]
async fn no_answer_busy_and_a_hang_up_mid_message_acknowledge_nothing() {
    let v = Voice::new(4).await;
    v.network
        .script(&v.hana, Script::Answer(vec![Press::HangUp]));
    v.network.script(&v.ben, Script::Busy);
    let pump = Pump::start(Arc::clone(&v.local));
    let id = v.fire().await;
    v.ended_calls(&v.hana, 1).await;
    v.ended_calls(&v.ben, 1).await;
    pump.stop().await;
    assert_eq!(v.status(&id).await, Status::Triggered);
    let notes = v.call_notes(&id).await;
    assert_eq!(outcome(&notes, "Hana"), Some(CallOutcome::NoKey));
    assert_eq!(outcome(&notes, "Ben"), Some(CallOutcome::Busy));
    let summary: Vec<String> = v
        .local
        .store
        .timeline(&id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.summary())
        .collect();
    assert!(
        summary
            .iter()
            .any(|s| s.starts_with("call to Ben: ended, busy (SIP 486)")),
        "{summary:#?}"
    );
}

#[tokio::test]
async fn an_unanswered_call_is_recorded_as_no_answer() {
    let v = Voice::new(60).await;
    v.network.script(&v.hana, Script::NoAnswer);
    let pump = Pump::start(Arc::clone(&v.local));
    let id = v.fire().await;
    v.ended_calls(&v.hana, 1).await;
    pump.stop().await;
    let notes = v.call_notes(&id).await;
    assert_eq!(outcome(&notes, "Hana"), Some(CallOutcome::NoAnswer));
    assert_eq!(v.status(&id).await, Status::Triggered);
}

#[tokio::test]
async fn an_sms_acknowledgement_ends_the_call_still_ringing() {
    let v = Voice::new(60).await;
    let never = Arc::new(Notify::new());
    v.network
        .script(&v.hana, Script::AnswerWhen(Arc::clone(&never), vec![]));
    let pump = Pump::start(Arc::clone(&v.local));
    let id = v.fire().await;
    // The call rings; Hana acknowledges by SMS instead.
    v.placed(&v.hana).await;
    let code = v.hana_code().await;
    v.local
        .deliver_reply(
            &sms_reply(&v.hana, &format!("ACK {code}"), &format!("ack-{}", v.tag)).unwrap(),
        )
        .await
        .unwrap();
    let calls = v.ended_calls(&v.hana, 1).await;
    pump.stop().await;
    assert!(!calls[0].answered);
    assert!(
        calls[0]
            .events
            .contains(&"CALL_UPDATE_REQUESTED".to_string())
    );
    let notes = v.call_notes(&id).await;
    assert!(notes.iter().any(|(_, n)| matches!(n, CallNote::Updated { reason } if reason.starts_with("acknowledged by Hana"))), "{notes:?}");
    assert_eq!(outcome(&notes, "Hana"), Some(CallOutcome::Cancelled));
}

#[tokio::test]
async fn a_call_answered_after_an_sms_acknowledgement_says_who_and_asks_nothing() {
    let v = Voice::new(60).await;
    let gate = Arc::new(Notify::new());
    v.network.script(
        &v.hana,
        Script::AnswerWhen(Arc::clone(&gate), vec![Press::Key('4')]),
    );
    let pump = Pump::start(Arc::clone(&v.local));
    let id = v.fire().await;
    v.placed(&v.hana).await;
    // Acknowledged by SMS through a reply path that cannot reach the call
    // (its update lost), then answered.
    let code = v.hana_code().await;
    let local_without_calls = klaxon_app::reply::Replies::<klaxon_local::LocalPorts> {
        incidents: &v.local.store,
        inbound: &v.local.store,
        sms: &v.local.sms,
        escalations: &v.local.escalations,
        calls: None::<&klaxon_aws::chime::ChimeCalls>,
        config: &v.local.config,
        clock: &klaxon_system::SystemClock,
        deadline: None,
    };
    local_without_calls
        .handle(&sms_reply(&v.hana, &format!("ACK {code}"), &format!("ack-{}", v.tag)).unwrap())
        .await
        .unwrap();
    gate.notify_one();
    let calls = v.ended_calls(&v.hana, 1).await;
    pump.stop().await;
    assert_eq!(
        texts(&calls[0]),
        ["This alert was acknowledged by Hana. Goodbye."]
    );
    assert_eq!(v.status(&id).await, Status::Acknowledged);
}

#[tokio::test]
async fn a_test_call_and_a_test_sms_go_through_the_real_path_and_change_nothing() {
    let v = Voice::new(60).await;
    v.network
        .script(&v.hana, Script::Answer(vec![Press::Key('4')]));
    let config =
        klaxon_config::OncallConfig::from_yaml(&v.local.config.load().await.unwrap().unwrap().yaml)
            .unwrap();
    // As an operator with only the template's OperatorPolicy.
    let operator = v.local.as_operator().await.unwrap();
    let settings = v
        .local
        .stack
        .settings(klaxon_local::ids::ESCALATOR)
        .unwrap();
    let sms = klaxon_aws::sns::SnsSms::from_sdk(&operator, settings.sms_origination_number.clone());
    let email = settings
        .email_from
        .as_ref()
        .map(|from| klaxon_aws::ses::SesEmail::from_sdk(&operator, from));
    let phone = settings.voice.as_ref().map(|voice| {
        klaxon_aws::chime::ChimeCalls::from_sdk(
            &operator,
            &voice.sip_media_application_id,
            voice.from.clone(),
        )
    });
    let sent = klaxon_cli::test_notify::test_notify(
        &config,
        "hana",
        klaxon_core::incident::Channel::Voice,
        &sms,
        email.as_ref(),
        phone.as_ref(),
    )
    .await
    .unwrap();
    assert_eq!(sent.to, format!("+81******{}", &v.hana[v.hana.len() - 4..]));
    let calls = v.ended_calls(&v.hana, 1).await;
    assert_eq!(
        texts(&calls[0]),
        [
            "This is a Klaxon test call for Hana. No action is needed. Press 4 to confirm you can hear this. Press star to hear this again.",
            "Thank you, Hana. The test call worked. Goodbye."
        ]
    );
    klaxon_cli::test_notify::test_notify(
        &config,
        "hana",
        klaxon_core::incident::Channel::Sms,
        &sms,
        email.as_ref(),
        phone.as_ref(),
    )
    .await
    .unwrap();
    let sms = v.local.emulator.sms_to(&v.hana).await.unwrap();
    assert!(
        sms.iter()
            .any(|m| m.message.starts_with("Klaxon TEST for Hana")),
        "{sms:?}"
    );
    let open = v.local.store.list_open().await.unwrap();
    assert!(
        !open.iter().any(|i| i.alarm_name.contains(&v.tag)),
        "a test opens no incident"
    );
}

/// A row of the fault matrix: Chime refusing calls for a while (throttled
/// past what the SDK retries, or failing), the escalator retries the page
/// on its own schedule and the call is placed once Chime accepts it.
#[tokio::test]
async fn chime_refusing_calls_for_a_while_places_each_call_once_it_accepts() {
    use crate::faults::{Outcome, Row, count_message};
    let mut row = Row::new(
        "Chime refusing CreateSipMediaApplicationCall (ThrottledClientException 4 times; 500 three times): the call is placed once",
    );
    for (what, throttle, times) in [
        ("throttled 4 times", true, 4),
        ("500 three times", false, 3),
    ] {
        // GIVEN Chime refuses the next calls
        let v = Voice::new(60).await;
        v.network.script(&v.hana, Script::NoAnswer);
        v.network.refuse_calls(throttle, times);
        // WHEN Hana's voice rule is due
        let pump = Pump::start(Arc::clone(&v.local));
        let id = v.fire().await;
        // THEN her call is placed once Chime accepts it, and once only
        v.ended_calls(&v.hana, 1).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        pump.stop().await;
        let mut out = Outcome {
            fault_fired: v.network.refused() == times,
            ..Outcome::default()
        };
        count_message(
            "Hana's call",
            v.network.calls_to(&v.hana).len(),
            0,
            &mut out,
        );
        let timeline = v.local.store.timeline(&id).await.unwrap();
        for (event, n) in crate::faults::repeated(&timeline) {
            out.duplicated
                .push(format!("timeline entry written {n} times: {event}"));
        }
        row.add(what, &out);
    }
    row.report();
}
