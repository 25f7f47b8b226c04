//! The scheduled self-test against the emulator: the real self-test
//! handler, intake handler (the harness's stand-in for `lambda:Invoke`),
//! escalation workflow (moto's Step Functions), escalator (the pump),
//! DynamoDB and CloudWatch.

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use jiff::{SignedDuration, Timestamp};
use klaxon_app::channels::{Setting, StackChannels};
use klaxon_app::operator::list_incidents;
use klaxon_app::self_test::Limits;
use klaxon_aws::channels::AwsDeliveryChannels;
use klaxon_aws::metrics::{NAMESPACE, SELF_TEST_SUCCEEDED, STACK_DIMENSION};
use klaxon_core::incident::{Channel, Status, TimelineEvent};
use klaxon_local::Local;

use crate::common::World;

/// Limits for the emulator: the pump long-polls 1 s at a time.
pub fn limits() -> Limits {
    Limits {
        page_within: Duration::from_secs(40),
        resolve_within: Duration::from_secs(30),
        poll_every: Duration::from_millis(300),
    }
}

/// The successes published for this stack between `from` and `to`, as the
/// self-test alarm reads them (sum of `Klaxon/SelfTestSucceeded`).
pub async fn successes(local: &Local, from: Timestamp, to: Timestamp) -> f64 {
    let out = aws_sdk_cloudwatch::Client::new(&local.sdk)
        .get_metric_statistics()
        .namespace(NAMESPACE)
        .metric_name(SELF_TEST_SUCCEEDED)
        .dimensions(
            Dimension::builder()
                .name(STACK_DIMENSION)
                .value(&local.self_test.stack)
                .build(),
        )
        .start_time(DateTime::from_millis(from.as_millisecond()))
        .end_time(DateTime::from_millis(to.as_millisecond()))
        .period(60)
        .statistics(Statistic::Sum)
        .send()
        .await
        .expect("GetMetricStatistics");
    out.datapoints().iter().filter_map(|d| d.sum()).sum()
}

#[tokio::test]
async fn a_run_goes_through_every_real_handler_and_publishes_its_success() {
    // GIVEN a stack with people to page, and its escalator running
    let w = World::new(60, 0).await;
    let _pump = w.pump();
    let started = Timestamp::now();
    // WHEN the self-test runs
    let report = w
        .local
        .self_test_handler(limits())
        .run()
        .await
        .expect("self-test succeeds");
    // THEN its role could read every delivery channel, and none is broken
    assert_eq!(report.channels.len(), 6, "{:#?}", report.channels);
    assert!(report.channels.iter().all(|f| !f.is_broken()));
    // AND its role allowed every call it made, each of which `klaxon
    // doctor` asks IAM's simulator about
    crate::iam::every_call_allowed_and_checked_by_doctor(&w, klaxon_local::ids::SELF_TEST).await;
    // AND its success arrived in CloudWatch, once, for this stack
    let window = SignedDuration::from_mins(5);
    assert_eq!(
        successes(&w.local, started - window, Timestamp::now() + window).await,
        1.0
    );
    // AND its incident is resolved, marked, and paged only the sink
    let incident = w.incident(&report.incident_id).await;
    assert!(incident.self_test);
    assert_eq!(incident.status, Status::Resolved);
    assert_eq!(incident.alarm_name, report.alarm_name);
    let paged: Vec<Channel> = w
        .timeline(&report.incident_id)
        .await
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Paged { channel, .. } => Some(*channel),
            _ => None,
        })
        .collect();
    assert_eq!(paged, vec![Channel::SelfTest]);
    for phone in [&w.alice, &w.bob, &w.carol] {
        assert!(w.sms_to(phone).await.is_empty(), "{phone} was paged");
    }
    // AND its escalation ended
    assert_ne!(w.wait_execution_end(&report.incident_id).await, "RUNNING");
    // AND the CLI's listings leave it out unless asked
    let month = incident.opened_at.strftime("%Y-%m").to_string();
    let listed = list_incidents(&w.local.store, Some(&month), false)
        .await
        .unwrap();
    assert!(listed.iter().all(|i| i.id != report.incident_id));
    let all = list_incidents(&w.local.store, Some(&month), true)
        .await
        .unwrap();
    assert!(
        all.iter()
            .any(|i| i.id == report.incident_id && i.self_test)
    );
}

