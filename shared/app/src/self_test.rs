//! The scheduled self-test: one synthetic alarm through the whole paging
//! path, checked at each step.
//!
//! 1. A `klaxon-self-test-<run id>` ALARM goes to intake (in AWS the real
//!    intake function, invoked synchronously), which opens an incident
//!    marked `self_test`, routed to the built-in policy, and starts its
//!    escalation.
//! 2. The escalation workflow queues step 0; the escalator fires the level
//!    and records a page to the sink through the same claim as any page,
//!    sending nothing. The self-test waits for that `paged` entry (and
//!    fails if anything else was paged).
//! 3. The OK goes to intake, which resolves the incident and stops the
//!    escalation; the self-test waits until both have happened.
//! 4. Each delivery channel is read from the account, sending nothing
//!    ([`super::channels`]): SMS sandbox against the configured numbers,
//!    SMS spend against its monthly limit, the email sender's identity and
//!    the SES account, the voice number. One that is broken, or that could
//!    not be read, fails the run: a page on it would be lost.
//! 5. Only then is success published (`Klaxon/SelfTestSucceeded`).
//!
//! A step that fails or times out publishes nothing, so the self-test
//! alarm fires from the missing data; the incident is still resolved when
//! it was opened (best effort), and the error says whether a retry helps.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;
use tracing::{error, info, warn};

use super::AppError;
use super::channels::{self, StackChannels};
use klaxon_core::alarm::AlarmState;
use klaxon_core::alarm::IntakeOutcome;
use klaxon_core::channels::{Finding, Health};
use klaxon_core::incident::{Channel, Incident, Status, TimelineEvent};
use klaxon_core::self_test::{self as st, Run};
use klaxon_ports::{
    AlarmDelivery, Clock, ConfigSource, DeliveryChannels, EscalationStatus, IdSource, Incidents,
    Metrics, Sleep,
};

/// How long each wait may take, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From the ALARM to the sink's page on the incident's timeline.
    pub page_within: Duration,
    /// From the OK to the incident resolved and its escalation ended.
    pub resolve_within: Duration,
    pub poll_every: Duration,
}

impl Default for Limits {
    /// 90 s for the page and 30 s for the resolve: with two intake calls
    /// (at most 15 s each) the paging path ends in 150 s, which leaves the
    /// channel reads 90 s of the function's 240 s timeout.
    fn default() -> Self {
        Self {
            page_within: Duration::from_secs(90),
            resolve_within: Duration::from_secs(30),
            poll_every: Duration::from_secs(2),
        }
    }
}

/// What a successful run saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfTestReport {
    pub run_id: String,
    pub alarm_name: String,
    pub incident_id: String,
    /// From the ALARM's delivery to the sink's page being recorded.
    pub paged_after_ms: i64,
    /// From the OK's delivery to the escalation having ended.
    pub resolved_after_ms: i64,
    /// Each delivery channel's finding (none broken, or the run failed).
    pub channels: Vec<Finding>,
}

/// The ports a self-test run needs.
/// The self-test's ports, one type each: named once by each composition root
/// (the self-test function's AWS adapters, [`crate::world::FakePorts`]
/// for the tests), instead of one type parameter per port.
pub trait SelfTestPorts {
    type Intake: AlarmDelivery;
    type Incidents: Incidents;
    type Escalations: EscalationStatus;
    type Metrics: Metrics;
    type Sleep: Sleep;
    type Channels: DeliveryChannels;
    type Config: ConfigSource;
}

pub struct SelfTest<'a, P: SelfTestPorts> {
    pub intake: &'a P::Intake,
    pub incidents: &'a P::Incidents,
    pub escalations: &'a P::Escalations,
    pub metrics: &'a P::Metrics,
    /// The account's delivery channels, read and never sent to.
    pub channels: &'a P::Channels,
    /// The applied configuration: the numbers the SMS sandbox must allow.
    pub config: &'a P::Config,
    /// The stack's channel settings (origination number, sender, voice number).
    pub stack_channels: &'a StackChannels,
    pub sleep: &'a P::Sleep,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdSource,
    /// The account and region the synthetic alarm is from (this stack's).
    pub account: &'a str,
    pub region: &'a str,
    pub limits: Limits,
}

