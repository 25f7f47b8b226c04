//! Fakes of the outside world at its API boundary: SMS, email, the
//! escalation workflow, alarm tags and the applied configuration.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use klaxon_config::OncallConfig;
use klaxon_core::phone::Phone;

use klaxon_ports::{
    AlarmTags, BackendError, CallArguments, CallUpdate, ConfigLoadError, ConfigSource, EmailSender,
    EscalationStatus, Escalations, Metrics, PhoneCalls, SmsSender, StepResult,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One SMS the fake phone network accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub to: String,
    pub text: String,
    pub message_id: String,
}

/// A phone network that records what it is asked to send.
#[derive(Debug, Default)]
pub struct FakeSms {
    sent: Mutex<Vec<SentSms>>,
    failures: Mutex<Vec<BackendError>>,
    outage: Mutex<Option<BackendError>>,
}

impl FakeSms {
    pub fn sent(&self) -> Vec<SentSms> {
        lock(&self.sent).clone()
    }

    /// Texts sent to one number.
    pub fn to(&self, number: &str) -> Vec<String> {
        lock(&self.sent)
            .iter()
            .filter(|s| s.to == number)
            .map(|s| s.text.clone())
            .collect()
    }

    /// The next send fails with `error` (and sends nothing).
    pub fn fail_next(&self, error: BackendError) {
        lock(&self.failures).push(error);
    }

    /// Every send fails with `error` until [`FakeSms::restore`].
    pub fn outage(&self, error: BackendError) {
        *lock(&self.outage) = Some(error);
    }

    pub fn restore(&self) {
        *lock(&self.outage) = None;
    }
}

impl SmsSender for FakeSms {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<String, BackendError> {
        if let Some(e) = lock(&self.failures).pop() {
            return Err(e);
        }
        if let Some(e) = lock(&self.outage).clone() {
            return Err(e);
        }
        let mut sent = lock(&self.sent);
        let message_id = format!("sms-{}", sent.len() + 1);
        sent.push(SentSms {
            to: to.as_str().to_string(),
            text: text.to_string(),
            message_id: message_id.clone(),
        });
        Ok(message_id)
    }
}

/// One email the fake mail service accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A mail service that records what it is asked to send.
#[derive(Debug, Default)]
pub struct FakeEmail {
    sent: Mutex<Vec<SentEmail>>,
    failures: Mutex<Vec<BackendError>>,
}

impl FakeEmail {
    pub fn sent(&self) -> Vec<SentEmail> {
        lock(&self.sent).clone()
    }

    pub fn fail_next(&self, error: BackendError) {
        lock(&self.failures).push(error);
    }
}

impl EmailSender for FakeEmail {
    async fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<String, BackendError> {
        if let Some(e) = lock(&self.failures).pop() {
            return Err(e);
        }
        let mut sent = lock(&self.sent);
        sent.push(SentEmail {
            to: to.into(),
            subject: subject.into(),
            body: body.into(),
        });
        Ok(format!("email-{}", sent.len()))
    }
}

#[derive(Debug, Default)]
struct Workflows {
    /// Execution id by incident, with the hold it started with.
    started: BTreeMap<String, (String, u32)>,
    starts: u32,
    stopped: Vec<(String, String)>,
    completed: Vec<(String, StepResult)>,
    failed: Vec<(String, String, String)>,
    fail_start: Vec<BackendError>,
    fail_stop: Vec<BackendError>,
    not_waiting: bool,
    /// Restarts: (incident, generation, step, execution).
    restarted: Vec<(String, u32, u32, String)>,
    /// Executions that ended by themselves (failed, timed out).
    ended: Vec<String>,
}

/// The escalation workflow: executions named after their incident, as
/// Step Functions names them, so starting twice starts one.
#[derive(Debug, Default)]
pub struct FakeEscalations(Mutex<Workflows>);

impl FakeEscalations {
    /// The execution of an incident and the hold it started with.
    pub fn started(&self, incident_id: &str) -> Option<(String, u32)> {
        lock(&self.0).started.get(incident_id).cloned()
    }

    /// The incidents whose escalation was started.
    pub fn started_incidents(&self) -> Vec<String> {
        lock(&self.0).started.keys().cloned().collect()
    }

    /// How many start calls were made (repeats included).
    pub fn start_calls(&self) -> u32 {
        lock(&self.0).starts
    }

    /// Executions stopped, with the reason.
    pub fn stopped(&self) -> Vec<(String, String)> {
        lock(&self.0).stopped.clone()
    }

