//! The contract of the other ports: the workflow, the phone network, mail
//! and the applied configuration. The same cases run against the fakes
//! (unit tests here) and against the AWS adapters in the emulator
//! (`tests/it/contract.rs`).

use std::future::Future;

use jiff::Timestamp;
use serde_json::json;

use klaxon_core::alarm::AlarmState;
use klaxon_core::alarm::IntakeOutcome;
use klaxon_core::phone::Phone;
use klaxon_core::self_test::Run;
use klaxon_ports::{
    AlarmDelivery, CallArguments, CallPurpose, CallUpdate, ConfigLoadError, ConfigSource,
    EmailSender, EscalationStatus, Escalations, Metrics, PhoneCalls, SmsSender,
};

/// Starting an incident's escalation twice starts one execution; stopping
/// it, twice, or stopping one that never existed, is harmless.
pub async fn an_escalation_starts_once_and_stops_harmlessly<E: Escalations>(e: &E, u: &str) {
    let incident = format!("20261121-{}", &u[..6]).to_uppercase();
    let first = e.start(&incident, 0).await.unwrap();
    let again = e.start(&incident, 5).await.unwrap();
    assert_eq!(first, again, "one execution per incident");
    assert!(
        first.ends_with(&incident),
        "named after the incident: {first}"
    );
    e.stop(&first, "acknowledged").await.unwrap();
    e.stop(&first, "acknowledged again").await.unwrap();
    let never = first.replace(&incident, "20000101-NEVER0");
    e.stop(&never, "nothing to stop").await.unwrap();
}

/// Each accepted SMS has its own message id.
pub async fn an_sms_is_accepted_with_its_own_id<S: SmsSender>(s: &S, u: &str) {
    let digits: String = u
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .take(8)
        .collect();
    let to = Phone::parse(&format!("+8190{digits}")).unwrap();
    let a = s
        .send_sms(&to, "Klaxon SEV2 ALARM checkout/x. Reply ACK 1234")
        .await
        .unwrap();
    let b = s
        .send_sms(&to, "Klaxon SEV2 ALARM checkout/x. Reply ACK 1234")
        .await
        .unwrap();
    assert!(!a.is_empty());
    assert_ne!(a, b, "two sends, two messages");
}

/// Each placed call has its own transaction id; a call under way takes an
/// update, and one that does not exist (or ended) says so.
pub async fn a_call_is_placed_with_its_own_id_and_updated_while_under_way<P: PhoneCalls>(
    p: &P,
    u: &str,
) {
    let digits: String = u
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .take(8)
        .collect();
    let to = Phone::parse(&format!("+8190{digits}")).unwrap();
    let arguments = CallArguments {
        person: "hana".into(),
        purpose: CallPurpose::Test,
    };
    let a = p.place_call(&to, &arguments).await.unwrap();
    let b = p.place_call(&to, &arguments).await.unwrap();
    assert!(!a.is_empty());
    assert_ne!(a, b, "two calls, two transactions");
    let update =
        std::collections::BTreeMap::from([("status".to_string(), "ACKNOWLEDGED".to_string())]);
    assert_eq!(p.update_call(&a, &update).await.unwrap(), CallUpdate::Sent);
    assert_eq!(
        p.update_call("6f1c2d3e-0000-4000-8000-000000000000", &update)
            .await
            .unwrap(),
        CallUpdate::Ended
    );
}

/// Each accepted email has its own message id.
pub async fn an_email_is_accepted_with_its_own_id<M: EmailSender>(m: &M, u: &str) {
    let to = format!("hana-{u}@example.com");
    let a = m.send_email(&to, "[Klaxon] SEV2", "body").await.unwrap();
    let b = m.send_email(&to, "[Klaxon] SEV2", "body").await.unwrap();
    assert!(!a.is_empty());
    assert_ne!(a, b);
}

/// No configuration, then a broken one, then a valid one: each read says
/// which. `apply` stores a document as `klaxon config apply` would,
/// without validating it.
pub async fn the_configuration_is_missing_invalid_or_current<C, A, F>(c: &C, apply: A)
where
    C: ConfigSource,
    A: Fn(String) -> F,
    F: Future<Output = ()>,
{
    assert!(matches!(c.current().await, Err(ConfigLoadError::Missing)));
    apply("version: 1\npeople: {}\n".into()).await;
    assert!(matches!(
        c.current().await,
        Err(ConfigLoadError::Invalid(_))
    ));
    apply(super::super::CONFIG.to_string()).await;
    let config = c.current().await.unwrap();
    assert!(config.person("aiko").is_some());
}

