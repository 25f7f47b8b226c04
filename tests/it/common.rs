//! Shared test set-up: a fresh stack, responders with unique numbers, and
//! waiting for what the emulator observed.

use std::sync::Arc;
use std::time::Duration;

use klaxon_core::incident::{Incident, TimelineEntry};
use klaxon_local::{Local, Pump, SentEmail, SentSms};
use klaxon_ports::Incidents;
use rand::RngExt;

/// How long a test waits for something asynchronous before failing.
pub const PATIENCE: Duration = Duration::from_secs(40);

/// A test's world: its own stack, its own responders.
pub struct World {
    pub local: Arc<Local>,
    pub alice: String,
    pub bob: String,
    pub carol: String,
    pub tag: String,
}

fn unique() -> String {
    let n: u32 = rand::rng().random_range(0..1_000_000);
    format!("{n:06}")
}

/// An on-call file: alice on level 1, bob on level 2; alarms named
/// `payments-*` page carol instead.
pub fn oncall_yaml(w: &World, level_seconds: u32, repeat: u32) -> String {
    format!(
        r#"
version: 1
people:
  alice: {{name: Alice, phone: "{}"}}
  bob: {{name: Bob, phone: "{}"}}
  carol: {{name: Carol, phone: "{}"}}
services:
  checkout: {{escalation_policy: default}}
  payments: {{escalation_policy: payments}}
escalation_policies:
  default:
    repeat: {repeat}
    levels:
      - {{targets: [alice], timeout_seconds: {level_seconds}}}
      - {{targets: [bob], timeout_seconds: {level_seconds}}}
  payments:
    levels:
      - {{targets: [carol], timeout_seconds: {level_seconds}}}
routing:
  default: {{service: checkout, severity: SEV2}}
  rules:
    - name: payments
      match: {{alarm_name: "payments-*"}}
      service: payments
      severity: SEV1
"#,
        w.alice, w.bob, w.carol
    )
}

impl World {
    /// A new stack with the default test configuration.
    pub async fn new(level_seconds: u32, repeat: u32) -> Self {
        let w = Self::bare().await;
        w.local
            .apply_config(&oncall_yaml(&w, level_seconds, repeat))
            .await
            .expect("apply config");
        w
    }

    /// A new stack with no configuration applied yet.
    pub async fn bare() -> Self {
        Self::bare_with(None, &[]).await
    }

    /// Like [`World::bare`], with Klaxon's adapters reaching the emulator
    /// through `endpoint` (a fault proxy) when given, and some of the
    /// template's parameters set as given.
    pub async fn bare_with(endpoint: Option<&str>, parameters: &[(&str, String)]) -> Self {
        let tag = unique();
        let local = Local::up_with_parameters(&format!("t{tag}"), endpoint, parameters)
            .await
            .expect("local stack (is the emulator running? see README)");
        Self {
            local: Arc::new(local),
            alice: format!("+8190{tag}01"),
            bob: format!("+8190{tag}02"),
            carol: format!("+8190{tag}03"),
            tag,
        }
    }

    /// A new stack with a voice number whose calls go to `network`, with
    /// Klaxon's adapters reaching the emulator through `endpoint` (a fault
    /// proxy), some template parameters set as given, and no
    /// configuration applied yet.
    pub async fn voice_via(
        network: &klaxon_local::phone::PhoneNetwork,
        endpoint: &str,
        parameters: &[(&str, String)],
    ) -> Self {
        let tag = unique();
        let local = Local::up_voice_with(&format!("t{tag}"), network, Some(endpoint), parameters)
            .await
            .expect("local stack with voice (is the emulator running? see README)");
        Self {
            local,
            alice: format!("+8190{tag}01"),
            bob: format!("+8190{tag}02"),
            carol: format!("+8190{tag}03"),
            tag,
        }
    }

    /// A new stack with the default test configuration (60 s levels),
    /// Klaxon's adapters reaching the emulator through a new fault proxy.
    pub async fn behind_proxy() -> (Self, klaxon_local::faults::FaultProxy) {
        let (w, proxy) = Self::proxied(&[]).await;
        w.local
            .apply_config(&oncall_yaml(&w, 60, 0))
            .await
            .expect("apply config");
        (w, proxy)
    }