impl<P: SelfTestPorts> SelfTest<'_, P> {
    /// One run. Concurrent runs do not meet: each has its own run id, so
    /// its own alarm, dedup key and incident.
    pub async fn run(&self) -> Result<SelfTestReport, AppError> {
        let run = Run {
            id: self.ids.incident_id(self.clock.now()),
            account: self.account.to_string(),
            region: self.region.to_string(),
        };
        info!(run = %run.id, alarm = %run.alarm_name(), "self-test started");
        let alarm_at = self.clock.now();
        let opened = self
            .deliver(&run, AlarmState::Alarm, alarm_at)
            .await
            .and_then(|answer| incident_of(&answer, "the ALARM"));
        let incident_id = match opened {
            Ok(id) => id,
            Err(e) => return Err(failed(&run, None, "deliver the ALARM", e)),
        };
        let report = match self.check(&run, &incident_id, alarm_at).await {
            Ok(report) => report,
            Err((step, e)) => {
                self.clean_up(&run, &incident_id, alarm_at).await;
                return Err(failed(&run, Some(&incident_id), step, e));
            }
        };
        let report = match self.check_channels(report).await {
            Ok(report) => report,
            Err(e) => {
                return Err(failed(
                    &run,
                    Some(&incident_id),
                    "check the delivery channels",
                    e,
                ));
            }
        };
        if let Err(e) = self.metrics.self_test_succeeded(self.clock.now()).await {
            return Err(failed(
                &run,
                Some(&incident_id),
                "publish success",
                e.into(),
            ));
        }
        info!(
            run = %run.id,
            incident = %incident_id,
            paged_after_ms = report.paged_after_ms,
            resolved_after_ms = report.resolved_after_ms,
            "self-test succeeded"
        );
        Ok(report)
    }

    /// Step 4: every channel read; any broken one fails the run, naming
    /// each. Warnings are logged, and do not fail it.
    async fn check_channels(&self, mut report: SelfTestReport) -> Result<SelfTestReport, AppError> {
        let config = self.config.current().await?;
        let findings = channels::check(
            self.channels,
            self.stack_channels,
            Some(&config),
            self.clock.now(),
        )
        .await;
        for f in findings.iter().filter(|f| f.health == Health::Warning) {
            warn!(check = f.check, message = %f.message, "self-test: delivery channel at risk");
        }
        let broken: Vec<&Finding> = findings.iter().filter(|f| f.is_broken()).collect();
        if !broken.is_empty() {
            let mut message = String::from("a delivery channel is broken:");
            for f in &broken {
                message.push_str(&format!("\n{}: {}", f.check, f.message));
            }
            // The next scheduled run checks again: no retry of this one.
            return Err(AppError::SelfTest(message));
        }
        report.channels = findings;
        Ok(report)
    }

    /// Steps 2 and 3; the error names the step that failed.
    async fn check(
        &self,
        run: &Run,
        incident_id: &str,
        alarm_at: Timestamp,
    ) -> Result<SelfTestReport, (&'static str, AppError)> {
        let step = "see the sink's page";
        let paged_after = self
            .wait_for_sink_page(incident_id)
            .await
            .map_err(|e| (step, e))?;
        let step = "deliver the OK";
        let ok_at = st::ok_time(alarm_at, self.clock.now());
        let resolved = self
            .deliver(run, AlarmState::Ok, ok_at)
            .await
            .and_then(|answer| incident_of(&answer, "the OK"))
            .map_err(|e| (step, e))?;
        if resolved != incident_id {
            return Err((
                step,
                AppError::SelfTest(format!(
                    "the OK resolved {resolved}, not the run's incident {incident_id}"
                )),
            ));
        }
        let step = "see the incident resolved and its escalation ended";
        let resolved_after = self
            .wait_for_resolution(incident_id)
            .await
            .map_err(|e| (step, e))?;
        Ok(SelfTestReport {
            run_id: run.id.clone(),
            alarm_name: run.alarm_name(),
            incident_id: incident_id.to_string(),
            paged_after_ms: paged_after.as_millis().try_into().unwrap_or(i64::MAX),
            resolved_after_ms: resolved_after.as_millis().try_into().unwrap_or(i64::MAX),
            channels: Vec::new(),
        })
    }

    async fn deliver(
        &self,
        run: &Run,
        state: AlarmState,
        at: Timestamp,
    ) -> Result<Value, AppError> {
        Ok(self.intake.deliver(&run.event(state, at)).await?)
    }

    /// Waits until the escalator has recorded the sink's page. The incident
    /// must be the self-test's and must have paged nothing else.
    async fn wait_for_sink_page(&self, incident_id: &str) -> Result<SignedDuration, AppError> {
        let started = self.clock.now();
        let deadline = started + self.limits.page_within;
        loop {
            match self.sink_paged(incident_id).await {
                Ok(true) => return Ok(self.clock.now().duration_since(started)),
                Ok(false) => {}
                Err(AppError::Backend(e)) if e.retryable => {
                    warn!(incident = %incident_id, error = %e, "self-test: reading the incident failed; trying again");
                }
                Err(e) => return Err(e),
            }
            if self.clock.now() >= deadline {
                return Err(AppError::SelfTest(format!(
                    "no page to the self-test sink on {incident_id} within {} s: the escalation workflow or the escalator is not running",
                    self.limits.page_within.as_secs()
                )));
            }
            self.sleep.sleep(self.limits.poll_every).await;
        }
    }

    async fn sink_paged(&self, incident_id: &str) -> Result<bool, AppError> {
        let Some(incident) = self.incidents.get(incident_id).await? else {
            return Err(AppError::SelfTest(format!(
                "intake reported {incident_id}, which does not exist"
            )));
        };
        marked(&incident)?;
        let mut sink = false;
        for entry in self.incidents.timeline(incident_id).await? {
            if let TimelineEvent::Paged {
                channel, person, ..
            } = &entry.event
            {
                if *channel != Channel::SelfTest {
                    return Err(AppError::SelfTest(format!(
                        "self-test incident {incident_id} paged {person} by {channel}"
                    )));
                }
                sink = true;
            }
        }
        Ok(sink)
    }

    /// Waits until the incident is resolved and its escalation has ended.
    async fn wait_for_resolution(&self, incident_id: &str) -> Result<SignedDuration, AppError> {
        let started = self.clock.now();
        let deadline = started + self.limits.resolve_within;
        let mut last = String::from("not read yet");
        loop {
            match self.resolution(incident_id).await {
                Ok(None) => return Ok(self.clock.now().duration_since(started)),
                Ok(Some(what)) => last = what,
                Err(AppError::Backend(e)) if e.retryable => {
                    warn!(incident = %incident_id, error = %e, "self-test: reading the incident failed; trying again");
                }
                Err(e) => return Err(e),
            }
            if self.clock.now() >= deadline {
                return Err(AppError::SelfTest(format!(
                    "{incident_id} not done within {} s after its OK: {last}",
                    self.limits.resolve_within.as_secs()
                )));
            }
            self.sleep.sleep(self.limits.poll_every).await;
        }
    }

    /// `None` when resolved with its escalation ended, else what is missing.
    async fn resolution(&self, incident_id: &str) -> Result<Option<String>, AppError> {
        let Some(incident) = self.incidents.get(incident_id).await? else {
            return Err(AppError::SelfTest(format!("{incident_id} vanished")));
        };
        if incident.status != Status::Resolved {
            return Ok(Some(format!("still {}", incident.status)));
        }
        let Some(execution) = &incident.escalation_execution else {
            return Err(AppError::SelfTest(format!(
                "{incident_id} has no escalation recorded"
            )));
        };
        if !self.escalations.has_ended(execution).await? {
            return Ok(Some(format!("escalation {execution} still running")));
        }
        Ok(None)
    }

    /// After a failure: resolve the run's incident anyway, so a broken run
    /// leaves no open incident and no running escalation behind.
    async fn clean_up(&self, run: &Run, incident_id: &str, alarm_at: Timestamp) {
        let ok_at = st::ok_time(alarm_at, self.clock.now());
        if let Err(e) = self.deliver(run, AlarmState::Ok, ok_at).await {
            warn!(run = %run.id, incident = %incident_id, error = %e, "self-test: could not resolve the failed run's incident");
        }
    }
}

