//! The self-test against the fakes: the escalator runs whenever the
//! self-test waits (as the workflow would run it), and waiting moves the
//! clock instead of sleeping.

use std::time::Duration;

use super::*;
use crate::world::World;
use klaxon_core::incident::Status;
use klaxon_ports::{Incidents, Sleep};
use klaxon_testing::{AIKO, CONFIG, FakeMetrics, alarm_event, at, permanent, transient};

/// Waiting, while the escalation workflow runs each started escalation's
/// first step, as the escalator would when its message arrives.
struct Workflow<'w>(&'w World);

impl Sleep for Workflow<'_> {
    async fn sleep(&self, duration: Duration) {
        self.0.clock.sleep(duration).await;
        for id in self.0.escalations.started_incidents() {
            self.0
                .escalator()
                .run_step(&id, 0)
                .await
                .unwrap_or_else(|e| panic!("escalator step of {id}: {e}"));
        }
    }
}

/// The world's fakes as the self-test's ports, sleeping with `S`; the
/// world itself stands in for the intake function.
struct TestPorts<S>(std::marker::PhantomData<S>);

impl<S: Sleep> SelfTestPorts for TestPorts<S> {
    type Intake = World;
    type Incidents = klaxon_testing::MemoryStore;
    type Escalations = klaxon_testing::FakeEscalations;
    type Metrics = FakeMetrics;
    type Sleep = S;
    type Channels = klaxon_testing::FakeDeliveryChannels;
    type Config = klaxon_testing::StaticConfig;
}

fn self_test<'w, S: Sleep>(
    w: &'w World,
    metrics: &'w FakeMetrics,
    sleep: &'w S,
) -> SelfTest<'w, TestPorts<S>> {
    SelfTest {
        intake: w,
        incidents: &w.store,
        escalations: &w.escalations,
        metrics,
        sleep,
        channels: &w.channels,
        config: &w.config,
        stack_channels: &w.stack_channels,
        clock: &w.clock,
        ids: &w.ids,
        account: "123456789012",
        region: "ap-northeast-1",
        limits: Limits::default(),
    }
}

/// A configuration that would page Aiko by SMS at once for anything,
/// whatever its name, and that tries to claim the self-test's names.
const GREEDY: &str = r#"
version: 1
people:
  aiko: {name: Aiko, phone: "+819012340001", email: aiko@example.com}
  klaxon-self-test-sink: {name: Sink Impostor, phone: "+14155550102"}
services:
  general: {escalation_policy: default}
  klaxon-self-test: {escalation_policy: klaxon-self-test, auto_resolve: false}
escalation_policies:
  default:
    levels:
      - {targets: [aiko], timeout_seconds: 300}
  klaxon-self-test:
    levels:
      - {targets: [aiko, klaxon-self-test-sink], timeout_seconds: 300}
routing:
  default: {service: general, severity: SEV1}
  rules:
    - name: everything-klaxon
      match: {alarm_name: "klaxon-*"}
      service: klaxon-self-test
      severity: SEV1
"#;

#[tokio::test]
async fn a_successful_run_publishes_the_metric_once() {
    // GIVEN a working Klaxon
    let w = World::default();
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs
    let report = self_test(&w, &metrics, &workflow).run().await.unwrap();
    // THEN success is published once, after the incident was paged to the
    // sink, resolved, and its escalation stopped
    assert_eq!(metrics.published().len(), 1);
    let i = w.incident(&report.incident_id).await;
    assert!(i.self_test);
    assert!(report.incident_id.starts_with("selftest-"), "{report:?}");
    assert_eq!(i.status, Status::Resolved);
    assert_eq!(i.policy, "klaxon-self-test");
    assert_eq!(i.alarm_name, report.alarm_name);
    let pages: Vec<Channel> = w
        .timeline(&report.incident_id)
        .await
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Paged { channel, .. } => Some(*channel),
            _ => None,
        })
        .collect();
    assert_eq!(pages, vec![Channel::SelfTest]);
    let (execution, _) = w.escalations.started(&report.incident_id).unwrap();
    assert!(w.escalations.stopped().iter().any(|(e, _)| *e == execution));
    assert!(report.paged_after_ms >= 0 && report.resolved_after_ms >= 0);
}

#[tokio::test]
async fn a_run_whose_escalator_never_pages_the_sink_publishes_nothing_and_fails() {
    // GIVEN a Klaxon whose escalation never runs (only the clock moves)
    let w = World::default();
    let metrics = FakeMetrics::default();
    // WHEN the self-test runs
    let e = self_test(&w, &metrics, &w.clock).run().await.unwrap_err();
    // THEN it gives up after its limit, says so, publishes nothing ...
    assert!(
        matches!(&e, AppError::SelfTest(m) if m.contains("no page")),
        "{e}"
    );
    assert!(!e.retryable(), "the next scheduled run is the retry");
    assert!(metrics.published().is_empty());
    assert!(w.clock.now() >= at(90));
    // ... and resolves its incident rather than leave it open
    let open = w.store.list_open().await.unwrap();
    assert!(open.is_empty(), "{open:?}");
}