    /// A new stack with no configuration applied yet, some of the
    /// template's parameters set as given, Klaxon's adapters reaching the
    /// emulator through a new fault proxy.
    pub async fn proxied(
        parameters: &[(&str, String)],
    ) -> (Self, klaxon_local::faults::FaultProxy) {
        let proxy = klaxon_local::faults::FaultProxy::start(&emulator_endpoint())
            .await
            .expect("fault proxy");
        let w = Self::bare_with(Some(&proxy.endpoint), parameters).await;
        (w, proxy)
    }

    /// A unique email address of this world.
    pub fn email(&self, who: &str) -> String {
        format!("{who}-{}@example.com", self.tag)
    }

    /// Waits until `address` has received at least `n` emails.
    pub async fn wait_for_email(&self, address: &str, n: usize) -> Vec<SentEmail> {
        let emulator = &self.local.emulator;
        wait_for_count(&format!("emails to {address}"), n, || async {
            emulator.emails_to(address).await.expect("read emails")
        })
        .await
    }

    pub fn alarm_name(&self, base: &str) -> String {
        format!("{base}-{}", self.tag)
    }

    pub fn pump(&self) -> Pump {
        Pump::start(Arc::clone(&self.local))
    }

    pub async fn sms_to(&self, phone: &str) -> Vec<SentSms> {
        self.local.emulator.sms_to(phone).await.expect("read SMS")
    }

    /// Waits until `phone` has received at least `n` SMS.
    pub async fn wait_for_sms(&self, phone: &str, n: usize) -> Vec<SentSms> {
        wait_for_count(&format!("SMS to {phone}"), n, || self.sms_to(phone)).await
    }

    pub async fn incident(&self, id: &str) -> Incident {
        self.local
            .store
            .get(id)
            .await
            .expect("get incident")
            .expect("incident exists")
    }

    pub async fn timeline(&self, id: &str) -> Vec<TimelineEntry> {
        self.local.store.timeline(id).await.expect("timeline")
    }

    /// Waits until the incident's escalation execution has ended, and
    /// returns its status.
    pub async fn wait_execution_end(&self, id: &str) -> String {
        self.wait_execution_end_within(id, PATIENCE).await
    }

    /// Like [`World::wait_execution_end`], for escalations longer than
    /// the usual patience.
    pub async fn wait_execution_end_within(&self, id: &str, patience: Duration) -> String {
        let execution = self
            .incident(id)
            .await
            .escalation_execution
            .expect("escalation recorded");
        self.wait_execution_arn_end(&execution, patience).await
    }

    /// Waits until an execution has ended, and returns its status.
    pub async fn wait_execution_arn_end(&self, execution: &str, patience: Duration) -> String {
        let sfn = aws_sdk_sfn::Client::new(&self.local.sdk);
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let out = sfn
                .describe_execution()
                .execution_arn(execution)
                .send()
                .await
                .expect("describe execution");
            let status = out.status().as_str().to_string();
            if status != "RUNNING" {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "execution still running"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Polls `read` until it returns at least `n` items, for up to [`PATIENCE`].
async fn wait_for_count<T: std::fmt::Debug, F, Fut>(what: &str, n: usize, read: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = read().await;
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {n} {what}, got {}: {got:?}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The emulator's endpoint, which fault proxies forward to.
pub fn emulator_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (see README)")
}

/// The ack code in a page text (`... ACK 4821 ...`).
pub fn ack_code(page: &str) -> String {
    let after = page.split("ACK ").nth(1).expect("page has ACK");
    after.chars().take(4).collect()
}

/// The single incident id an intake outcome names.
pub fn opened_id(outcomes: &[klaxon_app::intake::IntakeOutcome]) -> String {
    match outcomes {
        [klaxon_app::intake::IntakeOutcome::Opened { incident_id }] => incident_id.clone(),
        other => panic!("expected one opened incident, got {other:?}"),
    }
}

/// The incident store of a new stack, for the store contract.
pub async fn store_of_a_new_stack() -> klaxon_aws::dynamo::DynamoStore {
    World::bare().await.local.store.clone()
}
