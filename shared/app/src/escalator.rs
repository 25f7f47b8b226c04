//! One escalation wake-up, run when the workflow asks for it.
//!
//! The workflow sends `{incident_id, step, task_token}`. The first time a
//! step runs, its level fires: schedule targets are resolved to whoever is
//! on call at that moment, and the result is recorded once. Each run then
//! sends every notification that is due by the targets' notification rules
//! for the incident's urgency (each claimed atomically first, so a retry or
//! a concurrent run never sends it twice, and nothing is sent once the
//! incident is acknowledged or resolved), and reports back when to wake
//! next: for the level's next notification, or at its timeout for the next
//! step. Past the last step the escalation is over.
//!
//! Each page is attempted on its own: one that fails with an error a retry
//! may fix (a throttled or unavailable channel) is recorded as failed and
//! retried with capped backoff by later runs, whatever step they run,
//! while every other page goes out on time and the levels move on. A
//! failed page is given up (abandoned, said on the timeline) once it has
//! failed for longer than the escalation's retry limit; the escalation
//! ends only when the policy is exhausted and no page is still retrying,
//! or when the incident stops paging.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::AppError;
use klaxon_config::{NotificationRule, OncallConfig, Profile};
use klaxon_core::escalation::{
    PageRetry, Step, is_due, next_wake, step as policy_step, total_steps,
};
use klaxon_core::incident::{Channel, Incident, TimelineEntry, TimelineEvent};
use klaxon_core::metrics::Metric;
use klaxon_core::phone::Phone;
use klaxon_core::policy::{EscalationPolicy, Resolution, ResolvedTarget};
use klaxon_core::self_test;
use klaxon_ports::{
    Clock, ConfigSource, EmailSender, Escalations, FailedPage, Incidents, LevelRecord, MetricLog,
    PageClaim, Paging, PhoneCalls, RateLimits, SmsSender, StepResult,
};

/// A page is sent only with more than the longest a send may take
/// ([`Escalator::send_timeout`]) and this left of the run's lease.
const SEND_MARGIN: SignedDuration = SignedDuration::from_secs(1);

/// The longest a send may take in AWS: the functions' clients give up a
/// call after [`klaxon_ports::CALL_TIMEOUT`].
pub const SEND_TIMEOUT: SignedDuration =
    SignedDuration::from_secs(klaxon_ports::CALL_TIMEOUT.as_secs() as i64);

/// The message the workflow sends for each step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub incident_id: String,
    pub step: u32,
    pub task_token: String,
    /// The execution that queued the step, and how many steps it has run
    /// (absent from messages of state machines before generations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    #[serde(default)]
    pub runs: u32,
}

/// The ports a step needs.
/// The escalator's ports, one type each: named once by each composition root
/// (the escalator function's AWS adapters, [`crate::world::FakePorts`]
/// for the tests), instead of one type parameter per port.
pub trait EscalatorPorts {
    type Incidents: Incidents;
    type Paging: Paging;
    type Sms: SmsSender;
    type Email: EmailSender;
    type Escalations: Escalations;
    type Config: ConfigSource;
    type Calls: PhoneCalls;
    type Limits: RateLimits;
    type Metrics: MetricLog;
}

pub struct Escalator<'a, P: EscalatorPorts> {
    pub incidents: &'a P::Incidents,
    pub paging: &'a P::Paging,
    pub sms: &'a P::Sms,
    /// `None` when no sender address is configured: email rules then leave
    /// a warning on the timeline instead.
    pub email: Option<&'a P::Email>,
    /// `None` when the stack has no voice number: voice rules then leave a
    /// warning on the timeline instead.
    pub calls: Option<&'a P::Calls>,
    /// Calls per number ([`klaxon_core::rate_limit::VOICE_PER_NUMBER`]).
    pub limits: &'a P::Limits,
    pub escalations: &'a P::Escalations,
    pub config: &'a P::Config,
    pub clock: &'a dyn Clock,
    /// Where failed step runs are counted.
    pub metrics: &'a P::Metrics,
    /// When the current run must end (the Lambda invocation's deadline):
    /// page claims are held until then, so a run that dies between claiming
    /// and sending frees its claims when it could no longer send. `None`
    /// outside Lambda: claims are then held for [`klaxon_core::paging::DEFAULT_LEASE_SECONDS`].
    pub deadline: Option<Timestamp>,
    /// How a failing page is retried, and for how long.
    pub retry: PageRetry,
    /// The longest a send may take: the senders' clients give up a call
    /// after it ([`SEND_TIMEOUT`] in AWS; zero for clients without a
    /// timeout). A page is sent only with more than this and a second left
    /// of the run's lease, so a send never lands after its claim could be
    /// taken over.
    pub send_timeout: SignedDuration,
}

