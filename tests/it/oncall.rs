//! The on-call brain end to end: schedules resolved when each level fires,
//! per-person notification rules at their own delays, urgency, gaps, and an
//! acknowledgement stopping everything after it.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use klaxon_core::incident::{Channel, Status, TimelineEntry, TimelineEvent};
use klaxon_local::events::{Delivery, alarm, sms_reply};

use crate::common::{World, opened_id};

/// Each level waits this long before the next one.
const LEVEL: u32 = 4;
/// Each person: email at once, SMS this many seconds later.
const SMS_AFTER: u32 = 2;

/// Three people with email-then-SMS rules; level 1 targets the `primary`
/// schedule, whose override hands it from aiko to chloe at `handoff`.
fn three_level_yaml(w: &World, repeat: u32, handoff: Timestamp) -> String {
    timed_yaml(w, repeat, handoff, LEVEL, SMS_AFTER)
}

/// [`three_level_yaml`] with other level timeouts and SMS delays.
fn timed_yaml(w: &World, repeat: u32, handoff: Timestamp, level: u32, sms_after: u32) -> String {
    let person = |id: &str, name: &str, n: u32| {
        format!(
            r#"  {id}:
    name: {name}
    time_zone: Asia/Tokyo
    phone: "+8190{tag}{n:02}"
    email: {email}
    notification_rules:
      high:
        - {{channel: email, after_seconds: 0}}
        - {{channel: sms, after_seconds: {sms_after}}}
      low:
        - {{channel: email}}
"#,
            tag = w.tag,
            email = w.email(id)
        )
    };
    let long_ago = Timestamp::now() - SignedDuration::from_hours(48);
    format!(
        r#"version: 1
people:
{aiko}{ben}{chloe}services:
  api: {{escalation_policy: three-levels}}
  batch: {{escalation_policy: three-levels, urgency: low}}
schedules:
  primary:
    time_zone: Asia/Tokyo
    layers:
      - name: aiko-always
        rotation: daily
        start: {start}
        participants: [aiko]
    overrides:
      - {{person: chloe, from: "{handoff}", to: "{until}"}}
  empty:
    time_zone: Europe/Berlin
    layers:
      - name: office-hours-far-away
        rotation: weekly
        start: 2090-01-02
        participants: [ben]
escalation_policies:
  three-levels:
    repeat: {repeat}
    levels:
      - {{targets: [{{schedule: primary}}], timeout_seconds: {level}}}
      - {{targets: [ben], timeout_seconds: {level}}}
      - {{targets: [chloe, {{schedule: empty}}], timeout_seconds: {level}}}
routing:
  default: {{service: api, severity: SEV2}}
  rules:
    - name: batch
      match: {{alarm_name: "batch-*"}}
      service: batch
      severity: SEV4
"#,
        aiko = person("aiko", "Aiko", 1),
        ben = person("ben", "Ben", 2),
        chloe = person("chloe", "Chloe", 3),
        start = long_ago.to_zoned(jiff::tz::TimeZone::UTC).date(),
        until = handoff + SignedDuration::from_hours(24),
    )
}

fn phone(w: &World, n: u32) -> String {
    format!("+8190{}{n:02}", w.tag)
}

/// (step, person name, channel, at) of every page, in timeline order.
fn pages(timeline: &[TimelineEntry]) -> Vec<(u32, String, Channel, Timestamp)> {
    timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Paged {
                step,
                person,
                channel,
                ..
            } => Some((*step, person.clone(), *channel, e.at)),
            _ => None,
        })
        .collect()
}

fn fired(timeline: &[TimelineEntry]) -> Vec<(u32, Vec<String>, Timestamp)> {
    timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::LevelFired { step, targets, .. } => Some((*step, targets.clone(), e.at)),
            _ => None,
        })
        .collect()
}

fn secs(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64()
}