/// The incident must be the self-test's: marked, on the built-in policy.
fn marked(incident: &Incident) -> Result<(), AppError> {
    if !incident.self_test || incident.policy != st::POLICY {
        return Err(AppError::SelfTest(format!(
            "{} is not marked as a self-test (self_test={}, policy {}): is intake older than the self-test?",
            incident.id, incident.self_test, incident.policy
        )));
    }
    Ok(())
}

/// The incident intake's answer names. A self-test alarm is new each run,
/// so anything but one incident opened, folded or resolved is a failure.
fn incident_of(answer: &Value, what: &str) -> Result<String, AppError> {
    let outcomes: Vec<IntakeOutcome> = serde_json::from_value(answer.clone()).map_err(|e| {
        AppError::SelfTest(format!(
            "intake's answer to {what} is not understood ({e}): {answer}"
        ))
    })?;
    match outcomes.as_slice() {
        [
            IntakeOutcome::Opened { incident_id }
            | IntakeOutcome::Folded { incident_id, .. }
            | IntakeOutcome::Duplicate { incident_id }
            | IntakeOutcome::Resolved { incident_id },
        ] => Ok(incident_id.clone()),
        other => Err(AppError::SelfTest(format!(
            "intake answered {what} with {other:?}"
        ))),
    }
}

fn failed(run: &Run, incident: Option<&str>, step: &str, e: AppError) -> AppError {
    error!(
        run = %run.id,
        incident = incident.unwrap_or("-"),
        step,
        error = %e,
        retryable = e.retryable(),
        "self-test failed"
    );
    e
}

#[cfg(test)]
mod tests;
