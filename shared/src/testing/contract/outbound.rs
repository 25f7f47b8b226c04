//! The contract of the other ports: the workflow, the phone network, mail
//! and the applied configuration. The same cases run against the fakes
//! (unit tests here) and against the AWS adapters in the emulator
//! (`tests/it/contract.rs`).

use std::future::Future;

use crate::core::phone::Phone;
use crate::ports::{ConfigLoadError, ConfigSource, EmailSender, Escalations, SmsSender};

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

#[cfg(test)]
mod fakes {
    use crate::testing::{FakeEmail, FakeEscalations, FakeSms, StaticConfig};

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
