//! Two-way SMS replies: `ACK <code>` / `RES <code>` from a paged responder.
//!
//! AWS End User Messaging publishes each inbound SMS to an SNS topic; the
//! function receives the SNS event. A reply acts only when its sender's
//! number was paged for the incident the code names (checked in the same
//! conditional write that changes the status). Senders who are not known
//! responders get no answer and change nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

use super::sns::{SnsError, sns_messages};
use super::{AppError, transition_event};
use klaxon_core::incident::{Actor, Incident, TimelineEntry, TimelineEvent};
use klaxon_core::paging::DEFAULT_LEASE_SECONDS;
use klaxon_core::phone::{Phone, mask};
use klaxon_core::reply::CARRIER_KEYWORDS;
use klaxon_core::reply::{ReplyCommand, parse_reply};
use klaxon_core::sms::{acknowledged_text, already_text, help_text, resolved_text};
use klaxon_ports::{
    Clock, ConfigSource, ConfirmationClaim, Escalations, InboundClaim, InboundMessages, Incidents,
    PhoneCalls, Requirement, SmsSender, Transition, TransitionOutcome,
};

/// The inbound SMS as End User Messaging publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundSms {
    pub origination_number: String,
    #[serde(default)]
    pub destination_number: Option<String>,
    #[serde(default)]
    pub message_keyword: Option<String>,
    pub message_body: String,
    pub inbound_message_id: String,
    #[serde(default)]
    pub previous_published_message_id: Option<String>,
}

/// What a reply did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReplyOutcome {
    Acknowledged {
        incident_id: String,
    },
    Resolved {
        incident_id: String,
    },
    /// Understood but not allowed or not applicable; nothing changed.
    Refused {
        reason: String,
    },
    /// Not understood; nothing changed.
    Unrecognised,
    /// A keyword AWS End User Messaging handles itself (STOP, HELP, ...):
    /// not answered; on the timeline when it names an open incident's code.
    Keyword {
        keyword: String,
        incident_id: Option<String>,
    },
    /// This inbound message was already handled.
    Duplicate,
}

/// The ports a reply needs.
/// The SMS replies handler's ports, one type each: named once by each composition root
/// (the sms-reply function's AWS adapters, [`crate::world::FakePorts`]
/// for the tests), instead of one type parameter per port.
pub trait RepliesPorts {
    type Incidents: Incidents;
    type Inbound: InboundMessages;
    type Sms: SmsSender;
    type Escalations: Escalations;
    type Config: ConfigSource;
    type Calls: PhoneCalls;
}

pub struct Replies<'a, P: RepliesPorts> {
    pub incidents: &'a P::Incidents,
    pub inbound: &'a P::Inbound,
    pub sms: &'a P::Sms,
    pub escalations: &'a P::Escalations,
    /// Calls about an incident a reply closed are ended; `None` when the
    /// stack has no voice.
    pub calls: Option<&'a P::Calls>,
    pub config: &'a P::Config,
    pub clock: &'a dyn Clock,
    /// When the current run must end (the Lambda invocation's deadline):
    /// a confirmation claim is held until then. `None` outside Lambda:
    /// [`DEFAULT_LEASE_SECONDS`].
    pub deadline: Option<jiff::Timestamp>,
}

impl<P: RepliesPorts> Clone for Replies<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: RepliesPorts> Copy for Replies<'_, P> {}