#[tokio::test]
async fn without_the_escalator_a_run_fails_and_publishes_nothing() {
    // GIVEN a stack whose escalator does not run (no pump)
    let w = World::new(60, 0).await;
    let started = Timestamp::now();
    let limits = Limits {
        page_within: Duration::from_secs(3),
        ..limits()
    };
    // WHEN the self-test runs
    let e = w
        .local
        .self_test_handler(limits)
        .run()
        .await
        .expect_err("no page to the sink");
    // THEN it says which step failed, publishes nothing, and leaves no
    // open incident behind
    assert!(
        e.to_string().contains("no page to the self-test sink"),
        "{e}"
    );
    let window = SignedDuration::from_mins(5);
    assert_eq!(
        successes(&w.local, started - window, Timestamp::now() + window).await,
        0.0
    );
    let open = list_incidents(&w.local.store, None, true).await.unwrap();
    assert!(open.is_empty(), "{open:?}");
}

/// The self-test role's channel reads in `region`: a region no other test
/// uses, so a test can break its account's channels alone. The role may
/// read SES identities of its own region only, so the stack checked there
/// is one without an email sender.
fn channels_in(w: &World, region: &'static str) -> (AwsDeliveryChannels, StackChannels) {
    let side = w.local.as_self_test.as_ref().expect("self-test deployed");
    let sdk = side
        .sdk
        .to_builder()
        .region(aws_types::region::Region::from_static(region))
        .build();
    let stack = StackChannels {
        email_from: Setting::Empty,
        ..w.local.self_test.channels.clone()
    };
    (AwsDeliveryChannels::from_sdk(&sdk), stack)
}

#[tokio::test]
async fn a_configured_number_the_sms_sandbox_does_not_allow_fails_the_run() {
    // GIVEN a working stack whose account (in its own region here) is in
    // the SMS sandbox with only Alice's number verified, and Bob's pending
    let w = World::new(60, 0).await;
    let _pump = w.pump();
    let region = "eu-north-1";
    w.local
        .emulator
        .sms_sandbox(region, true, &[&w.alice], &[&w.bob])
        .await
        .unwrap();
    let (channels, stack) = channels_in(&w, region);
    let started = Timestamp::now();
    // WHEN the self-test runs, as its role
    let e = w
        .local
        .self_test_reading(limits(), &channels, &stack)
        .run()
        .await
        .expect_err("the sandbox refuses Bob's and Carol's pages");
    // THEN it names the channel and each unverified person, masked
    let text = e.to_string();
    assert!(text.contains("sms-sandbox"), "{text}");
    assert!(
        text.contains("2 configured number(s) are not verified"),
        "{text}"
    );
    assert!(text.contains("\nbob +"), "{text}");
    assert!(!text.contains(&w.bob), "{text}");
    assert!(!text.contains("alice"), "{text}");
    // AND publishes no success, so the self-test alarm fires
    let window = SignedDuration::from_mins(5);
    assert_eq!(
        successes(&w.local, started - window, Timestamp::now() + window).await,
        0.0
    );
    // AND once the numbers are verified, the next run succeeds
    w.local
        .emulator
        .sms_sandbox(region, true, &[&w.alice, &w.bob, &w.carol], &[])
        .await
        .unwrap();
    let report = w
        .local
        .self_test_reading(limits(), &channels, &stack)
        .run()
        .await
        .expect("every configured number is verified");
    let sandbox = report
        .channels
        .iter()
        .find(|f| f.check == "sms-sandbox")
        .unwrap();
    assert_eq!(sandbox.health, klaxon_core::channels::Health::Warning);
}

#[tokio::test]
async fn paused_ses_sending_fails_the_run_of_a_stack_that_sends_email() {
    // GIVEN a stack with an email sender, and SES sending paused in its
    // account (its own region here)
    let w = World::new(60, 0).await;
    let _pump = w.pump();
    let region = "eu-west-3";
    w.local.emulator.ses_sending(region, false).await.unwrap();
    let (channels, mut stack) = channels_in(&w, region);
    stack.email_from = w.local.self_test.channels.email_from.clone();
    assert!(
        matches!(stack.email_from, Setting::Set(_)),
        "local stacks send email"
    );
    // WHEN the self-test runs
    let e = w
        .local
        .self_test_reading(limits(), &channels, &stack)
        .run()
        .await
        .expect_err("SES sends nothing");
    // THEN it says email is broken
    let text = e.to_string();
    assert!(
        text.contains("ses-account: SES sending is paused"),
        "{text}"
    );
}