#[tokio::test]
async fn a_three_level_policy_with_a_schedule_pages_in_order_at_each_persons_delays() {
    let w = World::bare().await;
    // The schedule hands over from aiko to chloe during the first pass, so
    // the later passes' level 1 must page chloe: schedules are resolved
    // when the level fires, not when the incident opened.
    let handoff = Timestamp::now() + SignedDuration::from_secs(i64::from(2 * LEVEL));
    w.local
        .apply_config(&three_level_yaml(&w, 2, handoff))
        .await
        .expect("apply");
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("api-5xx"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    // Nine levels of LEVEL seconds each: longer than the usual patience.
    assert_eq!(
        w.wait_execution_end_within(&id, Duration::from_secs(120))
            .await,
        "SUCCEEDED"
    );

    let timeline = w.timeline(&id).await;
    let levels = fired(&timeline);
    let who: Vec<(u32, Vec<String>)> = levels.iter().map(|(s, t, _)| (*s, t.clone())).collect();
    assert_eq!(
        who,
        vec![
            (0, vec!["aiko (schedule primary)".to_string()]),
            (1, vec!["ben".to_string()]),
            (2, vec!["chloe".to_string()]),
            (3, vec!["chloe (schedule primary)".to_string()]),
            (4, vec!["ben".to_string()]),
            (5, vec!["chloe".to_string()]),
            (6, vec!["chloe (schedule primary)".to_string()]),
            (7, vec!["ben".to_string()]),
            (8, vec!["chloe".to_string()]),
        ],
        "{timeline:#?}"
    );
    // Levels fire one timeout apart (the emulator's timers are not exact).
    for pair in levels.windows(2) {
        let gap = secs(pair[0].2, pair[1].2);
        assert!(
            gap >= f64::from(LEVEL) - 0.5 && gap < f64::from(LEVEL) + 5.0,
            "levels {} and {} fired {gap:.1} s apart",
            pair[0].0,
            pair[1].0
        );
    }
    // Each level: email at once, then SMS SMS_AFTER seconds later.
    let sent = pages(&timeline);
    assert_eq!(sent.len(), 18, "{sent:#?}");
    for (step, targets, fired_at) in &levels {
        let mine: Vec<_> = sent.iter().filter(|p| p.0 == *step).collect();
        assert_eq!(
            mine.iter().map(|p| p.2).collect::<Vec<_>>(),
            vec![Channel::Email, Channel::Sms],
            "step {step} ({targets:?})"
        );
        // The email goes out in the level's first run; the SMS waits for
        // its own wake-up (the emulator's timers and a loaded machine make
        // the upper bounds loose; the lower bound is what matters).
        let email_delay = secs(*fired_at, mine[0].3);
        let sms_delay = secs(*fired_at, mine[1].3);
        assert!(
            email_delay < f64::from(SMS_AFTER),
            "step {step}: email {email_delay:.1} s after the level fired"
        );
        assert!(
            sms_delay >= f64::from(SMS_AFTER) - 1.0 && sms_delay < f64::from(SMS_AFTER) + 8.0,
            "step {step}: SMS {sms_delay:.1} s after the level fired"
        );
    }
    // The empty schedule on level 3 is a warning, not a failure.
    let warnings: Vec<&str> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Warning { step, message } if *step == 2 => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(warnings, vec!["schedule 'empty' has nobody on call"]);
    for step in [5, 8] {
        assert!(
            timeline.iter().any(|e| matches!(
                &e.event,
                TimelineEvent::Warning { step: s, .. } if *s == step
            )),
            "the gap is recorded on every pass (step {step})"
        );
    }
    assert!(
        timeline
            .iter()
            .any(|e| e.event.kind() == "escalation_exhausted")
    );

    // What the emulator actually delivered matches the timeline.
    assert_eq!(w.wait_for_email(&w.email("aiko"), 1).await.len(), 1);
    assert_eq!(w.wait_for_email(&w.email("ben"), 3).await.len(), 3);
    assert_eq!(w.wait_for_email(&w.email("chloe"), 5).await.len(), 5);
    assert_eq!(w.sms_to(&phone(&w, 1)).await.len(), 1);
    assert_eq!(w.sms_to(&phone(&w, 2)).await.len(), 3);
    assert_eq!(w.sms_to(&phone(&w, 3)).await.len(), 5);
    let mail = &w.local.emulator.emails_to(&w.email("ben")).await.unwrap()[0];
    assert!(mail.subject.contains(&id), "{}", mail.subject);
    assert!(mail.body.contains("ACK "), "{}", mail.body);
    pump.stop().await;
}

#[tokio::test]
async fn an_ack_in_the_middle_stops_every_later_notification() {
    let w = World::bare().await;
    let far = Timestamp::now() + SignedDuration::from_hours(24);
    // Longer delays than the other tests: the acknowledgement must land
    // between ben's email and his SMS even on a loaded machine.
    let (level, sms_after) = (12, 8);
    w.local
        .apply_config(&timed_yaml(&w, 2, far, level, sms_after))
        .await
        .expect("apply");
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("api-latency"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let code = w.incident(&id).await.ack_code;

    // Level 2 fires: ben gets his email, and acknowledges from his phone
    // before his SMS is due. Being paged by email is enough to be allowed
    // to acknowledge.
    w.wait_for_email(&w.email("ben"), 1).await;
    let reply = sms_reply(
        &phone(&w, 2),
        &format!("ACK {code}"),
        &format!("in-{}", w.tag),
    )
    .unwrap();
    w.local.deliver_reply(&reply).await.expect("reply handled");
    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Acknowledged);
    let acked_at = incident.acknowledged_at.expect("acknowledged_at");
    assert_eq!(w.wait_execution_end(&id).await, "ABORTED");

    // Nothing after the ack: ben's only SMS is the confirmation of his ack,
    // and chloe gets nothing at all.
    tokio::time::sleep(Duration::from_secs(u64::from(sms_after) + 2)).await;
    let ben_sms = w.sms_to(&phone(&w, 2)).await;
    assert_eq!(ben_sms.len(), 1, "{ben_sms:?}");
    assert!(
        ben_sms[0].message.starts_with("Klaxon: acknowledged"),
        "{}",
        ben_sms[0].message
    );
    assert!(w.sms_to(&phone(&w, 3)).await.is_empty());
    assert!(
        w.local
            .emulator
            .emails_to(&w.email("chloe"))
            .await
            .unwrap()
            .is_empty()
    );
    let sent = pages(&w.timeline(&id).await);
    let after_ack: Vec<_> = sent.iter().filter(|p| p.3 > acked_at).collect();
    assert!(after_ack.is_empty(), "{after_ack:#?}");
    assert!(sent.iter().all(|p| p.0 <= 1), "{sent:#?}");
    pump.stop().await;
}

#[tokio::test]
async fn low_urgency_never_sends_sms() {
    let w = World::bare().await;
    let far = Timestamp::now() + SignedDuration::from_hours(24);
    w.local
        .apply_config(&three_level_yaml(&w, 0, far))
        .await
        .expect("apply");
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("batch-late"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let incident = w.incident(&id).await;
    assert_eq!(incident.urgency.to_string(), "low");
    assert_eq!(incident.decided_by, "rule:batch");
    assert_eq!(w.wait_execution_end(&id).await, "SUCCEEDED");
    let sent = pages(&w.timeline(&id).await);
    assert_eq!(sent.len(), 3, "one email per level: {sent:#?}");
    assert!(sent.iter().all(|p| p.2 == Channel::Email));
    for n in 1..=3 {
        assert!(w.sms_to(&phone(&w, n)).await.is_empty());
    }
    pump.stop().await;
}

#[tokio::test]
async fn a_flapping_alarm_is_recorded_but_pages_only_after_the_window() {
    let w = World::bare().await;
    let yaml = crate::common::oncall_yaml(&w, 30, 0).replace(
        "checkout: {escalation_policy: default}",
        "checkout: {escalation_policy: default, flapping_window_seconds: 10}",
    );
    assert!(yaml.contains("flapping_window_seconds"));
    w.local.apply_config(&yaml).await.expect("apply");
    let pump = w.pump();
    let name = w.alarm_name("api-flap");
    let deliver = |state: &'static str, at: &'static str| {
        let event = alarm(Delivery::EventBridge, &name, state, at).unwrap();
        let local = std::sync::Arc::clone(&w.local);
        async move { local.deliver_alarm(&event).await.expect("delivered") }
    };

    // A real alarm pages at once; its OK resolves it.
    let first = opened_id(&deliver("ALARM", "2026-11-21T06:00:00.000Z").await);
    w.wait_for_sms(&w.alice, 1).await;
    deliver("OK", "2026-11-21T06:01:00.000Z").await;

    // It fires again within the window: a new incident records the flap,
    // and nobody is paged; an OK within the window resolves it quietly.
    let flap = opened_id(&deliver("ALARM", "2026-11-21T06:01:30.000Z").await);
    assert_ne!(flap, first);
    let timeline = w.timeline(&flap).await;
    let hold = timeline
        .iter()
        .find_map(|e| match &e.event {
            TimelineEvent::Flapping {
                previous,
                hold_seconds,
            } => Some((previous.clone(), *hold_seconds)),
            _ => None,
        })
        .expect("the flap is on the timeline");
    assert_eq!(hold.0, first);
    assert!(hold.1 > 0 && hold.1 <= 10, "{hold:?}");
    deliver("OK", "2026-11-21T06:01:40.000Z").await;
    assert_eq!(w.incident(&flap).await.status, Status::Resolved);

    // Fired again and staying in ALARM: held too, then paged once the
    // window has passed.
    let alarm_at = Timestamp::now();
    let held = opened_id(&deliver("ALARM", "2026-11-21T06:02:10.000Z").await);
    assert!(
        w.timeline(&held)
            .await
            .iter()
            .any(|e| e.event.kind() == "flapping"),
        "another flap: the previous incident was resolved by OK just now"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    if w.sms_to(&w.alice).await.len() != 1 {
        for id in [&first, &flap, &held] {
            eprintln!("== {id}");
            for e in w.timeline(id).await {
                eprintln!("  {} {}", klaxon_core::time::iso(e.at), e.event.summary());
            }
        }
        eprintln!("now {}", klaxon_core::time::iso(Timestamp::now()));
    }
    assert_eq!(w.sms_to(&w.alice).await.len(), 1, "held: nobody paged yet");
    w.wait_for_sms(&w.alice, 2).await;
    let waited = secs(alarm_at, Timestamp::now());
    assert!(
        waited >= 5.0,
        "paged {waited:.1} s after the alarm, within the window"
    );
    assert!(
        pages(&w.timeline(&flap).await).is_empty(),
        "the quiet flap paged nobody"
    );
    pump.stop().await;
}

#[tokio::test]
async fn a_step_run_twice_fires_its_level_once_and_sends_each_notification_once() {
    let w = World::bare().await;
    let far = Timestamp::now() + SignedDuration::from_hours(24);
    w.local
        .apply_config(&timed_yaml(&w, 0, far, 12, 6))
        .await
        .expect("apply");
    // No pump: this test plays the escalator itself, the way a retried or
    // duplicated SQS delivery would.
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("api-twice"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let escalator = w.local.escalator();
    // Twice at once, then again: aiko's email (due at once) goes out once,
    // and the next wake-up is her SMS.
    // A run that meets the other's claim before it is sent is told to
    // come again (its step message is redelivered), not answered.
    let (a, b) = tokio::join!(escalator.run_step(&id, 0), escalator.run_step(&id, 0));
    let c = escalator.run_step(&id, 0).await.unwrap();
    for r in answered_or_in_flight([a, b]).iter().chain([&c]) {
        assert_eq!((r.step, r.done), (0, false), "{r:?}");
    }
    assert_eq!(w.wait_for_email(&w.email("aiko"), 1).await.len(), 1);
    assert!(w.sms_to(&phone(&w, 1)).await.is_empty());

    // After the SMS delay: the SMS, once, however often the step runs.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (d, e) = tokio::join!(escalator.run_step(&id, 0), escalator.run_step(&id, 0));
    let answered = answered_or_in_flight([d, e]);
    assert!(!answered.is_empty(), "one of two concurrent runs sends");
    for r in answered {
        assert_eq!(r.step, 1, "next wake-up is level 2: {r:?}");
    }
    assert_eq!(w.wait_for_sms(&phone(&w, 1), 1).await.len(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(w.sms_to(&phone(&w, 1)).await.len(), 1);
    assert_eq!(
        w.local
            .emulator
            .emails_to(&w.email("aiko"))
            .await
            .unwrap()
            .len(),
        1
    );
    let timeline = w.timeline(&id).await;
    assert_eq!(fired(&timeline).len(), 1, "the level fired once");
    assert_eq!(pages(&timeline).len(), 2, "{timeline:#?}");
}

/// The results of concurrent runs of one step that were answered; the
/// others must have met a page claimed by a concurrent run.
fn answered_or_in_flight<const N: usize>(
    runs: [Result<klaxon_ports::StepResult, klaxon_app::AppError>; N],
) -> Vec<klaxon_ports::StepResult> {
    runs.into_iter()
        .filter_map(|r| match r {
            Ok(result) => Some(result),
            Err(e) => {
                assert!(
                    matches!(e, klaxon_app::AppError::InFlight { .. }) && e.retryable(),
                    "{e}"
                );
                None
            }
        })
        .collect()
}