#[tokio::test]
async fn a_self_test_never_pages_a_human_whatever_the_configuration_says() {
    // GIVEN a configuration that routes every klaxon-* alarm to Aiko, by
    // SMS at once, and names a person after the sink
    let w = World::new(GREEDY);
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs
    let report = self_test(&w, &metrics, &workflow).run().await.unwrap();
    // THEN nobody got a text or an email, and it still resolved (the
    // configuration's auto_resolve: false does not hold it open)
    assert!(w.sms.sent().is_empty(), "{:?}", w.sms.sent());
    assert!(w.email.sent().is_empty());
    assert_eq!(metrics.published().len(), 1);
    let i = w.incident(&report.incident_id).await;
    assert_eq!(i.decided_by, "self-test");
    assert!(i.paged_numbers.is_empty());
}

#[tokio::test]
async fn a_real_alarm_named_like_a_self_test_is_routed_by_the_configuration() {
    // GIVEN the greedy configuration
    let w = World::new(GREEDY);
    // WHEN a real CloudWatch alarm named like a self-test fires
    let id = w
        .open_incident("klaxon-self-test-20261121-100000", at(0))
        .await;
    w.escalator().run_step(&id, 0).await.unwrap();
    // THEN it is a real incident, routed by the rule, and pages Aiko
    let i = w.incident(&id).await;
    assert!(!i.self_test);
    assert_eq!(i.decided_by, "rule:everything-klaxon");
    assert_eq!(w.sms.to(AIKO).len(), 1);
    let kinds = w.kinds(&id).await;
    assert!(kinds.contains(&"paged"));
    assert!(
        !w.timeline(&id).await.iter().any(|e| matches!(
            e.event,
            TimelineEvent::Paged {
                channel: Channel::SelfTest,
                ..
            }
        )),
        "never the sink"
    );
}

#[tokio::test]
async fn a_self_test_can_neither_fold_into_nor_resolve_a_real_incident() {
    // GIVEN a real incident for an alarm named exactly as the next run's
    // (scripted ids: the real incident draws the first, the run the second)
    let w = World::default();
    let real = w
        .open_incident("klaxon-self-test-20261121-200000", at(0))
        .await;
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs with that run id
    let report = self_test(&w, &metrics, &workflow).run().await.unwrap();
    assert_eq!(report.alarm_name, "klaxon-self-test-20261121-200000");
    // THEN it opened and resolved its own incident; the real one is
    // untouched and still open
    assert_ne!(report.incident_id, real);
    let r = w.incident(&real).await;
    assert_eq!(r.status, Status::Triggered);
    assert_eq!(r.alarm_count, 1);
    assert!(!w.kinds(&real).await.contains(&"resolved"));
    // AND a real OK for that alarm resolves the real incident only
    w.intake()
        .handle(&alarm_event(
            "klaxon-self-test-20261121-200000",
            "OK",
            at(200),
        ))
        .await
        .unwrap();
    assert_eq!(w.incident(&real).await.status, Status::Resolved);
}

#[tokio::test]
async fn two_runs_at_once_each_check_their_own_incident() {
    // GIVEN a working Klaxon
    let w = World::default();
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    let test = self_test(&w, &metrics, &workflow);
    // WHEN two runs overlap
    let (a, b) = tokio::join!(test.run(), test.run());
    // THEN both succeed, with separate incidents
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.incident_id, b.incident_id);
    assert_eq!(metrics.published().len(), 2);
}

#[tokio::test]
async fn a_broken_configuration_fails_the_run_without_retry() {
    // GIVEN no configuration applied: intake refuses every alarm
    let w = World::default();
    w.config.set("version: 1\npeople: {}\n");
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs
    let e = self_test(&w, &metrics, &workflow).run().await.unwrap_err();
    // THEN it fails at once, says a retry will not help, and publishes nothing
    assert!(
        matches!(&e, AppError::Backend(b) if !b.retryable && b.message.contains("Klaxon.Failed")),
        "{e}"
    );
    assert!(metrics.published().is_empty());
    assert_eq!(w.clock.now(), at(0), "no waiting");
}

#[tokio::test]
async fn an_escalation_that_does_not_stop_fails_the_run() {
    // GIVEN a Klaxon whose StopExecution fails
    let w = World::default();
    w.escalations.fail_next_stop(permanent("StopExecution"));
    w.escalations.fail_next_stop(permanent("StopExecution"));
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs
    let e = self_test(&w, &metrics, &workflow).run().await.unwrap_err();
    // THEN the OK's failure is the run's failure, and nothing is published
    assert!(
        matches!(&e, AppError::Backend(b) if b.message.contains("StopExecution")),
        "{e}"
    );
    assert!(metrics.published().is_empty());
}

#[tokio::test]
async fn a_failure_to_publish_is_the_runs_failure() {
    let w = World::default();
    let metrics = FakeMetrics::default();
    metrics.fail_next(transient("PutMetricData"));
    let workflow = Workflow(&w);
    let e = self_test(&w, &metrics, &workflow).run().await.unwrap_err();
    assert!(e.retryable(), "{e}");
    assert!(metrics.published().is_empty());
}

