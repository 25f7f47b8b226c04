//! Failing pages: each retried on its own with capped backoff, while every
//! other page goes out on time and the levels move on; given up after the
//! retry limit. Against the fakes, the clock moved as the workflow would
//! wait.

use super::*;
use crate::world::World;
use klaxon_core::incident::Status;
use klaxon_testing::{AIKO, BEN, at, transient};

async fn open(w: &World) -> String {
    w.open_incident("checkout-5xx", at(0)).await
}

/// Runs the workflow from `result` as Step Functions would (waiting
/// `wait_seconds`, then the step it names) until it is done or its next
/// run would come after `until` seconds; returns the last result.
async fn drive(
    escalator: &Escalator<'_, impl EscalatorPorts>,
    w: &World,
    id: &str,
    mut result: StepResult,
    until: i64,
) -> StepResult {
    while !result.done
        && w.clock.now() + SignedDuration::from_secs(result.wait_seconds.into()) <= at(until)
    {
        w.clock.advance(i64::from(result.wait_seconds));
        result = escalator.run_step(id, result.step).await.unwrap();
    }
    result
}

async fn timeline_keys(w: &World, id: &str) -> Vec<String> {
    w.timeline(id).await.into_iter().map(|e| e.key).collect()
}

fn fired_at(timeline: &[TimelineEntry], step: u32) -> Option<Timestamp> {
    timeline.iter().find_map(|e| match e.event {
        TimelineEvent::LevelFired { step: s, .. } if s == step => Some(e.at),
        _ => None,
    })
}

#[tokio::test]
async fn an_email_outage_does_not_hold_up_the_sms_due_meanwhile() {
    // GIVEN Aiko's email fails at once, and keeps failing for 2 minutes
    let w = World::default();
    let id = open(&w).await;
    for _ in 0..3 {
        w.email.fail_next(transient("SendEmail"));
    }
    let first = w.escalator().run_step(&id, 0).await.unwrap();
    assert_eq!(
        first.wait_seconds, 10,
        "the failed email is retried in 10 s"
    );
    // WHEN the workflow runs on to the SMS, due at 60 s
    let r = drive(&w.escalator(), &w, &id, first, 60).await;
    // THEN the SMS went out at 60 s while the email was still failing
    assert_eq!(w.sms.to(AIKO).len(), 1);
    assert!(w.email.sent().is_empty(), "failed at 0, 10 and 30 s");
    // AND the email goes out on its next try (70 s), once
    let r = drive(&w.escalator(), &w, &id, r, 80).await;
    assert_eq!(w.email.sent().len(), 1);
    assert_eq!(r.step, 1, "level 2 still due at 300 s");
}

#[tokio::test]
async fn a_page_failing_many_times_is_said_once_on_the_timeline_then_paged() {
    // GIVEN Aiko's email fails 5 times in a row
    let w = World::default();
    let id = open(&w).await;
    for _ in 0..5 {
        w.email.fail_next(transient("SendEmail"));
    }
    // WHEN the workflow runs until it goes out (failed at 0, 10, 30, 70
    // and 150 s; sent at 310 s)
    let first = w.escalator().run_step(&id, 0).await.unwrap();
    drive(&w.escalator(), &w, &id, first, 320).await;
    // THEN the timeline has one page_failed for it, then the page
    assert_eq!(w.email.sent().len(), 1);
    let kinds = w.kinds(&id).await;
    assert_eq!(
        kinds.iter().filter(|k| **k == "page_failed").count(),
        1,
        "{kinds:?}"
    );
    let keys = timeline_keys(&w, &id).await;
    assert!(
        keys.iter().any(|k| k == "page#0000#aiko#email#email"),
        "{keys:?}"
    );
}

#[tokio::test]
async fn during_an_sms_outage_levels_fire_on_time_and_the_pages_still_due_go_out_once_it_ends() {
    // GIVEN SMS is down from the start
    let w = World::default();
    let id = open(&w).await;
    w.sms.outage(transient("Publish"));
    let first = w.escalator().run_step(&id, 0).await.unwrap();
    // WHEN the workflow runs for 7 minutes
    let r = drive(&w.escalator(), &w, &id, first, 420).await;
    // THEN Aiko was emailed, level 2 fired at its timeout (300 s), and no
    // SMS went out
    let timeline = w.timeline(&id).await;
    assert_eq!(fired_at(&timeline, 1), Some(at(300)), "{timeline:#?}");
    assert_eq!(w.email.sent().len(), 1);
    assert!(w.sms.sent().is_empty());
    // WHEN SMS comes back
    w.sms.restore();
    let r = drive(&w.escalator(), &w, &id, r, 720).await;
    // THEN Aiko's (level 1) and Ben's (level 2) texts go out, once each,
    // within the capped backoff (5 min), and the second pass (at 600 s)
    // runs on time
    let keys = timeline_keys(&w, &id).await;
    for page in ["page#0000#aiko#sms#phone", "page#0001#ben#sms#phone"] {
        assert_eq!(
            keys.iter().filter(|k| *k == page).count(),
            1,
            "{page}: {keys:#?}"
        );
    }
    let timeline = w.timeline(&id).await;
    assert_eq!(fired_at(&timeline, 2), Some(at(600)));
    assert_eq!(w.sms.to(BEN).len(), 1, "{:?}", w.sms.sent());
    assert!(!r.done);
}

