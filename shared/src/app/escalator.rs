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

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::AppError;
use crate::config::{NotificationRule, OncallConfig, Profile};
use crate::core::escalation::{Step, is_due, next_wake, step as policy_step, total_steps};
use crate::core::incident::{Channel, Incident, TimelineEntry, TimelineEvent};
use crate::core::phone::Phone;
use crate::core::policy::{EscalationPolicy, Resolution, ResolvedTarget};
use crate::core::self_test;
use crate::ports::{
    Clock, ConfigSource, EmailSender, Escalations, Incidents, LevelRecord, PageClaim, Paging,
    PhoneCalls, RateLimits, SmsSender, StepResult,
};

/// A page is sent only with at least this long left of the run's lease.
const SEND_MARGIN_SECONDS: i64 = 1;

/// The message the workflow sends for each step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub incident_id: String,
    pub step: u32,
    pub task_token: String,
}

/// The ports a step needs.
pub struct Escalator<'a, I, G, P, M, E, C, V, R> {
    pub incidents: &'a I,
    pub paging: &'a G,
    pub sms: &'a P,
    /// `None` when no sender address is configured: email rules then leave
    /// a warning on the timeline instead.
    pub email: Option<&'a M>,
    /// `None` when the stack has no voice number: voice rules then leave a
    /// warning on the timeline instead.
    pub calls: Option<&'a V>,
    /// Calls per number ([`VOICE_PER_NUMBER`]).
    pub limits: &'a R,
    pub escalations: &'a E,
    pub config: &'a C,
    pub clock: &'a dyn Clock,
    /// When the current run must end (the Lambda invocation's deadline):
    /// page claims are held until then, so a run that dies between claiming
    /// and sending frees its claims when it could no longer send. `None`
    /// outside Lambda: claims are then held for [`DEFAULT_LEASE_SECONDS`].
    pub deadline: Option<Timestamp>,
}

impl<I, G, P, M, E, C, V, R> Clone for Escalator<'_, I, G, P, M, E, C, V, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, G, P, M, E, C, V, R> Copy for Escalator<'_, I, G, P, M, E, C, V, R> {}

/// What happened to one due notification.
enum Sent {
    Done,
    /// The incident was acknowledged or resolved: stop.
    Stop,
}

impl<I, G, P, M, E, C, V, R> Escalator<'_, I, G, P, M, E, C, V, R>
where
    I: Incidents,
    G: Paging,
    P: SmsSender,
    M: EmailSender,
    E: Escalations,
    C: ConfigSource,
    V: PhoneCalls,
    R: RateLimits,
{
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
        response
    }

    /// Handles one queued step message (the SQS record body).
    pub async fn handle_message(&self, body: &str) -> Result<StepResult, AppError> {
        let request: StepRequest = serde_json::from_str(body)
            .map_err(|e| AppError::InvalidEvent(format!("escalation step message: {e}")))?;
        match self.run_step(&request.incident_id, request.step).await {
            Ok(result) => {
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
        let Some(step) = policy_step(policy, index) else {
            return self.exhausted(incident_id, policy, index).await;
        };

        let now = self.clock.now();
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
                if let Sent::Stop = self.notify(&incident, &step, &fired, person, rule).await? {
                    info!(incident = %incident_id, "stopped paging: status changed");
                    return Ok(done(index));
                }
            }
        }
        let wake = next_wake(delays, elapsed, step.timeout_secs);
        Ok(StepResult {
            incident_id: incident_id.to_string(),
            step: if wake.next_step { index + 1 } else { index },
            wait_seconds: wake.after_secs,
            done: false,
        })
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
        if let Sent::Stop = self
            .page(incident, &step, &claim, "self-test sink", "")
            .await?
        {
            return Ok(StepResult {
                incident_id: incident.id.clone(),
                step: index,
                wait_seconds: 0,
                done: true,
            });
        }
        let elapsed = u32::try_from(now.duration_since(fired.fired_at).as_secs()).unwrap_or(0);
        let wake = next_wake([0], elapsed, step.timeout_secs);
        Ok(StepResult {
            incident_id: incident.id.clone(),
            step: if wake.next_step { index + 1 } else { index },
            wait_seconds: wake.after_secs,
            done: false,
        })
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

    /// Sends one due notification, unless it was already sent.
    async fn notify(
        &self,
        incident: &Incident,
        step: &Step<'_>,
        fired: &LevelRecord,
        person: &Profile,
        rule: &NotificationRule,
    ) -> Result<Sent, AppError> {
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
        self.page(incident, step, &claim, &person.name, &contact.address)
            .await
    }
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

impl<I, G, P, M, E, C, V, R> Escalator<'_, I, G, P, M, E, C, V, R>
where
    I: Incidents,
{
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

mod page;

pub use page::mask_email;

#[cfg(test)]
mod tests;