    pub fn completed(&self) -> Vec<(String, StepResult)> {
        lock(&self.0).completed.clone()
    }

    /// Steps failed: task token, error, cause.
    pub fn failed(&self) -> Vec<(String, String, String)> {
        lock(&self.0).failed.clone()
    }

    pub fn fail_next_start(&self, error: BackendError) {
        lock(&self.0).fail_start.push(error);
    }

    pub fn fail_next_stop(&self, error: BackendError) {
        lock(&self.0).fail_stop.push(error);
    }

    /// The workflow no longer waits for step results (stopped or timed out).
    pub fn stop_waiting(&self) {
        lock(&self.0).not_waiting = true;
    }

    pub fn execution_of(incident_id: &str) -> String {
        format!("arn:aws:states:us-east-1:123456789012:execution:escalation:{incident_id}")
    }

    /// Generation `generation` of an incident's escalation.
    pub fn generation_of(incident_id: &str, generation: u32) -> String {
        Self::execution_of(incident_id) + &klaxon_core::escalation::generation_suffix(generation)
    }

    /// Restarts made: (incident, generation, step, execution).
    pub fn restarted(&self) -> Vec<(String, u32, u32, String)> {
        lock(&self.0).restarted.clone()
    }

    /// The execution ends by itself (failed or timed out), unstopped.
    pub fn end(&self, execution: &str) {
        lock(&self.0).ended.push(execution.to_string());
    }
}

impl Escalations for FakeEscalations {
    async fn start(&self, incident_id: &str, hold_seconds: u32) -> Result<String, BackendError> {
        let mut w = lock(&self.0);
        w.starts += 1;
        if let Some(e) = w.fail_start.pop() {
            return Err(e);
        }
        let execution = Self::execution_of(incident_id);
        w.started
            .entry(incident_id.to_string())
            .or_insert((execution.clone(), hold_seconds));
        Ok(execution)
    }

    fn execution(&self, incident_id: &str, generation: u32) -> Result<String, BackendError> {
        Ok(Self::generation_of(incident_id, generation))
    }

    async fn restart(
        &self,
        incident_id: &str,
        generation: u32,
        step: u32,
        _hold_seconds: u32,
    ) -> Result<String, BackendError> {
        let mut w = lock(&self.0);
        w.starts += 1;
        if let Some(e) = w.fail_start.pop() {
            return Err(e);
        }
        let execution = Self::generation_of(incident_id, generation);
        if !w.restarted.iter().any(|r| r.3 == execution) {
            w.restarted
                .push((incident_id.to_string(), generation, step, execution.clone()));
        }
        Ok(execution)
    }

    async fn stop(&self, execution: &str, reason: &str) -> Result<(), BackendError> {
        let mut w = lock(&self.0);
        if let Some(e) = w.fail_stop.pop() {
            return Err(e);
        }
        w.stopped.push((execution.into(), reason.into()));
        Ok(())
    }

    async fn complete_step(
        &self,
        task_token: &str,
        result: &StepResult,
    ) -> Result<bool, BackendError> {
        let mut w = lock(&self.0);
        w.completed.push((task_token.into(), result.clone()));
        Ok(!w.not_waiting)
    }

    async fn fail_step(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<bool, BackendError> {
        let mut w = lock(&self.0);
        w.failed
            .push((task_token.into(), error.into(), cause.into()));
        Ok(!w.not_waiting)
    }
}

impl EscalationStatus for FakeEscalations {
    /// Running from its start until stopped or ended; one never started
    /// has ended.
    async fn has_ended(&self, execution: &str) -> Result<bool, BackendError> {
        let w = lock(&self.0);
        let started = w.started.values().any(|(e, _)| e == execution)
            || w.restarted.iter().any(|r| r.3 == execution);
        Ok(!started
            || w.stopped.iter().any(|(e, _)| e == execution)
            || w.ended.iter().any(|e| e == execution))
    }
}

/// CloudWatch as the self-test sees it: the successes published.
#[derive(Debug, Default)]
pub struct FakeMetrics {
    published: Mutex<Vec<Timestamp>>,
    failures: Mutex<Vec<BackendError>>,
}

impl FakeMetrics {
    /// When each success was published.
    pub fn published(&self) -> Vec<Timestamp> {
        lock(&self.published).clone()
    }

