//! The matrix's rows on the escalation outliving what AWS does to it: a
//! channel down for a long while, a level due while another level's
//! channel fails, an escalation that never started, a step that cannot
//! succeed. Each prints its row as the others do.

use std::time::{Duration, Instant};

use jiff::SignedDuration;
use klaxon_app::operator::change_status;
use klaxon_core::incident::TimelineEvent;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::faults::{Fate, Fault, FaultProxy};
use klaxon_local::phone::{PhoneNetwork, Script};
use klaxon_local::{PAGE_RETRY_PARAMETERS, scaled, time_scale};
use klaxon_ports::{Escalations, Transition, TransitionOutcome};
use klaxon_system::SystemClock;

use super::{ALARM_AT, Arm, OK_AT, Outcome, Rig, Row, count_message, repeated};
use crate::common::{World, emulator_endpoint, opened_id};

/// Alice, by SMS only, on level 1 (`timeout` s); then, when given, Bob by
/// email only on level 2 (his address and timeout).
fn alice_by_sms(w: &World, timeout: u64, then: Option<(&str, u64)>) -> String {
    let (bob, level_two) = match then {
        Some((email, t)) => (
            format!("\n  bob: {{name: Bob, email: \"{email}\"}}"),
            format!("\n      - {{targets: [bob], timeout_seconds: {t}}}"),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        r#"
version: 1
people:
  alice: {{name: Alice, phone: "{alice}"}}{bob}
services:
  checkout: {{escalation_policy: default}}
escalation_policies:
  default:
    levels:
      - {{targets: [alice], timeout_seconds: {timeout}}}{level_two}
routing:
  default: {{service: checkout, severity: SEV2}}
"#,
        alice = w.alice
    )
}

/// Alice (SMS and email) on level 1, Bob (SMS and email) on level 2.
fn two_levels(w: &World, level_one: u64, level_two: u64) -> String {
    two_levels_with(w, level_one, level_two, "")
}

/// Like [`two_levels`], each person also called when `rules` says so
/// (notification rules in flow style, or nothing).
fn two_levels_with(w: &World, level_one: u64, level_two: u64, rules: &str) -> String {
    format!(
        r#"
version: 1
people:
  alice: {{name: Alice, phone: "{alice}", email: "{alice_mail}"{rules}}}
  bob: {{name: Bob, phone: "{bob}", email: "{bob_mail}"{rules}}}
services:
  checkout: {{escalation_policy: default}}
escalation_policies:
  default:
    levels:
      - {{targets: [alice], timeout_seconds: {level_one}}}
      - {{targets: [bob], timeout_seconds: {level_two}}}
routing:
  default: {{service: checkout, severity: SEV1}}
"#,
        alice = w.alice,
        alice_mail = w.email("alice"),
        bob = w.bob,
        bob_mail = w.email("bob"),
    )
}

/// Messages to `to` (a number or an address) about alarm `name`.
async fn arrived(w: &World, to: &str, name: &str) -> usize {
    if to.starts_with('+') {
        w.sms_to(to)
            .await
            .iter()
            .filter(|m| m.message.contains(name) && m.message.contains("Reply ACK"))
            .count()
    } else {
        w.local
            .emulator
            .emails_to(to)
            .await
            .expect("emails")
            .iter()
            .filter(|m| m.subject.contains(name))
            .count()
    }
}

/// Waits up to `within` until `to` has a message about `name`; how long it took.
async fn arrival(w: &World, to: &str, name: &str, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if arrived(w, to, name).await > 0 {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

async fn execution_status(w: &World, id: &str) -> String {
    let arn = w
        .incident(id)
        .await
        .escalation_execution
        .expect("execution");
    aws_sdk_sfn::Client::new(&w.local.sdk)
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("describe execution")
        .status()
        .as_str()
        .to_string()
}

#[tokio::test]
async fn level_two_is_paged_on_time_by_email_while_level_ones_sms_keeps_failing() {
    // GIVEN Alice is paged by SMS on level 1 (10 s), Bob by email on level
    // 2, and every SMS send fails
    let (w, proxy) = World::proxied(&[]).await;
    let bob = w.email("bob");
    w.local
        .apply_config(&alice_by_sms(&w, 10, Some((&bob, 600))))
        .await
        .unwrap();
    proxy.inject("sns", Some("Publish"), Fault::Status(500), 100_000);
    // WHEN an alarm opens an incident and the escalation runs
    let name = w.alarm_name("failing");
    let event = alarm(Delivery::EventBridge, &name, "ALARM", ALARM_AT).unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let pump = w.pump();
    // THEN Bob is emailed at level 2's time, while Alice's SMS fails
    let mut out = Outcome {
        fault_fired: true,
        ..Outcome::default()
    };
    if arrival(&w, &bob, &name, Duration::from_secs(60))
        .await
        .is_none()
    {
        out.lost.push("Bob's level-2 email (not in 60 s)".into());
    }
    assert!(w.sms_to(&w.alice).await.is_empty());
    let timeline = w.timeline(&id).await;
    let fired: Vec<_> = timeline
        .iter()
        .filter_map(|e| match e.event {
            TimelineEvent::LevelFired { step, .. } => Some((step, e.at)),
            _ => None,
        })
        .collect();
    assert_eq!(fired.len(), 2, "{fired:?}");
    let between = fired[1].1.duration_since(fired[0].1).as_secs_f64();
    assert!(
        (10.0..16.0).contains(&between),
        "level 2 fired {between} s after level 1, its timeout is 10 s"
    );
    assert!(
        timeline
            .iter()
            .any(|e| matches!(e.event, TimelineEvent::PageFailed { .. })),
        "{timeline:#?}"
    );
    // AND once SMS is back, Alice's level-1 text goes out, once
    proxy.heal();
    w.wait_for_sms(&w.alice, 1).await;
    pump.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    count_message(
        "Alice's SMS",
        arrived(&w, &w.alice, &name).await,
        0,
        &mut out,
    );
    count_message("Bob's email", arrived(&w, &bob, &name).await, 0, &mut out);
    // AND the metrics counted from the committed timeline say so: the SMS
    // failed once (its first failure), then went out; the email went out
    let round = w.local.publish_events().await.unwrap();
    assert_eq!(round.failed_at, None, "{round:?}");
    let counted = super::metric_totals(&w);
    let metric = |name: &str, channel: &str| {
        counted
            .get(&(name.to_string(), Some(channel.to_string())))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(
        (
            metric("PagesFailed", "sms"),
            metric("PagesSent", "sms"),
            metric("PagesSent", "email")
        ),
        (1, 1, 1),
        "{counted:?}"
    );
    let mut row = Row::new(
        "level 2 (email) due while level 1's SMS fails on every try: paged on time, and the SMS once SMS is back",
    );
    row.add("level two on time", &out);
    row.report();
}

/// SMS failing for longer than `PageRetryMinutes` (10 scaled minutes):
/// the page is given up, once, and the operators hear of it. The timeline
/// says `page_given_up`, and the metric lines count `PagesGivenUp` once,
/// per channel and as the stack's total (the one `<stack>-pages-given-up`
/// alarms on), beside the page's one `PagesFailed`.
#[tokio::test]
async fn a_page_failing_past_its_retry_limit_is_given_up_once_and_counted_for_the_operators() {
    let retry_minutes = format!("{:.3}", 10.0 * time_scale());
    let (w, proxy) = World::proxied(&[(PAGE_RETRY_PARAMETERS[2], retry_minutes)]).await;
    w.local
        .apply_config(&alice_by_sms(&w, 60, None))
        .await
        .unwrap();
    proxy.inject("sns", Some("Publish"), Fault::Status(500), 1_000_000);
    let name = w.alarm_name("given-up");
    let event = alarm(Delivery::EventBridge, &name, "ALARM", ALARM_AT).unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let pump = w.pump();
    let mut out = Outcome {
        fault_fired: true,
        ..Outcome::default()
    };
    let deadline = Instant::now() + scaled(600) + Duration::from_secs(90);
    let given_up = loop {
        let timeline = w.timeline(&id).await;
        let given_up = timeline
            .iter()
            .filter(|e| matches!(e.event, TimelineEvent::PageGivenUp { .. }))
            .count();
        if given_up > 0 || Instant::now() > deadline {
            break given_up;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Once given up, nothing retries it: let a few more runs pass.
    tokio::time::sleep(scaled(300)).await;
    pump.stop().await;
    let timeline = w.timeline(&id).await;
    let entries = timeline
        .iter()
        .filter(|e| matches!(e.event, TimelineEvent::PageGivenUp { .. }))
        .count();
    match (given_up, entries) {
        (0, _) => out.lost.push("the page given up, on the timeline".into()),
        (_, 1) => {}
        (_, n) => out.duplicated.push(format!("page_given_up x{n}")),
    }
    let before = super::metric_totals(&w);
    let round = w.local.publish_events().await.unwrap();
    assert_eq!(round.failed_at, None, "{round:?}");
    let total = |name: &str, channel: Option<&str>| {
        let counted = super::metric_totals(&w);
        let key = (name.to_string(), channel.map(str::to_string));
        counted.get(&key).copied().unwrap_or(0) - before.get(&key).copied().unwrap_or(0)
    };
    let counted = (
        total("PagesGivenUp", Some("sms")),
        total("PagesFailed", Some("sms")),
        total("PagesSent", Some("sms")),
    );
    if counted != (1, 1, 0) {
        out.lost.push(format!(
            "the metric lines (PagesGivenUp, PagesFailed, PagesSent by sms): {counted:?}"
        ));
    }
    let mut row = Row::new(
        "SMS failing past PageRetryMinutes: the page given up once, counted PagesGivenUp for the operators' alarm",
    );
    row.add("given up", &out);
    row.report();
}

/// SNS SMS down for an hour, at the harness's time scale (an hour is
/// `scaled(3600)`; the stack's page retries are scaled alike, and retried
/// for 90 scaled minutes so the hour is inside the retry window). Two
/// incidents open as it starts; one is acknowledged during the outage.
/// Each person is paged by SMS, email and a call.
#[tokio::test]
async fn an_hour_without_sms_pages_by_email_and_voice_on_time_and_by_sms_once_it_is_back() {
    let scale = time_scale();
    let retry_minutes = format!("{:.3}", 90.0 * scale);
    let proxy = FaultProxy::start(&emulator_endpoint())
        .await
        .expect("fault proxy");
    let network = PhoneNetwork::start().await.expect("phone network");
    let w = World::voice_via(
        &network,
        &proxy.endpoint,
        &[(PAGE_RETRY_PARAMETERS[2], retry_minutes)],
    )
    .await;
    for phone in [&w.alice, &w.bob] {
        network.script(phone, Script::NoAnswer);
    }
    // Level 1: 10 minutes; level 2: two hours (still running at the end).
    let level_one = scaled(600);
    let rules =
        ", notification_rules: {high: [{channel: sms}, {channel: email}, {channel: voice}]}";
    w.local
        .apply_config(&two_levels_with(
            &w,
            level_one.as_secs(),
            scaled(7200).as_secs(),
            rules,
        ))
        .await
        .unwrap();
    let outage = scaled(3600);
    proxy.inject_for("sns", Some("Publish"), Fault::Status(500), outage);
    let began = Instant::now();
    let (kept, acked) = (w.alarm_name("outage-kept"), w.alarm_name("outage-acked"));
    let mut ids = Vec::new();
    for name in [&kept, &acked] {
        let event = alarm(Delivery::EventBridge, name, "ALARM", ALARM_AT).unwrap();
        ids.push(opened_id(&w.local.deliver_alarm(&event).await.unwrap()));
    }
    let pump = w.pump();
    let mut out = Outcome {
        fault_fired: true,
        ..Outcome::default()
    };
    let mut timings = Vec::new();
    // Email pages go out on time: level 1 at once, level 2 after level 1's timeout.
    for name in [&kept, &acked] {
        match arrival(&w, &w.email("alice"), name, Duration::from_secs(20)).await {
            Some(t) => timings.push(format!("level-1 email {:.1} s", t.as_secs_f64())),
            None => out.lost.push(format!("{name}: Alice's email, not on time")),
        }
    }
    let level_two_due = level_one.saturating_sub(began.elapsed());
    for name in [&kept, &acked] {
        match arrival(
            &w,
            &w.email("bob"),
            name,
            level_two_due + Duration::from_secs(20),
        )
        .await
        {
            Some(_) => timings.push(format!(
                "level-2 email {:.1} s after the alarm (level 1: {} s)",
                began.elapsed().as_secs_f64(),
                level_one.as_secs()
            )),
            None => out.lost.push(format!("{name}: Bob's email, not on time")),
        }
    }
    // Calls go out on time: both incidents call Alice at once and Bob at
    // level 2 (each placed after that level's email, in the same run).
    let calls_due = began + level_one + Duration::from_secs(20);
    for (phone, who) in [(&w.alice, "Alice"), (&w.bob, "Bob")] {
        while network.calls_to(phone).len() < 2 && Instant::now() < calls_due {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let calls = network.calls_to(phone).len();
        if calls < 2 {
            out.lost
                .push(format!("{} of 2 calls to {who}, not on time", 2 - calls));
        }
    }
    timings.push(format!(
        "calls placed by {:.1} s",
        began.elapsed().as_secs_f64()
    ));
    // One incident is acknowledged during the outage.
    match change_status(
        &w.local.store,
        &w.local.escalations,
        &SystemClock,
        &ids[1],
        Transition::Acknowledge,
        "alice",
    )
    .await
    {
        Ok(TransitionOutcome::Done(_)) => {}
        other => out.lost.push(format!("the acknowledgement: {other:?}")),
    }
    assert!(
        began.elapsed() < outage,
        "the scenario outran its outage ({outage:?}): raise the time scale"
    );
    // Nothing reaches a phone during the outage.
    for phone in [&w.alice, &w.bob] {
        let texts = w.sms_to(phone).await;
        assert!(texts.is_empty(), "SMS during the outage: {texts:?}");
    }
    // SMS is back: the kept incident's texts go out within the longest
    // retry wait, once; the acknowledged one's never.
    let back_in = outage.saturating_sub(began.elapsed());
    tokio::time::sleep(back_in).await;
    let max_wait = scaled(300) + Duration::from_secs(15);
    for phone in [&w.alice, &w.bob] {
        match arrival(&w, phone, &kept, max_wait).await {
            Some(t) => timings.push(format!(
                "SMS {:.1} s after SMS was back (longest retry wait {} s)",
                t.as_secs_f64(),
                scaled(300).as_secs()
            )),
            None => out
                .lost
                .push(format!("{kept}: the SMS to {phone} after the outage")),
        }
    }
    tokio::time::sleep(scaled(300)).await;
    let status = execution_status(&w, &ids[0]).await;
    if status != "RUNNING" {
        out.lost
            .push(format!("the unacknowledged escalation ended: {status}"));
    }
    pump.stop().await;
    for phone in [&w.alice, &w.bob] {
        count_message(
            &format!("{kept} SMS to {phone}"),
            arrived(&w, phone, &kept).await,
            0,
            &mut out,
        );
        let after_ack = arrived(&w, phone, &acked).await;
        if after_ack > 0 {
            out.duplicated.push(format!(
                "{after_ack} SMS to {phone} for an incident acknowledged meanwhile"
            ));
        }
    }
    for (phone, who) in [(&w.alice, "Alice"), (&w.bob, "Bob")] {
        let calls = network.calls_to(phone).len();
        match calls {
            2 => {}
            n if n < 2 => out.lost.push(format!("{} of 2 calls to {who}", 2 - n)),
            n => out.duplicated.push(format!("{n} calls to {who}, 2 due")),
        }
    }
    for (name, person) in [
        (&kept, "alice"),
        (&kept, "bob"),
        (&acked, "alice"),
        (&acked, "bob"),
    ] {
        count_message(
            &format!("{name} email to {person}"),
            arrived(&w, &w.email(person), name).await,
            0,
            &mut out,
        );
    }
    for id in &ids {
        let timeline = w.timeline(id).await;
        for (event, n) in repeated(&timeline) {
            out.duplicated
                .push(format!("timeline entry written {n} times: {event}"));
        }
        if timeline
            .iter()
            .any(|e| matches!(&e.event, TimelineEvent::PageGivenUp { .. }))
        {
            out.lost.push(format!("{id}: a page given up"));
        }
    }
    // The OK resolves the kept incident and stops its escalation.
    let ok = alarm(Delivery::EventBridge, &kept, "OK", OK_AT).unwrap();
    w.local.deliver_alarm(&ok).await.unwrap();
    if w.wait_execution_end(&ids[0]).await == "RUNNING" {
        out.lost.push("stopping the escalation".into());
    }
    println!("an hour without SMS: {}", timings.join("; "));
    let mut row = Row::new(&format!(
        "SNS SMS down for an hour (scaled to {} s), each person paged by SMS, email and voice: two incidents, one acknowledged meanwhile",
        outage.as_secs()
    ));
    row.add("outage", &out);
    row.report();
}

#[tokio::test]
async fn an_escalation_that_never_started_is_restarted_by_the_sweep() {
    // Step Functions refuses every StartExecution while the ALARM is
    // delivered: intake commits the incident, fails every try, and its
    // failed-events queue gets the event; the sweep then starts the
    // escalation, and the loop goes on.
    let mut rig = Rig::new().await;
    let mut row = Row::new(
        "StartExecution failing on every try of the ALARM's delivery: the sweep restarts the escalation",
    );
    for n in 0..2 {
        let out = rig
            .run_with_sweep(&Arm::inject(
                "states",
                Some("StartExecution"),
                Fault::Status(500),
                100_000,
            ))
            .await;
        row.add(&format!("run {n}"), &out);
    }
    row.report();
}

/// A step the escalator cannot perform (its incident is gone) fails the
/// workflow: `SendTaskFailure`, the call only that path makes, meets each
/// fault; the execution still ends FAILED, said once on the timeline.
#[tokio::test]
async fn a_step_that_cannot_succeed_fails_its_execution_once_whatever_its_calls_meet() {
    let (w, proxy) = World::proxied(&[]).await;
    w.local.apply_config(&two_levels(&w, 60, 60)).await.unwrap();
    let arms = [
        ("SendTaskFailure throttled 4 times", Fault::Throttle, 4),
        (
            "SendTaskFailure cut after it applied",
            Fault::CutAfterApply,
            1,
        ),
        (
            "SendTaskFailure answering 500 three times",
            Fault::Status(500),
            3,
        ),
    ];
    let mut row =
        Row::new("a step that cannot succeed, its SendTaskFailure throttled, cut or failing");
    for (n, (what, fault, times)) in arms.into_iter().enumerate() {
        proxy.heal();
        let id = format!("20261207-GONE{n}{}", w.tag);
        let before = super::metric_totals(&w);
        let execution = w.local.escalations.start(&id, 0).await.expect("start");
        proxy.inject("states", Some("SendTaskFailure"), fault, times);
        let pump = w.pump();
        let status = w
            .wait_execution_arn_end(&execution, Duration::from_secs(120))
            .await;
        pump.stop().await;
        let mut out = Outcome {
            fault_fired: proxy.faults_spent(),
            ..Outcome::default()
        };
        if status != "FAILED" {
            out.lost.push(format!("the failed execution ({status})"));
        }
        let timeline = w.timeline(&id).await;
        let failures = timeline
            .iter()
            .filter(|e| matches!(e.event, TimelineEvent::EscalationFailed { .. }))
            .count();
        // The escalator never returns an error: its failed step is counted
        // for the operators' alarm instead.
        if super::metric_growth(&before, &w, "EscalationStepsFailed") < 1 {
            out.lost
                .push("the failed step's EscalationStepsFailed".into());
        }
        match failures {
            0 => out.lost.push("escalation_failed on the timeline".into()),
            1 => {}
            n => out.duplicated.push(format!("escalation_failed x{n}")),
        }
        for (event, n) in repeated(&timeline) {
            out.duplicated
                .push(format!("timeline entry written {n} times: {event}"));
        }
        row.add(what, &out);
    }
    row.report();
}

impl Rig {
    /// Like [`Rig::run`], for an ALARM whose escalation could not start:
    /// the ALARM's delivery is expected to end in the failed-events queue
    /// (saying why); faults are then healed and the escalation sweep runs
    /// (as it would within its 2-minute schedule, the incident past its
    /// grace) before the rest of the loop.
    pub async fn run_with_sweep(&mut self, arm: &Arm) -> Outcome {
        let name = self.next_alarm(arm).await;
        let mut out = Outcome::default();
        self.alarm_phase(&name, arm, &mut out).await;
        let start_failed = std::mem::take(&mut out.dead_letters);
        if !start_failed
            .iter()
            .any(|d| d.contains("StartExecution") || d.contains("Step Functions"))
        {
            out.lost.push(format!(
                "the ALARM's failure, said in its dead letter: {start_failed:?}"
            ));
        }
        // Every try was refused: the fault fired, and never ran out.
        let fired = self
            .proxy
            .calls()
            .iter()
            .any(|c| matches!(c.fate, Fate::Faulted(_)));
        self.proxy.heal();
        let before = super::metric_totals(&self.w);
        let report = self
            .w
            .local
            .sweep_handler(SignedDuration::ZERO)
            .run()
            .await
            .expect("sweep");
        let ours: Vec<_> = report.restarted.iter().filter(|r| r.step == 0).collect();
        if ours.len() != 1 {
            out.lost.push(format!("the sweep's restart: {report:?}"));
        }
        // The operators hear of it: the incident found without an
        // escalation and its restart are counted, once each.
        let counted = (
            super::metric_growth(&before, &self.w, "IncidentsWithoutEscalation"),
            super::metric_growth(&before, &self.w, "EscalationsRestarted"),
        );
        let expected = (
            report.without_escalation as u64,
            report.restarted.len() as u64,
        );
        if counted != expected || expected.1 < 1 {
            out.lost.push(format!(
                "the sweep's metrics: counted {counted:?}, found and restarted {expected:?}"
            ));
        }
        let mut out = self.finish(&name, arm, out).await;
        out.fault_fired = fired;
        out
    }
}