impl<P: RepliesPorts> Replies<'_, P> {
    /// Handles an SNS event carrying inbound SMS. Every record is read
    /// before any acts, so an event with a bad record does nothing.
    pub async fn handle(&self, event: &Value) -> Result<Vec<ReplyOutcome>, AppError> {
        let messages = inbound_messages(event)?;
        let mut outcomes = Vec::with_capacity(messages.len());
        for inbound in &messages {
            outcomes.push(self.handle_sms(inbound).await?);
        }
        Ok(outcomes)
    }

    /// Handles one inbound SMS, at most once per inbound message id. If
    /// handling fails, the claim is given back so a redelivery can act; if
    /// a first run died half-way, a redelivery finishes what it began.
    pub async fn handle_sms(&self, sms: &InboundSms) -> Result<ReplyOutcome, AppError> {
        let sender = mask(&sms.origination_number);
        let Ok(from) = Phone::parse(&sms.origination_number) else {
            warn!(from = %sender, "reply from a number that is not E.164; ignored");
            return Ok(ReplyOutcome::Refused {
                reason: "sender is not an E.164 number".into(),
            });
        };
        match self
            .inbound
            .claim(&sms.inbound_message_id, self.clock.now())
            .await?
        {
            InboundClaim::First => {
                let result = self.act(sms, &from).await;
                if result.is_err() {
                    self.inbound.release(&sms.inbound_message_id).await?;
                }
                result
            }
            InboundClaim::Again { incident_id } => self.again(sms, &from, incident_id).await,
        }
    }

    /// A message delivered before. An ACK or RES the first run applied gets
    /// its side effects finished (the escalation stopped, the confirmation
    /// sent if it was not recorded); one it never applied is acted on now;
    /// anything else is not answered twice.
    async fn again(
        &self,
        sms: &InboundSms,
        from: &Phone,
        incident_id: Option<String>,
    ) -> Result<ReplyOutcome, AppError> {
        let code = match parse_reply(&sms.message_body) {
            ReplyCommand::Acknowledge(code) | ReplyCommand::Resolve(code) => code,
            _ => return Ok(ReplyOutcome::Duplicate),
        };
        let transition = match parse_reply(&sms.message_body) {
            ReplyCommand::Resolve(_) => Transition::Resolve,
            _ => Transition::Acknowledge,
        };
        let incident_id = match incident_id {
            Some(id) => Some(id),
            None => self.incidents.incident_for_code(&code).await?,
        };
        let Some(incident_id) = incident_id else {
            return Ok(ReplyOutcome::Duplicate);
        };
        if !self
            .finish_applied(&incident_id, sms, transition, from)
            .await?
        {
            info!(incident = %incident_id, "redelivered reply was never applied; acting on it");
            return self.act(sms, from).await;
        }
        info!(incident = %incident_id, "inbound message already handled");
        Ok(ReplyOutcome::Duplicate)
    }

    /// If this message's status change is on the incident's timeline,
    /// finishes its side effects and returns `true`.
    async fn finish_applied(
        &self,
        incident_id: &str,
        sms: &InboundSms,
        transition: Transition,
        from: &Phone,
    ) -> Result<bool, AppError> {
        let timeline = self.incidents.timeline(incident_id).await?;
        let reply_key = format!("reply#{}", sms.inbound_message_id);
        if !timeline.iter().any(|e| e.key == reply_key) {
            return Ok(false);
        }
        let confirm_key = confirm_key(sms);
        let confirmed = timeline.iter().any(|e| e.key == confirm_key);
        if let Some(incident) = self.incidents.get(incident_id).await? {
            self.after_change(&incident, transition, from, sms, !confirmed)
                .await?;
        }
        Ok(true)
    }

    async fn act(&self, sms: &InboundSms, from: &Phone) -> Result<ReplyOutcome, AppError> {
        let sender = from.masked();
        let from = from.clone();
        let config = self.config.current().await?;
        let known = config
            .person_by_phone(from.as_str())
            .map(|p| p.name.clone());
        let (transition, code) = match parse_reply(&sms.message_body) {
            ReplyCommand::Acknowledge(code) => (Transition::Acknowledge, code),
            ReplyCommand::Resolve(code) => (Transition::Resolve, code),
            ReplyCommand::Keyword { keyword, code } => {
                return self.keyword(sms, &from, keyword, code, known).await;
            }
            ReplyCommand::Unrecognised => {
                info!(from = %sender, known = known.is_some(), "reply not understood");
                if known.is_some() {
                    self.answer(&from, &help_text("reply not understood."))
                        .await?;
                }
                return Ok(ReplyOutcome::Unrecognised);
            }
        };
        let Some(incident_id) = self.incidents.incident_for_code(&code).await? else {
            info!(from = %sender, "no open incident has this code");
            if known.is_some() {
                self.answer(
                    &from,
                    &help_text(&format!("no open incident has code {}.", code.as_str())),
                )
                .await?;
            }
            return Ok(ReplyOutcome::Refused {
                reason: "no open incident has this code".into(),
            });
        };
        // A redelivery can then finish what this run begins.
        self.inbound
            .attach(&sms.inbound_message_id, &incident_id)
            .await?;
        let actor = Actor::Sms {
            person: known.clone().unwrap_or_else(|| "unknown responder".into()),
            phone: from.as_str().to_string(),
        };
        let entry = TimelineEntry::new(
            self.clock.now(),
            format!("reply#{}", sms.inbound_message_id),
            transition_event(transition, &actor),
        );
        let outcome = self
            .incidents
            .transition(
                &incident_id,
                transition,
                &actor,
                Requirement::Paged(&from),
                &entry,
            )
            .await?;
        match outcome {
            TransitionOutcome::Done(incident) => {
                self.after_change(&incident, transition, &from, sms, true)
                    .await?;
                Ok(match transition {
                    Transition::Acknowledge => ReplyOutcome::Acknowledged { incident_id },
                    Transition::Resolve => ReplyOutcome::Resolved { incident_id },
                })
            }
            TransitionOutcome::NotPaged => {
                warn!(incident = %incident_id, from = %sender, "reply from a number that was not paged for this incident; ignored");
                Ok(ReplyOutcome::Refused {
                    reason: "sender was not paged for this incident".into(),
                })
            }
            // An earlier delivery of this very message applied it.
            TransitionOutcome::Refused(_)
                if self
                    .finish_applied(&incident_id, sms, transition, &from)
                    .await? =>
            {
                Ok(ReplyOutcome::Duplicate)
            }
            TransitionOutcome::Refused(status) => {
                info!(incident = %incident_id, %status, "reply refused by status");
                self.answer(&from, &already_text(&incident_id, status))
                    .await?;
                Ok(ReplyOutcome::Refused {
                    reason: format!("incident is already {status}"),
                })
            }
            TransitionOutcome::NotFound | TransitionOutcome::Stale => Ok(ReplyOutcome::Refused {
                reason: "incident not found".into(),
            }),
        }
    }

    /// STOP, HELP and the like: AWS End User Messaging answers them (and
    /// keeps the opt-out list), so Klaxon does not. When one names the code
    /// of an open incident and comes from a number paged for it, it goes on
    /// that incident's timeline; otherwise it is ignored quietly.
    async fn keyword(
        &self,
        sms: &InboundSms,
        from: &Phone,
        keyword: String,
        code: Option<klaxon_core::incident::AckCode>,
        known: Option<String>,
    ) -> Result<ReplyOutcome, AppError> {
        debug_assert!(CARRIER_KEYWORDS.contains(&keyword.as_str()));
        let incident_id = match &code {
            Some(code) => self.incidents.incident_for_code(code).await?,
            None => None,
        };
        let Some(id) = incident_id else {
            info!(from = %from.masked(), %keyword, "carrier keyword; left to End User Messaging");
            return Ok(ReplyOutcome::Keyword {
                keyword,
                incident_id: None,
            });
        };
        let paged = self
            .incidents
            .get(&id)
            .await?
            .is_some_and(|i| i.paged_numbers.contains(from.as_str()));
        if !paged {
            info!(from = %from.masked(), %keyword, "carrier keyword from a number not paged for the incident it names; ignored");
            return Ok(ReplyOutcome::Keyword {
                keyword,
                incident_id: None,
            });
        }
        let who = match known {
            Some(name) => format!("{name} ({})", from.masked()),
            None => from.masked(),
        };
        self.incidents
            .append(
                &id,
                &TimelineEntry::new(
                    self.clock.now(),
                    format!("keyword#{}", sms.inbound_message_id),
                    TimelineEvent::Keyword {
                        keyword: keyword.clone(),
                        from: who,
                    },
                ),
            )
            .await?;
        warn!(incident = %id, from = %from.masked(), %keyword, "a paged responder replied with a carrier keyword");
        Ok(ReplyOutcome::Keyword {
            keyword,
            incident_id: Some(id),
        })
    }

    /// Stops the escalation (harmless if stopped) and, if `confirm`, sends
    /// the confirmation and records it under a key of this message.
    async fn after_change(
        &self,
        incident: &Incident,
        transition: Transition,
        to: &Phone,
        sms: &InboundSms,
        confirm: bool,
    ) -> Result<(), AppError> {
        if let Some(execution) = &incident.escalation_execution {
            let reason = match transition {
                Transition::Acknowledge => "acknowledged by SMS",
                Transition::Resolve => "resolved by SMS",
            };
            self.escalations.stop(execution, reason).await?;
        }
        if let Some(calls) = self.calls {
            // A phone still ringing about it stops; a failure that can pass
            // fails the reply, whose redelivery tries again.
            match super::calls::end_calls(self.incidents, calls, self.clock, incident, None).await {
                Err(e) if e.retryable() => return Err(e),
                Err(e) => {
                    warn!(incident = %incident.id, error = %e, "calls about it could not be ended")
                }
                Ok(()) => {}
            }
        }
        if !confirm {
            return Ok(());
        }
        let text = match transition {
            Transition::Acknowledge => acknowledged_text(incident),
            Transition::Resolve => resolved_text(incident),
        };
        // One run sends it: a concurrent redelivery meets the claim and
        // comes again later; a run that died after claiming leaves it to
        // the first retry after its lease.
        let now = self.clock.now();
        let lease_until = self
            .deadline
            .unwrap_or(now + jiff::SignedDuration::from_secs(DEFAULT_LEASE_SECONDS));
        if let ConfirmationClaim::InFlight { lease_until } = self
            .inbound
            .claim_confirmation(&sms.inbound_message_id, now, lease_until)
            .await?
        {
            return Err(AppError::InFlight {
                what: format!("the confirmation of {}", sms.inbound_message_id),
                lease_until,
            });
        }
        let message_id = match self.answer(to, &text).await {
            Ok(id) => id,
            Err(e) => {
                if e.retryable() {
                    self.inbound
                        .release_confirmation(&sms.inbound_message_id)
                        .await?;
                }
                return Err(e);
            }
        };
        self.incidents
            .append(
                &incident.id,
                &TimelineEntry::new(
                    self.clock.now(),
                    confirm_key(sms),
                    TimelineEvent::ConfirmationSent {
                        to: to.masked(),
                        message_id,
                    },
                ),
            )
            .await?;
        info!(incident = %incident.id, to = %to.masked(), ?transition, "confirmed by SMS");
        Ok(())
    }

    async fn answer(&self, to: &Phone, text: &str) -> Result<String, AppError> {
        Ok(self.sms.send_sms(to, text).await?)
    }
}