/// An execution runs until stopped (or its end); one that never existed
/// has ended. Started with a hold, so it is still running when looked at.
/// `DescribeExecution` is eventually consistent (AWS's API reference says
/// so), and the emulator ends a stopped execution on its worker thread: a
/// stop shows within a few seconds, not necessarily on the next read.
pub async fn an_escalation_has_ended_once_stopped<E: Escalations + EscalationStatus>(
    e: &E,
    u: &str,
) {
    let incident = format!("20261121-S{}", &u[..6]).to_uppercase();
    let execution = e.start(&incident, 60).await.unwrap();
    assert!(!e.has_ended(&execution).await.unwrap(), "running");
    e.stop(&execution, "resolved").await.unwrap();
    let mut reads = 0;
    while !e.has_ended(&execution).await.unwrap() {
        reads += 1;
        assert!(reads < 100, "still running 10 s after it was stopped");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let never = execution.replace(&incident, "20000101-NEVER1");
    assert!(e.has_ended(&never).await.unwrap());
}

/// An alarm event reaches intake and intake's answer comes back: the
/// self-test's ALARM opens an incident, the same ALARM again is a
/// duplicate, its OK resolves; an event intake cannot read is an error a
/// retry cannot fix. Needs a configuration applied where intake runs.
pub async fn an_alarm_event_reaches_intake_and_its_answer_returns<D: AlarmDelivery>(
    d: &D,
    u: &str,
    at: Timestamp,
) {
    let run = Run {
        id: format!("contract-{u}"),
        account: "123456789012".into(),
        region: "us-east-1".into(),
    };
    let outcomes =
        |v: serde_json::Value| -> Vec<IntakeOutcome> { serde_json::from_value(v).unwrap() };
    let opened = outcomes(d.deliver(&run.event(AlarmState::Alarm, at)).await.unwrap());
    let [IntakeOutcome::Opened { incident_id }] = opened.as_slice() else {
        panic!("{opened:?}");
    };
    assert_eq!(
        outcomes(d.deliver(&run.event(AlarmState::Alarm, at)).await.unwrap()),
        vec![IntakeOutcome::Duplicate {
            incident_id: incident_id.clone()
        }]
    );
    let ok_at = klaxon_core::self_test::ok_time(at, at);
    assert_eq!(
        outcomes(d.deliver(&run.event(AlarmState::Ok, ok_at)).await.unwrap()),
        vec![IntakeOutcome::Resolved {
            incident_id: incident_id.clone()
        }]
    );
    let e = d.deliver(&json!({"hello": "world"})).await.unwrap_err();
    assert!(!e.retryable, "{e}");
    assert!(e.message.contains("Klaxon.InvalidEvent"), "{e}");
}

/// A success published at `at` is counted once where the alarm reads it;
/// `count` reads the sum of successes around `at`.
pub async fn a_self_test_success_is_counted<X, R, F>(x: &X, at: Timestamp, count: R)
where
    X: Metrics,
    R: Fn() -> F,
    F: Future<Output = f64>,
{
    let before = count().await;
    x.self_test_succeeded(at).await.unwrap();
    let after = count().await;
    assert!(
        (after - before - 1.0).abs() < f64::EPSILON,
        "{before} -> {after}"
    );
}

#[cfg(test)]
mod fakes {
    use crate::{FakeCalls, FakeEmail, FakeEscalations, FakeMetrics, FakeSms, StaticConfig};

    #[tokio::test]
    async fn a_call_is_placed_with_its_own_id_and_updated_while_under_way() {
        super::a_call_is_placed_with_its_own_id_and_updated_while_under_way(
            &FakeCalls::default(),
            "0123456789abcdef",
        )
        .await;
    }

    #[tokio::test]
    async fn an_escalation_has_ended_once_stopped() {
        super::an_escalation_has_ended_once_stopped(
            &FakeEscalations::default(),
            "0123456789abcdef",
        )
        .await;
    }

    #[tokio::test]
    async fn a_self_test_success_is_counted() {
        let metrics = FakeMetrics::default();
        super::a_self_test_success_is_counted(&metrics, crate::at(0), || async {
            metrics.published().len() as f64
        })
        .await;
    }

    #[tokio::test]
    async fn an_escalation_starts_once_and_stops_harmlessly() {
        super::an_escalation_starts_once_and_stops_harmlessly(
            &FakeEscalations::default(),
            "0123456789abcdef",
        )
        .await;
    }

    #[tokio::test]
    async fn an_sms_is_accepted_with_its_own_id() {
        super::an_sms_is_accepted_with_its_own_id(&FakeSms::default(), "0123456789abcdef").await;
    }

    #[tokio::test]
    async fn an_email_is_accepted_with_its_own_id() {
        super::an_email_is_accepted_with_its_own_id(&FakeEmail::default(), "0123456789abcdef")
            .await;
    }

    #[tokio::test]
    async fn the_configuration_is_missing_invalid_or_current() {
        let config = StaticConfig::missing();
        super::the_configuration_is_missing_invalid_or_current(&config, |yaml| {
            config.set(&yaml);
            async {}
        })
        .await;
    }
}
