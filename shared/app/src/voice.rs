//! The SIP media application's handler: every event of a voice page (the
//! call placed, answered, a key, silence, an update, the hang-up) comes
//! here, and the answer is the actions the call performs next.
//!
//! What is said and decided is [`klaxon_core::voice`]; this module reads
//! the event, looks up the incident and the person, performs the status
//! change a key asks for (the same conditional write as an SMS reply: only
//! a number paged for the incident can act), stops the escalation, ends
//! the other calls about it, and keeps the timeline.
//!
//! The call's arguments (who, which incident and step) arrive with
//! `NEW_OUTBOUND_CALL` and are kept in the call's transaction attributes,
//! with the call's state, for every later event.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use super::AppError;
use super::calls::{UPDATE_BY, UPDATE_STATUS, end_calls};
use klaxon_core::incident::{Actor, Status, TimelineEntry, TimelineEvent};
use klaxon_core::phone::{Phone, mask};
use klaxon_core::voice::{
    CallNote, CallOutcome, CallState, Callee, Change, ChangeOutcome, Decision, Input, Line,
    Standing, Subject, after_change, decide,
};
use klaxon_ports::{
    CallArguments, CallPurpose, Clock, ConfigSource, Escalations, Incidents, PhoneCalls,
    Requirement, Transition, TransitionOutcome,
};

/// The transaction attribute holding the call's state.
const STATE: &str = "klaxon_call";
/// How long a prompt waits for a key.
const KEY_WAIT_MS: u64 = 8000;