/// Longest inbound message id accepted. End User Messaging's are UUIDs;
/// the id is part of a key in the store, which a longer one may not fit.
pub const MAX_INBOUND_MESSAGE_ID: usize = 256;

/// The inbound SMS of an SNS event, every record read and checked. An
/// error names the record and the field.
pub fn inbound_messages(event: &Value) -> Result<Vec<InboundSms>, AppError> {
    let invalid = |e: SnsError| AppError::InvalidEvent(e.to_string());
    sns_messages(event)
        .map_err(invalid)?
        .map(|record| {
            let record = record.map_err(invalid)?;
            let i = record.index;
            let not_sms = |e: String| {
                AppError::InvalidEvent(format!("SNS record {i}: not an inbound SMS: {e}"))
            };
            let mut de = serde_json::Deserializer::from_str(record.message);
            let inbound: InboundSms =
                serde_path_to_error::deserialize(&mut de).map_err(|e| {
                    match e.path().to_string() {
                        path if path == "." => not_sms(e.into_inner().to_string()),
                        path => not_sms(format!("{path}: {}", e.into_inner())),
                    }
                })?;
            de.end().map_err(|e| not_sms(e.to_string()))?;
            let id = &inbound.inbound_message_id;
            let len = id.chars().count();
            if id.trim().is_empty() {
                return Err(not_sms("inboundMessageId: is blank".into()));
            }
            if len > MAX_INBOUND_MESSAGE_ID {
                return Err(not_sms(format!(
                    "inboundMessageId: is {len} characters; at most {MAX_INBOUND_MESSAGE_ID}"
                )));
            }
            Ok(inbound)
        })
        .collect()
}

/// The timeline key of the confirmation of an inbound message.
fn confirm_key(sms: &InboundSms) -> String {
    format!("confirm#{}", sms.inbound_message_id)
}

#[cfg(test)]
mod tests;