impl<P: EscalatorPorts> Clone for Escalator<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: EscalatorPorts> Copy for Escalator<'_, P> {}

impl<P: EscalatorPorts> Escalator<'_, P> {
    /// Handles an SQS batch of step messages. Failed records are reported
    /// individually, so SQS retries only those (and after `maxReceiveCount`
    /// moves them to the dead-letter queue).
    pub async fn handle_batch(
        &self,
        event: &aws_lambda_events::sqs::SqsEvent,
    ) -> aws_lambda_events::sqs::SqsBatchResponse {
        let mut response = aws_lambda_events::sqs::SqsBatchResponse::default();
        for record in &event.records {
            let id = record.message_id.clone().unwrap_or_default();
            let Some(body) = record.body.as_deref() else {
                warn!(message_id = %id, "SQS record without a body");
                response.add_failure(id);
                continue;
            };
            if let Err(e) = self.handle_message(body).await {
                warn!(message_id = %id, error = %e, retryable = e.retryable(), "escalation step failed");
                response.add_failure(id);
            }
        }
        // The function never fails (failures are the batch's items), so
        // its `Errors` metric cannot show a failing step: this count does.
        let failed = vec![Metric::EscalationStepFailed; response.batch_item_failures.len()];
        self.metrics.record(&failed, self.clock.now());
        response
    }

    /// Handles one queued step message (the SQS record body).
    pub async fn handle_message(&self, body: &str) -> Result<StepResult, AppError> {
        let request: StepRequest = serde_json::from_str(body)
            .map_err(|e| AppError::InvalidEvent(format!("escalation step message: {e}")))?;
        match self.run_step(&request.incident_id, request.step).await {
            Ok(result) => {
                let result = self.hand_over_if_long(&request, result).await?;
                let waiting = self
                    .escalations
                    .complete_step(&request.task_token, &result)
                    .await?;
                if !waiting {
                    info!(incident = %request.incident_id, step = request.step, "workflow no longer waits for this step");
                }
                Ok(result)
            }
            Err(e) if !e.retryable() => {
                if let Some(permission) = e.missing_permission() {
                    self.record_missing_permission(&request, &permission).await;
                }
                // The workflow would wait for nothing: fail it visibly.
                self.escalations
                    .fail_step(&request.task_token, "Klaxon.StepFailed", &e.to_string())
                    .await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// A permission the escalator's role lacks stops the step for good: the
    /// incident's timeline says which, for the responders and the operator
    /// who reads it (the failed execution raises the operators' alarm).
    async fn record_missing_permission(&self, request: &StepRequest, permission: &str) {
        error!(incident = %request.incident_id, step = request.step, permission, "permission missing: the step cannot page");
        let entry = TimelineEntry::new(
            self.clock.now(),
            format!("perm#{:04}", request.step),
            TimelineEvent::Warning {
                step: request.step,
                message: format!(
                    "permission missing: {permission}; paging stopped until the escalator's role allows it"
                ),
            },
        );
        if let Err(e) = self.incidents.append(&request.incident_id, &entry).await {
            error!(incident = %request.incident_id, error = %e, "could not record the missing permission");
        }
    }

    /// Runs step `index`: fires its level once, sends what is due, and says
    /// when to wake next.
    pub async fn run_step(&self, incident_id: &str, index: u32) -> Result<StepResult, AppError> {
        let done = |step| StepResult {
            incident_id: incident_id.to_string(),
            step,
            wait_seconds: 0,
            done: true,
        };
        let Some(incident) = self.incidents.get(incident_id).await? else {
            return Err(AppError::InvalidEvent(format!(
                "incident {incident_id} does not exist"
            )));
        };
        if !incident.status.pages() {
            info!(incident = %incident_id, status = %incident.status, "escalation ends: incident no longer triggered");
            return Ok(done(index));
        }
        let config = self.config.current().await?;
        if incident.self_test {
            // Never the configuration's policy, whatever it names.
            return self.run_sink_step(&incident, index).await;
        }
        let policy = match config.policy(&incident.policy) {
            Some(p) => p,
            None => {
                // The policy was removed since the incident opened: fall back
                // to the default route's service's policy.
                warn!(incident = %incident_id, policy = %incident.policy, "policy no longer configured; using the default service's policy");
                config.default_policy().ok_or_else(|| {
                    AppError::InvalidEvent("default escalation policy missing".into())
                })?
            }
        };
        let now = self.clock.now();
        // Pages that failed, of this level or an earlier one: each retried
        // on its own schedule, apart from the pages due now.
        let mut outcomes = Outcomes::new(&self.retry);
        let failed = self.paging.failed_pages(incident_id).await?;
        let failing: BTreeSet<String> = failed.iter().map(FailedPage::key).collect();
        for page in &failed {
            let retried = self.retry(&incident, &config, policy, page, now).await;
            if outcomes.take(retried, now) {
                info!(incident = %incident_id, "stopped paging: status changed");
                return Ok(done(index));
            }
        }
        let Some(step) = policy_step(policy, index) else {
            if outcomes.pending() {
                // Levels exhausted, pages still retrying: not over yet.
                return outcomes.settle(index, done(index), now);
            }
            return self.exhausted(incident_id, policy, index).await;
        };

        let fired = self
            .fire(&incident, &step, now, || {
                people(&config, &incident, &step, now)
            })
            .await?;
        // Whole seconds since the level fired, rounded down, so the next
        // wake-up is never earlier than the level's timeout.
        let elapsed = u32::try_from(now.duration_since(fired.fired_at).as_secs()).unwrap_or(0);

        let mut delays = Vec::new();
        for target in &fired.targets {
            let Some(person) = config.person(&target.person) else {
                // Removed from the configuration since the level fired.
                self.gone(&incident, &fired, &target.person).await?;
                continue;
            };
            for rule in person.rules(incident.urgency) {
                if rule.after_secs > 0 && rule.after_secs >= step.timeout_secs {
                    continue; // the level times out first
                }
                delays.push(rule.after_secs);
                if !is_due(rule.after_secs, elapsed) {
                    continue;
                }
                let (claim, address) = claim_for(&step, person, rule);
                if failing.contains(&claim.key()) {
                    continue; // retried above, on its own schedule
                }
                let sent = self
                    .notify(&incident, &step, &fired, person, rule, &claim, &address)
                    .await;
                if outcomes.take(sent, now) {
                    info!(incident = %incident_id, "stopped paging: status changed");
                    return Ok(done(index));
                }
            }
        }
        let wake = next_wake(delays, elapsed, step.timeout_secs);
        let planned = StepResult {
            incident_id: incident_id.to_string(),
            step: if wake.next_step { index + 1 } else { index },
            wait_seconds: wake.after_secs,
            done: false,
        };
        outcomes.settle(index, planned, now)
    }

    /// One failed page, retried once its backoff has passed: given up when
    /// it has failed for longer than the retry limit, or when its level,
    /// person or contact method is no longer in the configuration.
    async fn retry(
        &self,
        incident: &Incident,
        config: &OncallConfig,
        policy: &EscalationPolicy,
        page: &FailedPage,
        now: Timestamp,
    ) -> Result<Sent, AppError> {
        let retry_at = page.retry_at(&self.retry);
        if retry_at > now {
            return Ok(Sent::Later(retry_at));
        }
        if self.retry.exhausted(page.first_failed_at, now) {
            let failing_for = now.duration_since(page.first_failed_at);
            let why = format!(
                "{} failed attempts in {} min, the last: {}",
                page.attempts,
                failing_for.as_mins(),
                page.error
            );
            return self.abandon(incident, page, &why).await;
        }
        let Some(step) = policy_step(policy, page.step) else {
            return self
                .abandon(incident, page, "its level is no longer in the policy")
                .await;
        };
        let found = config.person(&page.person).and_then(|person| {
            person
                .rules(incident.urgency)
                .iter()
                .find(|r| r.channel == page.channel && person.contact(r).label == page.contact)
                .map(|rule| (person, rule))
        });
        let Some((person, rule)) = found else {
            return self
                .abandon(
                    incident,
                    page,
                    "that contact method is no longer configured",
                )
                .await;
        };
        let (claim, address) = claim_for(&step, person, rule);
        info!(incident = %incident.id, page = %claim.key(), attempt = page.attempts + 1, "retrying a failed page");
        self.page(incident, &step, &claim, &person.name, &address)
            .await
    }

    /// Gives up a failed page, saying so on the timeline once.
    async fn abandon(
        &self,
        incident: &Incident,
        page: &FailedPage,
        why: &str,
    ) -> Result<Sent, AppError> {
        error!(incident = %incident.id, page = %page.key(), attempts = page.attempts, why, "gave up a failing page");
        let entry = TimelineEntry::new(
            self.clock.now(),
            format!("abandoned#{}", page.key()),
            TimelineEvent::PageGivenUp {
                step: page.step,
                person: page.person.clone(),
                channel: page.channel,
                contact: page.contact.clone(),
                reason: why.to_string(),
            },
        );
        self.paging
            .abandon_page(&incident.id, &page.key(), &entry)
            .await?;
        Ok(Sent::Done)
    }

    /// A self-test incident's step: the built-in policy's one level, whose
    /// one target is the sink. The sink's page goes through the same claim
    /// and record as any page, and is sent to nobody.
    async fn run_sink_step(&self, incident: &Incident, index: u32) -> Result<StepResult, AppError> {
        let policy = self_test::policy();
        let Some(step) = policy_step(&policy, index) else {
            return self.exhausted(&incident.id, &policy, index).await;
        };
        let now = self.clock.now();
        let fired = self
            .fire(incident, &step, now, || Resolution {
                targets: vec![ResolvedTarget {
                    person: self_test::SINK.into(),
                    via: None,
                }],
                warnings: Vec::new(),
            })
            .await?;
        let claim = PageClaim {
            step: step.index,
            person: self_test::SINK.into(),
            channel: Channel::SelfTest,
            contact: "sink".into(),
            ack_numbers: Vec::new(),
        };
        let mut outcomes = Outcomes::new(&self.retry);
        let sent = self
            .page(incident, &step, &claim, "self-test sink", "")
            .await;
        if outcomes.take(sent, now) {
            return Ok(StepResult {
                incident_id: incident.id.clone(),
                step: index,
                wait_seconds: 0,
                done: true,
            });
        }
        let elapsed = u32::try_from(now.duration_since(fired.fired_at).as_secs()).unwrap_or(0);
        let wake = next_wake([0], elapsed, step.timeout_secs);
        let planned = StepResult {
            incident_id: incident.id.clone(),
            step: if wake.next_step { index + 1 } else { index },
            wait_seconds: wake.after_secs,
            done: false,
        };
        outcomes.settle(index, planned, now)
    }

    /// Past the policy's last step: said once on the timeline.
    async fn exhausted(
        &self,
        incident_id: &str,
        policy: &EscalationPolicy,
        index: u32,
    ) -> Result<StepResult, AppError> {
        let steps = total_steps(policy);
        self.incidents
            .append(
                incident_id,
                &TimelineEntry::new(
                    self.clock.now(),
                    "exhausted",
                    TimelineEvent::EscalationExhausted { steps },
                ),
            )
            .await?;
        info!(incident = %incident_id, steps, "escalation exhausted");
        Ok(StepResult {
            incident_id: incident_id.to_string(),
            step: index,
            wait_seconds: 0,
            done: true,
        })
    }

    /// Fires the level of `step` once: resolves its targets now, records
    /// them with any gaps as warnings, and returns what is recorded (the
    /// first run's resolution, on a retry or a later wake-up).
    async fn fire(
        &self,
        incident: &Incident,
        step: &Step<'_>,
        now: Timestamp,
        resolve: impl FnOnce() -> Resolution,
    ) -> Result<LevelRecord, AppError> {
        // Later wake-ups and retries of a step reuse what its first run
        // resolved.
        if let Some(fired) = self.paging.level(&incident.id, step.index).await? {
            return Ok(fired);
        }
        let resolution = resolve();
        let warnings = resolution.warnings;
        let record = LevelRecord {
            step: step.index,
            pass: step.pass,
            level: step.level,
            fired_at: now,
            targets: resolution.targets,
        };
        let mut entries = vec![TimelineEntry::new(
            now,
            format!("level#{:04}", step.index),
            TimelineEvent::LevelFired {
                step: step.index,
                pass: step.pass,
                level: step.level,
                targets: record.targets.iter().map(|t| t.describe()).collect(),
            },
        )];
        for (i, message) in warnings.iter().enumerate() {
            warn!(incident = %incident.id, step = step.index, warning = %message, "escalation gap");
            entries.push(TimelineEntry::new(
                now,
                format!("warn#{:04}#{i}", step.index),
                TimelineEvent::Warning {
                    step: step.index,
                    message: message.clone(),
                },
            ));
        }
        let stored = self
            .paging
            .fire_level(&incident.id, &record, &entries)
            .await?;
        if stored.fired_at == now {
            info!(
                incident = %incident.id,
                step = step.index,
                level = step.level,
                pass = step.pass,
                targets = stored.targets.len(),
                "level fired"
            );
        }
        Ok(stored)
    }

    /// Sends one due notification (`claim`, to `address`), unless it was
    /// already sent.
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        incident: &Incident,
        step: &Step<'_>,
        fired: &LevelRecord,
        person: &Profile,
        rule: &NotificationRule,
        claim: &PageClaim,
        address: &str,
    ) -> Result<Sent, AppError> {
        // Deterministic time for entries a retry must not duplicate.
        let due_at = fired.fired_at + jiff::SignedDuration::from_secs(i64::from(rule.after_secs));
        let unavailable = match rule.channel {
            Channel::Voice if self.calls.is_none() => {
                Some("voice is not configured (the stack has no VoiceFromNumber)")
            }
            Channel::Email if self.email.is_none() => {
                Some("email is not configured (no sender address)")
            }
            _ => None,
        };
        if let Some(why) = unavailable {
            self.incidents
                .append(
                    &incident.id,
                    &TimelineEntry::new(
                        due_at,
                        format!("warn#{}", claim.key()),
                        TimelineEvent::Warning {
                            step: step.index,
                            message: format!(
                                "{} not notified by {}: {why}",
                                person.id, rule.channel
                            ),
                        },
                    ),
                )
                .await?;
            return Ok(Sent::Done);
        }
        self.page(incident, step, claim, &person.name, address)
            .await
    }
}

/// The page a rule of `person` sends at `step`, and the address it goes to.
fn claim_for(step: &Step<'_>, person: &Profile, rule: &NotificationRule) -> (PageClaim, String) {
    let contact = person.contact(rule);
    let mut ack_numbers = person.ack_numbers();
    // A keypress on the call counts as the called number's.
    if rule.channel == Channel::Voice
        && let Ok(number) = Phone::parse(&contact.address)
        && !ack_numbers.contains(&number)
    {
        ack_numbers.push(number);
    }
    let claim = PageClaim {
        step: step.index,
        person: person.id.clone(),
        channel: rule.channel,
        contact: contact.label.clone(),
        ack_numbers,
    };
    (claim, contact.address.clone())
}

/// The people a level of the configuration's policy pages at `now`, with a
/// warning for each who cannot be reached at the incident's urgency.
fn people(
    config: &OncallConfig,
    incident: &Incident,
    step: &Step<'_>,
    now: Timestamp,
) -> Resolution {
    let mut resolution = config.resolve_level(step.spec, now);
    for t in &resolution.targets {
        if let Some(p) = config.person(&t.person)
            && !p.reachable(incident.urgency)
        {
            resolution.warnings.push(format!(
                "{} has no contact method for {} urgency",
                t.person, incident.urgency
            ));
        }
    }
    resolution
}

impl<P: EscalatorPorts> Escalator<'_, P> {
    /// A target of a fired level who is no longer in the configuration:
    /// said once on the timeline (at the level's time, with a fixed key).
    async fn gone(
        &self,
        incident: &Incident,
        fired: &LevelRecord,
        person: &str,
    ) -> Result<(), AppError> {
        warn!(incident = %incident.id, step = fired.step, person = %person, "target no longer configured; not notified");
        self.incidents
            .append(
                &incident.id,
                &TimelineEntry::new(
                    fired.fired_at,
                    format!("gone#{:04}#{person}", fired.step),
                    TimelineEvent::Warning {
                        step: fired.step,
                        message: format!(
                            "{person} is no longer in the configuration: not notified"
                        ),
                    },
                ),
            )
            .await?;
        Ok(())
    }
}

mod generation;
mod outcomes;
mod page;

use outcomes::{Outcomes, Sent};

pub use generation::RUNS_PER_GENERATION;

pub use page::mask_email;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod retry_tests;