#[tokio::test]
async fn an_incident_that_is_not_marked_fails_the_run() {
    // GIVEN an intake that opens plain incidents for self-test alarms (as
    // an intake older than the self-test would): a stand-in that rewrites
    // the event as a CloudWatch one
    struct OldIntake<'w>(&'w World);
    impl AlarmDelivery for OldIntake<'_> {
        async fn deliver(&self, event: &Value) -> Result<Value, klaxon_ports::BackendError> {
            let mut event = event.clone();
            event["source"] = "aws.cloudwatch".into();
            self.0.deliver(&event).await
        }
    }
    let w = World::new(CONFIG);
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    let old = OldIntake(&w);
    struct OldPorts<'w>(std::marker::PhantomData<&'w ()>);
    impl<'w> SelfTestPorts for OldPorts<'w> {
        type Intake = OldIntake<'w>;
        type Incidents = klaxon_testing::MemoryStore;
        type Escalations = klaxon_testing::FakeEscalations;
        type Metrics = FakeMetrics;
        type Sleep = Workflow<'w>;
        type Channels = klaxon_testing::FakeDeliveryChannels;
        type Config = klaxon_testing::StaticConfig;
    }
    let test = SelfTest::<OldPorts<'_>> {
        intake: &old,
        incidents: &w.store,
        escalations: &w.escalations,
        metrics: &metrics,
        sleep: &workflow,
        channels: &w.channels,
        config: &w.config,
        stack_channels: &w.stack_channels,
        clock: &w.clock,
        ids: &w.ids,
        account: "123456789012",
        region: "ap-northeast-1",
        limits: Limits::default(),
    };
    // WHEN the self-test runs
    let e = test.run().await.unwrap_err();
    // THEN it refuses to count it, and publishes nothing
    assert!(
        matches!(&e, AppError::SelfTest(m) if m.contains("not marked")),
        "{e}"
    );
    assert!(metrics.published().is_empty());
}

#[tokio::test]
async fn a_configured_number_the_sms_sandbox_does_not_allow_fails_the_run_and_publishes_nothing() {
    // GIVEN a working paging path, but the account in the SMS sandbox with
    // only Aiko's number verified
    let w = World::default();
    w.channels.update(|s| {
        s.in_sandbox = true;
        s.sandbox = vec![(AIKO.into(), true), (klaxon_testing::BEN.into(), false)];
    });
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs
    let e = self_test(&w, &metrics, &workflow).run().await.unwrap_err();
    // THEN it fails naming the channel and the person, masked, without a
    // retry, and publishes nothing
    let text = e.to_string();
    assert!(text.contains("a delivery channel is broken"), "{text}");
    assert!(text.contains("sms-sandbox"), "{text}");
    assert!(text.contains("ben +14*****0102"), "{text}");
    assert!(!text.contains(klaxon_testing::BEN), "{text}");
    assert!(!e.retryable());
    assert!(metrics.published().is_empty());
    // AND its incident was still resolved: the paging path itself worked
    let open = w.store.list_open().await.unwrap();
    assert!(open.is_empty(), "{open:?}");
}

#[tokio::test]
async fn a_channel_the_account_will_not_describe_fails_the_run() {
    // GIVEN SES refusing GetAccount for a stack that sends email
    let mut w = World::default();
    w.stack_channels.email_from = crate::channels::Setting::Set("pages@example.com".into());
    w.channels.update(|s| {
        s.identities.insert(
            "pages@example.com".into(),
            klaxon_core::channels::Identity {
                name: "pages@example.com".into(),
                verified_for_sending: true,
                status: Some("SUCCESS".into()),
            },
        );
    });
    w.channels.fail("GetAccount", permanent("GetAccount"));
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs
    let e = self_test(&w, &metrics, &workflow).run().await.unwrap_err();
    // THEN it fails saying what could not be checked
    let text = e.to_string();
    assert!(
        text.contains("ses-account: could not check the SES account"),
        "{text}"
    );
    assert!(metrics.published().is_empty());
}

#[tokio::test]
async fn channel_warnings_do_not_fail_the_run_and_are_reported() {
    // GIVEN the account in the SMS sandbox with every configured number
    // verified (a risk, not a failure), and no spend limit set
    let w = World::default();
    w.channels.update(|s| {
        s.in_sandbox = true;
        s.sandbox = vec![(AIKO.into(), true), (klaxon_testing::BEN.into(), true)];
    });
    let metrics = FakeMetrics::default();
    let workflow = Workflow(&w);
    // WHEN the self-test runs
    let report = self_test(&w, &metrics, &workflow).run().await.unwrap();
    // THEN it succeeds and reports each channel's finding
    assert_eq!(metrics.published().len(), 1);
    let sandbox = report
        .channels
        .iter()
        .find(|f| f.check == "sms-sandbox")
        .unwrap();
    assert_eq!(sandbox.health, klaxon_core::channels::Health::Warning);
    assert_eq!(report.channels.len(), 6);
}
