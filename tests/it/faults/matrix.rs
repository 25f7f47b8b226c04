//! The scenarios of the matrix, one test per family. Each prints its row
//! (`| scenario | runs | lost | duplicated | re-sent |`) and fails on any
//! loss, duplicate, dead letter, or fault that never fired. "Re-sent"
//! counts second copies of an SMS or email whose provider accepted the
//! first but whose answer was lost (see [`super::Outcome::resent`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use klaxon_app::intake::IntakeOutcome;
use klaxon_app::reply::ReplyOutcome;
use klaxon_core::incident::Status;
use klaxon_local::events::{Delivery, alarm, sms_reply};
use klaxon_local::faults::{Fault, Operation};

use super::{ALARM_AT, Arm, Injection, OK_AT, Outcome, Phase, Rig, Row, claimed_after, repeated};
use crate::common::{World, ack_code, opened_id};

/// The loop without faults; its calls enumerate what the others break.
async fn baseline(rig: &mut Rig) -> Outcome {
    let out = rig.run(&Arm::None).await;
    assert!(
        out.lost.is_empty() && out.duplicated.is_empty() && out.dead_letters.is_empty(),
        "the loop without faults: {out:?}"
    );
    out
}

fn operations(base: &Outcome) -> BTreeSet<Operation> {
    base.calls.values().flatten().cloned().collect()
}

fn injection(op: &Operation, fault: Fault, times: usize) -> Injection {
    Injection {
        service: op.service.clone(),
        operation: Some(op.name.clone()),
        fault,
        times,
    }
}

fn inject(op: &Operation, fault: Fault, times: usize) -> Arm {
    Arm::Inject(vec![injection(op, fault, times)])
}