    pub fn fail_next(&self, error: BackendError) {
        lock(&self.failures).push(error);
    }
}

impl Metrics for FakeMetrics {
    async fn self_test_succeeded(&self, at: Timestamp) -> Result<(), BackendError> {
        if let Some(e) = lock(&self.failures).pop() {
            return Err(e);
        }
        lock(&self.published).push(at);
        Ok(())
    }
}

/// Alarm tags by alarm ARN, as CloudWatch keeps them: an alarm it knows
/// has its tags (none is an empty map); an alarm it does not know is
/// `ResourceNotFoundException`, which no retry mends. `fail` makes every
/// read fail as throttled.
#[derive(Debug, Default)]
pub struct FakeTags {
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    pub fail: bool,
}

impl AlarmTags for FakeTags {
    async fn tags(&self, alarm_arn: &str) -> Result<BTreeMap<String, String>, BackendError> {
        if self.fail {
            return Err(super::transient("ListTagsForResource"));
        }
        self.tags
            .get(alarm_arn)
            .cloned()
            .ok_or_else(|| BackendError {
                service: "CloudWatch",
                operation: "ListTagsForResource",
                message: format!("ResourceNotFoundException: {alarm_arn} does not exist"),
                retryable: false,
            })
    }
}

/// The applied configuration: a YAML document, or none. Tests change it
/// mid-scenario (a change takes effect at once, as with no cache). Parsed
/// once per change, as the adapter parses once per cache period.
#[derive(Debug, Default)]
pub struct StaticConfig(Mutex<Option<(String, Option<Arc<OncallConfig>>)>>);

impl StaticConfig {
    pub fn yaml(text: &str) -> Self {
        Self(Mutex::new(Some((text.to_string(), None))))
    }

    /// No configuration applied.
    pub fn missing() -> Self {
        Self::default()
    }

    pub fn set(&self, text: &str) {
        *lock(&self.0) = Some((text.to_string(), None));
    }
}

impl ConfigSource for StaticConfig {
    async fn current(&self) -> Result<Arc<OncallConfig>, ConfigLoadError> {
        let mut guard = lock(&self.0);
        let (text, parsed) = guard.as_mut().ok_or(ConfigLoadError::Missing)?;
        if let Some(config) = parsed {
            return Ok(Arc::clone(config));
        }
        let config = Arc::new(OncallConfig::from_yaml(text)?);
        *parsed = Some(Arc::clone(&config));
        Ok(config)
    }
}

/// One call the fake phone network placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    pub to: String,
    pub arguments: CallArguments,
    pub transaction_id: String,
}

/// A phone network that records the calls it is asked to place and the
/// updates it is asked to pass on; a call is under way until [`FakeCalls::end`].
#[derive(Debug, Default)]
pub struct FakeCalls {
    placed: Mutex<Vec<PlacedCall>>,
    updates: Mutex<Vec<(String, BTreeMap<String, String>)>>,
    ended: Mutex<std::collections::BTreeSet<String>>,
    failures: Mutex<Vec<BackendError>>,
}

impl FakeCalls {
    pub fn placed(&self) -> Vec<PlacedCall> {
        lock(&self.placed).clone()
    }

    /// Updates passed on to calls under way.
    pub fn updates(&self) -> Vec<(String, BTreeMap<String, String>)> {
        lock(&self.updates).clone()
    }

    /// The call hangs up.
    pub fn end(&self, transaction_id: &str) {
        lock(&self.ended).insert(transaction_id.to_string());
    }

    pub fn fail_next(&self, error: BackendError) {
        lock(&self.failures).push(error);
    }
}

impl PhoneCalls for FakeCalls {
    async fn place_call(
        &self,
        to: &Phone,
        arguments: &CallArguments,
    ) -> Result<String, BackendError> {
        if let Some(e) = lock(&self.failures).pop() {
            return Err(e);
        }
        let mut placed = lock(&self.placed);
        let transaction_id = format!("00000000-0000-4000-8000-{:012}", placed.len() + 1);
        placed.push(PlacedCall {
            to: to.as_str().to_string(),
            arguments: arguments.clone(),
            transaction_id: transaction_id.clone(),
        });
        Ok(transaction_id)
    }

    async fn update_call(
        &self,
        transaction_id: &str,
        arguments: &BTreeMap<String, String>,
    ) -> Result<CallUpdate, BackendError> {
        if let Some(e) = lock(&self.failures).pop() {
            return Err(e);
        }
        let known = lock(&self.placed)
            .iter()
            .any(|c| c.transaction_id == transaction_id);
        if !known || lock(&self.ended).contains(transaction_id) {
            return Ok(CallUpdate::Ended);
        }
        lock(&self.updates).push((transaction_id.to_string(), arguments.clone()));
        Ok(CallUpdate::Sent)
    }
}