/// An event of the SIP media application, as AWS sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SmaEvent {
    pub invocation_event_type: String,
    #[serde(default)]
    pub sequence: Option<u64>,
    #[serde(default)]
    pub action_data: Option<ActionData>,
    pub call_details: CallDetails,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionData {
    #[serde(rename = "Type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub received_digits: Option<String>,
    #[serde(default)]
    pub error_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallDetails {
    pub transaction_id: String,
    #[serde(default)]
    pub transaction_attributes: Option<BTreeMap<String, String>>,
    /// AWS's own samples name it `SipApplicationId` as often.
    #[serde(default, alias = "SipApplicationId")]
    pub sip_media_application_id: Option<String>,
    #[serde(default)]
    pub participants: Vec<Participant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Participant {
    pub call_id: String,
    #[serde(default)]
    pub participant_tag: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

impl SmaEvent {
    /// Reads an event; the error names the field.
    pub fn parse(event: &Value) -> Result<Self, AppError> {
        serde_path_to_error::deserialize(event).map_err(|e| {
            AppError::InvalidEvent(format!(
                "SIP media application event: {}: {}",
                e.path(),
                e.inner()
            ))
        })
    }

    /// The called leg (LEG-A of an outbound call).
    fn leg(&self) -> Option<&Participant> {
        let p = &self.call_details.participants;
        p.iter()
            .find(|p| {
                p.participant_tag
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("LEG-A"))
            })
            .or_else(|| p.first())
    }

    /// The SIP response code of a hang-up (a number or a string).
    fn sip_code(&self) -> Option<u16> {
        let code = self
            .action_data
            .as_ref()?
            .parameters
            .as_ref()?
            .get("SipResponseCode")?;
        match code {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// `ActionData.Parameters.Arguments` (NEW_OUTBOUND_CALL, CALL_UPDATE_REQUESTED).
    fn arguments(&self) -> BTreeMap<String, String> {
        self.action_data
            .as_ref()
            .and_then(|a| a.parameters.as_ref())
            .and_then(|p| p.get("Arguments"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn action_type(&self) -> Option<&str> {
        self.action_data.as_ref()?.kind.as_deref()
    }
}

/// The ports a call needs. `calls` makes the phone calls port of the SIP
/// media application an event comes from (its id is in every event; the
/// function cannot be told it in advance, as the application points at
/// the function).
pub struct VoiceCalls<'a, I, E, C, F> {
    pub incidents: &'a I,
    pub escalations: &'a E,
    pub config: &'a C,
    pub calls: F,
    pub clock: &'a dyn Clock,
}

/// The call an event is about.
struct Call<'c> {
    id: &'c str,
    arguments: &'c CallArguments,
    callee: &'c Callee,
}

/// What one event comes to: the actions, and the attributes to keep.
struct Answer {
    lines: Vec<Line>,
    attributes: BTreeMap<String, String>,
}

impl<I, E, C, F, V> VoiceCalls<'_, I, E, C, F>
where
    I: Incidents,
    E: Escalations,
    C: ConfigSource,
    F: Fn(&str) -> V + Send + Sync,
    V: PhoneCalls,
{
    /// Handles one event; returns the SIP media application's response.
    pub async fn handle(&self, event: &Value) -> Result<Value, AppError> {
        let event = SmaEvent::parse(event)?;
        let mut attributes = event
            .call_details
            .transaction_attributes
            .clone()
            .unwrap_or_default();
        if event.invocation_event_type == "NEW_OUTBOUND_CALL" {
            // The call's arguments, kept for every later event.
            attributes.extend(event.arguments());
        }
        let call = event.call_details.transaction_id.clone();
        let Ok(arguments) = CallArguments::from_map(&attributes) else {
            warn!(call = %call, event = %event.invocation_event_type, "a call Klaxon did not place, or lost its arguments; hanging up");
            return Ok(respond(&event, &[Line::HangUp], &attributes, None));
        };
        let state: CallState = attributes
            .get(STATE)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let callee = self.callee(&arguments.person).await?;
        let call = Call {
            id: &call,
            arguments: &arguments,
            callee: &callee,
        };
        let answer = self.answer(&event, &call, state).await?;
        let mut kept = attributes;
        kept.extend(answer.attributes);
        Ok(respond(&event, &answer.lines, &kept, Some(&callee)))
    }

    async fn answer(
        &self,
        event: &SmaEvent,
        call: &Call<'_>,
        state: CallState,
    ) -> Result<Answer, AppError> {
        let kind = event.invocation_event_type.as_str();
        let quiet = |state: CallState| Answer {
            lines: Vec::new(),
            attributes: state_attribute(&state),
        };
        let input = match kind {
            "CALL_ANSWERED" => {
                let standing = self.standing(call.arguments).await?;
                self.note(call, CallNote::Answered).await?;
                return self
                    .decided(event, call, state, Input::Answered(&standing))
                    .await;
            }
            "ACTION_SUCCESSFUL" if event.action_type() == Some("SpeakAndGetDigits") => {
                let digits = event
                    .action_data
                    .as_ref()
                    .and_then(|a| a.received_digits.clone())
                    .unwrap_or_default();
                return self
                    .decided(event, call, state, Input::Digits(&digits))
                    .await;
            }
            "ACTION_FAILED" if event.action_type() == Some("SpeakAndGetDigits") => Input::Silence,
            "ACTION_FAILED" | "INVALID_LAMBDA_RESPONSE" => {
                let error = event
                    .action_data
                    .as_ref()
                    .and_then(|a| a.error_type.clone())
                    .unwrap_or_default();
                warn!(call = %call.id, event = kind, %error, "call action failed; hanging up");
                return Ok(Answer {
                    lines: vec![Line::HangUp],
                    attributes: state_attribute(&state),
                });
            }
            "CALL_UPDATE_REQUESTED" => {
                let args = event.arguments();
                let status = args
                    .get(UPDATE_STATUS)
                    .and_then(|s| Status::parse(s))
                    .unwrap_or(Status::Acknowledged);
                let standing = Standing::Closed {
                    status,
                    by: args.get(UPDATE_BY).cloned(),
                };
                return self
                    .decided(event, call, state, Input::Updated(&standing))
                    .await;
            }
            "HANGUP" => {
                let sip_code = event.sip_code();
                let outcome = CallOutcome::of(&state, sip_code);
                info!(call = %call.id, %outcome, ?sip_code, "call ended");
                self.note(call, CallNote::Ended { outcome, sip_code })
                    .await?;
                return Ok(quiet(state));
            }
            // NEW_OUTBOUND_CALL, RINGING, ACTION_SUCCESSFUL of Speak or
            // Hangup, ACTION_INTERRUPTED: nothing to do.
            _ => return Ok(quiet(state)),
        };
        self.decided(event, call, state, input).await
    }

    /// Decides, performs a key's status change, and notes the key.
    async fn decided(
        &self,
        event: &SmaEvent,
        call: &Call<'_>,
        state: CallState,
        input: Input<'_>,
    ) -> Result<Answer, AppError> {
        let subject = self.subject(call.arguments).await?;
        let callee = call.callee;
        let digits = match input {
            Input::Digits(d) => Some(d.to_string()),
            _ => None,
        };
        let (lines, state) = match decide(&subject, callee, state, input) {
            Decision::Lines(lines, state) => {
                if let Some(key) = &digits {
                    let effect = match state.closing {
                        Some(_) => "test confirmed",
                        None => "options repeated",
                    };
                    self.note_key(call, event, key, effect).await?;
                }
                (lines, state)
            }
            Decision::Change(change, state) => {
                let outcome = self.change(event, call, change).await?;
                let effect = match (&outcome, change) {
                    (ChangeOutcome::Done, Change::Acknowledge) => "acknowledged".to_string(),
                    (ChangeOutcome::Done, Change::Resolve) => "resolved".to_string(),
                    (ChangeOutcome::Already { status, .. }, _) => {
                        format!("refused, already {}", status.as_str().to_ascii_lowercase())
                    }
                    (ChangeOutcome::NotPaged, _) => "refused, number not paged".into(),
                    (ChangeOutcome::NotFound, _) => "refused, incident not found".into(),
                };
                let key = digits.unwrap_or_default();
                self.note_key(call, event, &key, &effect).await?;
                after_change(callee, state, change, &outcome)
            }
        };
        Ok(Answer {
            lines,
            attributes: state_attribute(&state),
        })
    }

    /// A key's status change: the same conditional write as an SMS reply.
    async fn change(
        &self,
        event: &SmaEvent,
        call: &Call<'_>,
        change: Change,
    ) -> Result<ChangeOutcome, AppError> {
        let CallPurpose::Page { incident_id, .. } = &call.arguments.purpose else {
            return Ok(ChangeOutcome::NotFound);
        };
        let Some(to) = event
            .leg()
            .and_then(|l| l.to.as_deref())
            .and_then(|n| Phone::parse(n).ok())
        else {
            warn!(call = %call.id, "the event does not say which number was called; not acting");
            return Ok(ChangeOutcome::NotPaged);
        };
        let actor = Actor::Voice {
            person: call.callee.name.clone(),
            phone: to.as_str().to_string(),
        };
        let transition = match change {
            Change::Acknowledge => Transition::Acknowledge,
            Change::Resolve => Transition::Resolve,
        };
        let entry = TimelineEntry::new(
            self.clock.now(),
            format!("voice#{}", call.id),
            super::transition_event(transition, &actor),
        );
        let outcome = self
            .incidents
            .transition(
                incident_id,
                transition,
                &actor,
                Requirement::Paged(&to),
                &entry,
            )
            .await?;
        Ok(match outcome {
            TransitionOutcome::Done(incident) => {
                info!(incident = %incident_id, to = %to.masked(), ?transition, "changed by a key on a call");
                if let Some(execution) = &incident.escalation_execution {
                    self.escalations.stop(execution, "changed by phone").await?;
                }
                if let Some(sma) = event.call_details.sip_media_application_id.as_deref() {
                    let calls = (self.calls)(sma);
                    // The caller hears the confirmation whatever happens to
                    // the other calls; each says so on the timeline.
                    if let Err(e) =
                        end_calls(self.incidents, &calls, self.clock, &incident, Some(call.id))
                            .await
                    {
                        warn!(incident = %incident_id, error = %e, "other calls could not all be ended");
                    }
                }
                ChangeOutcome::Done
            }
            TransitionOutcome::Refused(status) => {
                // A retried event whose change was applied: say it again.
                let timeline = self.incidents.timeline(incident_id).await?;
                if timeline.iter().any(|e| e.key == entry.key) {
                    ChangeOutcome::Done
                } else {
                    let incident = self.incidents.get(incident_id).await?;
                    let by = incident.and_then(|i| match status {
                        Status::Resolved => i.resolved_by,
                        _ => i.acknowledged_by,
                    });
                    ChangeOutcome::Already { status, by }
                }
            }
            TransitionOutcome::NotPaged => {
                warn!(incident = %incident_id, to = %mask(to.as_str()), "keypress from a number not paged for the incident; ignored");
                ChangeOutcome::NotPaged
            }
            TransitionOutcome::NotFound | TransitionOutcome::Stale => ChangeOutcome::NotFound,
        })
    }

    /// What the call is about: the incident as it is now.
    async fn subject(&self, arguments: &CallArguments) -> Result<Subject, AppError> {
        Ok(match &arguments.purpose {
            CallPurpose::Test => Subject::Test,
            CallPurpose::Page { incident_id, .. } => match self.incidents.get(incident_id).await? {
                Some(i) => Subject::Page {
                    service: i.service,
                    severity: i.severity.as_str().into(),
                    alarm: i.alarm_name,
                },
                None => Subject::Page {
                    service: String::new(),
                    severity: String::new(),
                    alarm: incident_id.clone(),
                },
            },
        })
    }

    /// Whether the incident still waits for someone.
    async fn standing(&self, arguments: &CallArguments) -> Result<Standing, AppError> {
        let CallPurpose::Page { incident_id, .. } = &arguments.purpose else {
            return Ok(Standing::Open);
        };
        Ok(match self.incidents.get(incident_id).await? {
            Some(i) if i.status.pages() => Standing::Open,
            Some(i) => Standing::Closed {
                status: i.status,
                by: match i.status {
                    Status::Resolved => i.resolved_by,
                    _ => i.acknowledged_by,
                },
            },
            None => Standing::Closed {
                status: Status::Resolved,
                by: None,
            },
        })
    }

    async fn callee(&self, person: &str) -> Result<Callee, AppError> {
        let config = self.config.current().await?;
        Ok(match config.person(person) {
            Some(p) => Callee {
                name: p.name.clone(),
                language: p.language,
            },
            // Removed from the configuration since the call was placed.
            None => Callee {
                name: person.to_string(),
                language: Default::default(),
            },
        })
    }

    /// A note on the incident's timeline (test calls have none).
    async fn note(&self, call: &Call<'_>, note: CallNote) -> Result<(), AppError> {
        let CallPurpose::Page { incident_id, .. } = &call.arguments.purpose else {
            return Ok(());
        };
        let key = note
            .once_key(call.id)
            .unwrap_or_else(|| format!("call#{}", call.id));
        let person = call.callee.name.clone();
        self.incidents
            .append(
                incident_id,
                &TimelineEntry::new(
                    self.clock.now(),
                    key,
                    TimelineEvent::Call {
                        call: call.id.to_string(),
                        person,
                        note,
                    },
                ),
            )
            .await?;
        Ok(())
    }

    async fn note_key(
        &self,
        call: &Call<'_>,
        event: &SmaEvent,
        key: &str,
        effect: &str,
    ) -> Result<(), AppError> {
        let CallPurpose::Page { incident_id, .. } = &call.arguments.purpose else {
            return Ok(());
        };
        let person = call.callee.name.clone();
        let key = key.trim_end_matches('#');
        self.incidents
            .append(
                incident_id,
                &TimelineEntry::new(
                    self.clock.now(),
                    format!(
                        "call#{}#key#{}",
                        call.id,
                        event.sequence.unwrap_or_default()
                    ),
                    TimelineEvent::Call {
                        call: call.id.to_string(),
                        person,
                        note: CallNote::Key {
                            key: if key.is_empty() {
                                "nothing".into()
                            } else {
                                key.into()
                            },
                            effect: effect.into(),
                        },
                    },
                ),
            )
            .await?;
        Ok(())
    }
}

fn state_attribute(state: &CallState) -> BTreeMap<String, String> {
    let text = serde_json::to_string(state).unwrap_or_default();
    BTreeMap::from([(STATE.to_string(), text)])
}

/// The response: the lines as actions on the called leg, in the callee's
/// voice, and the attributes to keep.
fn respond(
    event: &SmaEvent,
    lines: &[Line],
    attributes: &BTreeMap<String, String>,
    callee: Option<&Callee>,
) -> Value {
    let call_id = event.leg().map(|l| l.call_id.clone()).unwrap_or_default();
    let language = callee.map(|c| c.language).unwrap_or_default();
    let voice = language.voice();
    let speech = |text: &str| {
        json!({
            "Text": text,
            "Engine": voice.engine,
            "LanguageCode": voice.language_code,
            "TextType": "text",
            "VoiceId": voice.voice_id,
        })
    };
    let sorry = match language {
        klaxon_core::voice::Language::JaJp => "失礼しました。",
        klaxon_core::voice::Language::EnUs => "Sorry.",
    };
    let actions: Vec<Value> = lines
        .iter()
        .map(|line| match line {
            Line::Say(text) => {
                let mut parameters = speech(text);
                parameters["CallId"] = json!(call_id);
                json!({"Type": "Speak", "Parameters": parameters})
            }
            Line::Ask(text) => json!({
                "Type": "SpeakAndGetDigits",
                "Parameters": {
                    "CallId": call_id,
                    "InputDigitsRegex": "^[0-9*#]$",
                    "SpeechParameters": speech(text),
                    "FailureSpeechParameters": speech(sorry),
                    "MinNumberOfDigits": 1,
                    "MaxNumberOfDigits": 1,
                    "TerminatorDigits": ["#"],
                    "InBetweenDigitsDurationInMilliseconds": KEY_WAIT_MS,
                    "Repeat": 1,
                    "RepeatDurationInMilliseconds": KEY_WAIT_MS,
                }
            }),
            Line::HangUp => json!({
                "Type": "Hangup",
                "Parameters": {"CallId": call_id, "SipResponseCode": "0"}
            }),
        })
        .collect();
    json!({
        "SchemaVersion": "1.0",
        "Actions": actions,
        "TransactionAttributes": attributes,
    })
}

#[cfg(test)]
mod tests;