#[tokio::test]
async fn throttling_any_call_of_the_loop_loses_and_duplicates_nothing() {
    let mut rig = Rig::new().await;
    let base = baseline(&mut rig).await;
    let ops = operations(&base);
    // Four throttles: more than the SDK's three attempts, so the handler
    // itself fails once and its retry meets the fourth.
    let mut row = Row::new(&format!(
        "throttling, one scenario per operation ({})",
        super::listed(&ops)
    ));
    // The calls a failure makes that the loop without faults does not (a
    // reply's release of its claim, ...), each with the failure it follows.
    let mut failure_paths: Vec<(Operation, Operation)> = Vec::new();
    for op in &ops {
        let out = rig.run(&inject(op, Fault::Throttle, 4)).await;
        row.add(&format!("throttled {op}"), &out);
        for path in operations(&out).difference(&ops) {
            failure_paths.push((op.clone(), path.clone()));
        }
    }
    row.report();
    assert!(
        !failure_paths.is_empty(),
        "no failure made a call of its own: the next row would test nothing"
    );
    // Each of those calls fails too, while the failure that leads to it
    // happens: throttled on each of the SDK's 3 attempts (the call fails;
    // the redelivery may not make it again), or cut after it applied.
    let mut row = Row::new(&format!(
        "a call only a failure makes fails too ({})",
        failure_paths
            .iter()
            .map(|(first, path)| format!("{path} after throttled {first}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (first, path) in &failure_paths {
        for (fault, times) in [(Fault::Throttle, 3), (Fault::CutAfterApply, 1)] {
            let both = vec![
                injection(first, Fault::Throttle, 4),
                injection(path, fault, times),
            ];
            let out = rig.run(&Arm::Inject(both)).await;
            row.add(&format!("{fault:?} {path} after throttled {first}"), &out);
        }
    }
    row.report();
}

#[tokio::test]
async fn a_step_message_lost_before_the_escalator_is_queued_again_after_the_step_timeout() {
    // The workflow's task timeout (NotifyStep, scaled) re-queues the step.
    let mut rig = Rig::new().await;
    let mut row = Row::new("an escalation step message lost on its way (the task-timeout path)");
    for n in 0..2 {
        let out = rig.run(&Arm::LoseStepMessage).await;
        row.add(&format!("run {n}"), &out);
    }
    row.report();
}

#[tokio::test]
async fn a_connection_cut_after_any_call_was_applied_loses_and_duplicates_nothing() {
    let mut rig = Rig::new().await;
    let base = baseline(&mut rig).await;
    let ops = operations(&base);
    // The SDK retries the call, which meets the state the first attempt left.
    let mut row = Row::new("connection cut after the call was applied, once per operation");
    for op in &ops {
        let out = rig.run(&inject(op, Fault::CutAfterApply, 1)).await;
        row.add(&format!("cut after {op}"), &out);
    }
    row.report();
}

#[tokio::test]
async fn server_errors_and_latency_on_every_service_lose_and_duplicate_nothing() {
    let mut rig = Rig::new().await;
    let base = baseline(&mut rig).await;
    let services: BTreeSet<String> = operations(&base).into_iter().map(|o| o.service).collect();
    let mut errors = Row::new("HTTP 500 and 503, three of each per service");
    let mut slow = Row::new("2 s latency on every call of a service, one scenario per service");
    for service in &services {
        let calls = base
            .calls
            .values()
            .flatten()
            .filter(|o| &o.service == service)
            .count();
        for status in [500, 503] {
            let out = rig
                .run(&Arm::inject(service, None, Fault::Status(status), 3))
                .await;
            errors.add(&format!("{status} from {service}"), &out);
        }
        let out = rig
            .run(&Arm::inject(
                service,
                None,
                Fault::Latency(Duration::from_secs(2)),
                calls,
            ))
            .await;
        slow.add(&format!("slow {service}"), &out);
    }
    errors.report();
    slow.report();
}

/// A crash after each AWS call of one handler, then its redelivery.
async fn crash_each_call(phases: &[Phase]) {
    let mut rig = Rig::new().await;
    let base = baseline(&mut rig).await;
    for &phase in phases {
        let calls = base.calls.get(&phase).cloned().unwrap_or_default();
        assert!(!calls.is_empty(), "{phase:?} made no AWS call");
        let mut row = Row::new(&format!(
            "{} crashes after each of its {} AWS calls, then is redelivered",
            phase.handler(),
            calls.len()
        ));
        for (i, op) in calls.iter().enumerate() {
            let out = rig.run(&Arm::Crash(phase, i + 1)).await;
            row.add(&format!("crash after call {} ({op})", i + 1), &out);
        }
        row.report();
    }
}

#[tokio::test]
async fn intake_crashing_after_any_call_loses_and_duplicates_nothing() {
    crash_each_call(&[Phase::Alarm, Phase::Ok]).await;
}

#[tokio::test]
async fn the_escalator_crashing_after_any_call_loses_and_duplicates_nothing() {
    crash_each_call(&[Phase::Escalate]).await;
}

#[tokio::test]
async fn sms_reply_crashing_after_any_call_loses_and_duplicates_nothing() {
    crash_each_call(&[Phase::Ack]).await;
}

#[tokio::test]
async fn five_deliveries_of_every_event_lose_and_duplicate_nothing() {
    let mut rig = Rig::new().await;
    rig.copies = 5;
    let mut row = Row::new("every ALARM, ACK and OK delivered 5 times at once");
    for n in 0..3 {
        let out = rig.run(&Arm::None).await;
        row.add(&format!("run {n}"), &out);
    }
    row.report();
}

#[tokio::test]
async fn an_ok_delivered_before_its_alarm_opens_nothing() {
    let w = World::new(60, 0).await;
    let pump = w.pump();
    let name = w.alarm_name("ok-first");
    let ok = alarm(Delivery::EventBridge, &name, "OK", OK_AT).unwrap();
    let late_alarm = alarm(Delivery::Sns, &name, "ALARM", ALARM_AT).unwrap();
    let first = w.local.deliver_alarm(&ok).await.unwrap();
    let second = w.local.deliver_alarm(&late_alarm).await.unwrap();
    assert!(
        matches!(second[..], [IntakeOutcome::OutOfOrder { .. }]),
        "OK {first:?}, then the older ALARM: {second:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut row = Row::new("OK delivered before its ALARM");
    let mut out = Outcome {
        fault_fired: true,
        ..Outcome::default()
    };
    let open = klaxon_ports::Incidents::list_open(&w.local.store)
        .await
        .unwrap();
    if open.iter().any(|i| i.alarm_name == name) {
        out.duplicated
            .push("an incident for an alarm already OK".into());
    }
    if !w.sms_to(&w.alice).await.is_empty() {
        out.duplicated.push("a page for an alarm already OK".into());
    }
    row.add("ok first", &out);
    row.report();
    pump.stop().await;
}

#[tokio::test]
async fn a_hundred_concurrent_acks_racing_the_escalation_stop_it_once() {
    // Levels of 2 s repeated: the escalation keeps firing while the ACKs land.
    let w = World::new(2, 5).await;
    let pump = w.pump();
    let name = w.alarm_name("hundred");
    let event = alarm(Delivery::EventBridge, &name, "ALARM", ALARM_AT).unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let code = ack_code(&w.wait_for_sms(&w.alice, 1).await[0].message);
    // Into level 2 and beyond: Bob is being paged as the ACKs arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut tasks = Vec::new();
    for n in 0..100 {
        let local = Arc::clone(&w.local);
        let reply = sms_reply(
            &w.alice,
            &format!("ACK {code}"),
            &format!("race-{n}-{name}"),
        )
        .unwrap();
        tasks.push(tokio::spawn(
            async move { local.deliver_reply(&reply).await },
        ));
    }
    let mut acknowledged = 0;
    let mut out = Outcome {
        fault_fired: true,
        ..Outcome::default()
    };
    for t in tasks {
        match t.await.expect("task") {
            Ok(o) if matches!(o[..], [ReplyOutcome::Acknowledged { .. }]) => acknowledged += 1,
            Ok(o) if matches!(o[..], [ReplyOutcome::Refused { .. }]) => {}
            other => out.lost.push(format!("an ACK failed: {other:?}")),
        }
    }
    match acknowledged {
        0 => out.lost.push("the ACK".into()),
        1 => {}
        n => out.duplicated.push(format!("{n} ACKs applied")),
    }
    if w.wait_execution_end(&id).await == "RUNNING" {
        out.lost.push("stopping the escalation".into());
    }
    // Well past the next level: nothing more fires.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Acknowledged);
    let acked = incident.acknowledged_at.expect("acknowledged_at");
    let timeline = w.timeline(&id).await;
    out.duplicated.extend(claimed_after(&w, &id, acked).await);
    for (event, n) in repeated(&timeline) {
        out.duplicated
            .push(format!("timeline entry written {n} times: {event}"));
    }
    let confirmations = timeline
        .iter()
        .filter(|e| e.event.kind() == "confirmation_sent")
        .count();
    if confirmations != 1 {
        out.duplicated
            .push(format!("{confirmations} confirmations recorded"));
    }
    let mut row = Row::new("100 concurrent ACKs racing the escalation");
    row.add("race", &out);
    row.report();
    pump.stop().await;
}

#[tokio::test]
async fn an_ack_and_an_ok_at_the_same_instant_end_resolved_and_stopped() {
    let w = World::new(60, 0).await;
    let pump = w.pump();
    let mut row = Row::new("ACK and OK at the same instant");
    for n in 0..3 {
        let name = w.alarm_name(&format!("same-{n}"));
        let event = alarm(Delivery::EventBridge, &name, "ALARM", ALARM_AT).unwrap();
        let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
        let pages = w.wait_for_sms(&w.alice, 2 * n + 1).await;
        let code = ack_code(&pages.last().unwrap().message);
        let reply = sms_reply(&w.alice, &format!("ACK {code}"), &format!("same-{name}")).unwrap();
        let ok = alarm(Delivery::EventBridge, &name, "OK", OK_AT).unwrap();
        let (acked, resolved) =
            tokio::join!(w.local.deliver_reply(&reply), w.local.deliver_alarm(&ok));
        let mut out = Outcome {
            fault_fired: true,
            ..Outcome::default()
        };
        if let Err(e) = acked {
            out.lost.push(format!("the ACK failed: {e}"));
        }
        if let Err(e) = resolved {
            out.lost.push(format!("the OK failed: {e}"));
        }
        if w.wait_execution_end(&id).await == "RUNNING" {
            out.lost.push("stopping the escalation".into());
        }
        let incident = w.incident(&id).await;
        if incident.status != Status::Resolved {
            out.lost.push(format!("the resolve ({})", incident.status));
        }
        for (event, k) in repeated(&w.timeline(&id).await) {
            out.duplicated
                .push(format!("timeline entry written {k} times: {event}"));
        }
        // Alice's answer: a confirmation, or "already resolved"; one either way.
        let answers = w.wait_for_sms(&w.alice, 2 * n + 2).await.len();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = w.sms_to(&w.alice).await.len();
        if now != answers || answers != 2 * n + 2 {
            out.duplicated
                .push(format!("{} answers to one ACK", now - (2 * n + 1)));
        }
        row.add(&format!("run {n}"), &out);
    }
    row.report();
    pump.stop().await;
}

#[tokio::test]
async fn the_workflows_own_send_of_a_step_failing_is_retried_by_the_workflow() {
    // NotifyStep's sqs:sendMessage fails (the state machine's call, not
    // Klaxon's): its Retry on States.ALL sends it again.
    let mut rig = Rig::new().await;
    let mut row = Row::new(
        "Step Functions' own send of a step to the escalation queue answering 500, 1 and 3 times",
    );
    for times in [1, 3] {
        let out = rig.run(&Arm::WorkflowSendFails(times)).await;
        row.add(&format!("{times} failed sends"), &out);
    }
    row.report();
}
