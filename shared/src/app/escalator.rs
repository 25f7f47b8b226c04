//! One escalation step, run when the workflow asks for it.
//!
//! The workflow sends `{incident_id, step, task_token}`. The step pages every
//! target of its level (each page claimed atomically first, so a retry or a
//! concurrent run never sends it twice, and nothing is sent once the
//! incident is acknowledged or resolved), then reports back how long to wait
//! before the next step, or that the escalation is over.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::AppError;
use crate::core::escalation::{step as policy_step, total_steps};
use crate::core::incident::{Channel, Incident, TimelineEntry, TimelineEvent};
use crate::core::phone::Phone;
use crate::core::sms::page_text;
use crate::ports::{
    ClaimOutcome, ConfigSource, Escalations, IncidentStore, PageClaim, SmsSender, StepResult,
};

/// The message the workflow sends for each step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub incident_id: String,
    pub step: u32,
    pub task_token: String,
}

/// The ports a step needs.
pub struct Escalator<'a, S, P, E, C> {
    pub store: &'a S,
    pub sms: &'a P,
    pub escalations: &'a E,
    pub config: &'a C,
}

impl<S, P, E, C> Escalator<'_, S, P, E, C>
where
    S: IncidentStore,
    P: SmsSender,
    E: Escalations,
    C: ConfigSource,
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
                // The workflow would wait for nothing: fail it visibly.
                self.escalations
                    .fail_step(&request.task_token, "Klaxon.StepFailed", &e.to_string())
                    .await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Pages the targets of step `index` and says what comes next.
    pub async fn run_step(&self, incident_id: &str, index: u32) -> Result<StepResult, AppError> {
        let done = |step| StepResult {
            incident_id: incident_id.to_string(),
            step,
            wait_seconds: 0,
            done: true,
        };
        let Some(incident) = self.store.get(incident_id).await? else {
            return Err(AppError::InvalidEvent(format!(
                "incident {incident_id} does not exist"
            )));
        };
        if !incident.status.pages() {
            info!(incident = %incident_id, status = %incident.status, "escalation ends: incident no longer triggered");
            return Ok(done(index));
        }
        let config = self.config.current().await?;
        let policy = match config.policy(&incident.policy) {
            Some(p) => p,
            None => {
                // The policy was removed since the incident opened: fall back to the default.
                warn!(incident = %incident_id, policy = %incident.policy, "policy no longer configured; using the default route's policy");
                config
                    .policy(&config.routing.default.policy)
                    .ok_or_else(|| {
                        AppError::InvalidEvent("default escalation policy missing".into())
                    })?
            }
        };
        let Some(step) = policy_step(policy, index) else {
            let steps = total_steps(policy);
            self.store
                .append(
                    incident_id,
                    &TimelineEntry::new(
                        Timestamp::now(),
                        "exhausted",
                        TimelineEvent::EscalationExhausted { steps },
                    ),
                )
                .await?;
            info!(incident = %incident_id, steps, "escalation exhausted");
            return Ok(done(index));
        };

        let text = page_text(&incident);
        for person_id in step.targets {
            let Some(person) = config.person(person_id) else {
                self.skip(&incident, index, person_id, "not in the configuration")
                    .await?;
                continue;
            };
            let Some(phone) = person.phone.as_deref().and_then(|p| Phone::parse(p).ok()) else {
                self.skip(&incident, index, &person.name, "no phone number")
                    .await?;
                continue;
            };
            let claim = PageClaim {
                step: index,
                person: person_id.clone(),
                channel: Channel::Sms,
                phone: phone.clone(),
            };
            match self
                .store
                .claim_page(incident_id, &claim, Timestamp::now())
                .await?
            {
                ClaimOutcome::Claimed => {}
                ClaimOutcome::AlreadyClaimed => continue,
                ClaimOutcome::NotPaging(status) => {
                    info!(incident = %incident_id, %status, "stopped paging: status changed");
                    return Ok(done(index));
                }
            }
            let message_id = match self.sms.send_sms(&phone, &text).await {
                Ok(id) => id,
                Err(e) => {
                    warn!(incident = %incident_id, to = %phone.masked(), error = %e, "page failed");
                    self.store
                        .append(
                            incident_id,
                            &TimelineEntry::new(
                                Timestamp::now(),
                                format!("page-failed#{}", claim.key()),
                                TimelineEvent::PageFailed {
                                    step: index,
                                    person: person.name.clone(),
                                    channel: Channel::Sms,
                                    error: e.to_string(),
                                },
                            ),
                        )
                        .await?;
                    return Err(e.into());
                }
            };
            let entry = TimelineEntry::new(
                Timestamp::now(),
                format!("page#{}", claim.key()),
                TimelineEvent::Paged {
                    step: index,
                    pass: step.pass,
                    level: step.level,
                    person: person.name.clone(),
                    channel: Channel::Sms,
                    to: phone.masked(),
                    message_id: message_id.clone(),
                },
            );
            self.store
                .complete_page(incident_id, &claim, &entry)
                .await?;
            info!(
                incident = %incident_id,
                step = index,
                level = step.level,
                pass = step.pass,
                to = %phone.masked(),
                message_id = %message_id,
                "paged"
            );
        }
        Ok(StepResult {
            incident_id: incident_id.to_string(),
            step: index + 1,
            wait_seconds: step.timeout_secs,
            done: false,
        })
    }

    async fn skip(
        &self,
        incident: &Incident,
        step: u32,
        person: &str,
        reason: &str,
    ) -> Result<(), AppError> {
        warn!(incident = %incident.id, step, person, reason, "target skipped");
        self.store
            .append(
                &incident.id,
                &TimelineEntry::new(
                    Timestamp::now(),
                    format!("skip#{step:04}#{person}"),
                    TimelineEvent::PageSkipped {
                        step,
                        person: person.to_string(),
                        reason: reason.to_string(),
                    },
                ),
            )
            .await?;
        Ok(())
    }
}