#[tokio::test]
async fn an_acknowledged_incident_stops_the_retries_of_its_failing_pages() {
    let w = World::default();
    let id = open(&w).await;
    w.sms.outage(transient("Publish"));
    let first = w.escalator().run_step(&id, 0).await.unwrap();
    let r = drive(&w.escalator(), &w, &id, first, 100).await;
    assert!(!r.done);
    w.store
        .with(|s| s.set_status(&id, Status::Acknowledged, at(100), "Aiko"));
    w.sms.restore();
    let r = drive(&w.escalator(), &w, &id, r, 1000).await;
    assert!(r.done);
    assert!(w.sms.sent().is_empty(), "nothing sent once acknowledged");
}

#[tokio::test]
async fn a_page_failing_past_the_retry_limit_is_given_up_once_and_the_escalation_then_ends() {
    // GIVEN SMS is down for good, and pages are retried for 10 minutes
    let w = World::default();
    let id = open(&w).await;
    w.sms.outage(transient("Publish"));
    let escalator = Escalator {
        retry: PageRetry {
            limit: SignedDuration::from_mins(10),
            ..PageRetry::default()
        },
        ..w.escalator()
    };
    let first = escalator.run_step(&id, 0).await.unwrap();
    // WHEN the workflow runs until it ends
    let r = drive(&escalator, &w, &id, first, 7200).await;
    // THEN it ended, after both passes of both levels
    assert!(r.done, "{r:?}");
    let timeline = w.timeline(&id).await;
    assert!(w.kinds(&id).await.contains(&"escalation_exhausted"));
    assert_eq!(w.email.sent().len(), 2, "Aiko emailed in each pass");
    // AND each of the four texts (two passes, two levels) was given up
    // once, saying why
    let given_up: Vec<String> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::PageGivenUp { .. } => Some(e.event.summary()),
            _ => None,
        })
        .collect();
    assert_eq!(given_up.len(), 4, "{given_up:#?}");
    assert!(
        given_up[0].contains("by sms") && given_up[0].contains("injected transient failure"),
        "{given_up:#?}"
    );
    // AND it was not given up before the limit
    let first_given_up = timeline
        .iter()
        .find(|e| e.key.starts_with("abandoned#"))
        .unwrap();
    assert!(first_given_up.at >= at(60 + 600), "{first_given_up:?}");
}

#[tokio::test]
async fn after_a_thousand_steps_an_execution_hands_the_escalation_to_its_next_generation() {
    let w = World::default();
    let id = open(&w).await;
    let first = klaxon_testing::FakeEscalations::execution_of(&id);
    let message = |runs: u32, token: &str| {
        serde_json::json!({
            "incident_id": id, "step": 0, "task_token": token,
            "execution": first, "runs": runs,
        })
        .to_string()
    };
    // WHEN the 999th step runs, nothing changes
    let r = w
        .escalator()
        .handle_message(&message(999, "t1"))
        .await
        .unwrap();
    assert!(!r.done);
    assert!(w.escalations.restarted().is_empty());
    // WHEN the 1,000th runs
    w.clock.advance(60);
    let r = w
        .escalator()
        .handle_message(&message(1000, "t2"))
        .await
        .unwrap();
    // THEN this execution is done, and generation 1 goes on from the same
    // step, recorded on the incident (an ack stops that one)
    assert!(r.done, "{r:?}");
    let second = klaxon_testing::FakeEscalations::generation_of(&id, 1);
    assert_eq!(
        w.escalations.restarted(),
        vec![(id.clone(), 1, 1, second.clone())],
        "step 1 next: the SMS was sent at 60 s, level 2 due at 300 s"
    );
    assert_eq!(w.incident(&id).await.escalation_execution, Some(second));
    assert_eq!(w.sms.to(AIKO).len(), 1, "sent once, by the step itself");
}

#[tokio::test]
async fn an_acknowledged_incident_is_not_handed_to_a_next_generation() {
    let w = World::default();
    let id = open(&w).await;
    let first = klaxon_testing::FakeEscalations::execution_of(&id);
    w.escalator().run_step(&id, 0).await.unwrap();
    w.store.before(klaxon_testing::Op::ReplaceEscalation, {
        let id = id.clone();
        move |s| s.set_status(&id, Status::Acknowledged, at(30), "Aiko")
    });
    let body = serde_json::json!({
        "incident_id": id, "step": 0, "task_token": "t",
        "execution": first, "runs": 5000,
    });
    w.escalator()
        .handle_message(&body.to_string())
        .await
        .unwrap();
    assert!(w.escalations.restarted().is_empty());
    assert_eq!(w.incident(&id).await.escalation_execution, Some(first));
}
