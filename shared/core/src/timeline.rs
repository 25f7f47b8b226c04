//! An incident's timeline: what happened to it, entry by entry, and the
//! channels pages go out on.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::alarm::{AlarmState, AlarmStateChange};
use super::classify::Severity;
use super::routing::Urgency;
use super::time::iso;
use super::voice::CallNote;

/// The channel a page went out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Voice,
    Email,
    /// The self-test's sink: a page recorded for nobody. Not a channel the
    /// configuration can use (validation refuses it).
    SelfTest,
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Channel {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Channel".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ChannelForm::json_schema(generator)
    }
}

/// The channel a page went out on.
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
enum ChannelForm {
    Sms,
    Voice,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
            Self::Email => "email",
            Self::SelfTest => "self_test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sms" => Some(Self::Sms),
            "voice" => Some(Self::Voice),
            "email" => Some(Self::Email),
            _ => None,
        }
    }

    /// SMS and voice interrupt: low urgency never uses them.
    pub fn interrupts(self) -> bool {
        matches!(self, Self::Sms | Self::Voice)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to an incident, in the order it happened.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// The alarm changed state (the opening ALARM, repeats, OK).
    AlarmState {
        state: AlarmState,
        reason: String,
        route: String,
        changed_at: String,
        /// An ALARM folded into the incident it had already opened.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        repeat: bool,
    },
    Classified {
        service: String,
        severity: Severity,
        #[serde(default)]
        urgency: Urgency,
        policy: String,
        decided_by: String,
        severity_from: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        matched: Vec<String>,
    },
    Opened,
    /// The alarm fired again soon after its OK resolved the previous
    /// incident: paging is held for the rest of the service's window.
    Flapping {
        previous: String,
        hold_seconds: u32,
    },
    EscalationStarted {
        execution: String,
    },
    Paged {
        step: u32,
        pass: u32,
        level: u32,
        person: String,
        channel: Channel,
        to: String,
        message_id: String,
    },
    PageFailed {
        step: u32,
        person: String,
        channel: Channel,
        error: String,
    },
    /// A failing page was given up: it failed for longer than the
    /// escalation's retry limit, or what it was for left the configuration.
    /// Nobody was reached by it.
    PageGivenUp {
        step: u32,
        person: String,
        channel: Channel,
        contact: String,
        reason: String,
    },
    /// A level fired: its targets, resolved at that moment (schedules to people).
    LevelFired {
        step: u32,
        pass: u32,
        level: u32,
        /// `aiko` or `aiko (schedule primary)`.
        targets: Vec<String>,
    },
    /// Something that could not be done while escalating (an empty schedule
    /// slot, a person with no usable contact method); the level still fired.
    Warning {
        step: u32,
        message: String,
    },
    EscalationExhausted {
        steps: u32,
    },
    /// The escalation workflow gave up (written by the state machine
    /// itself): `failure` is Step Functions' `{Error, Cause}`.
    EscalationFailed {
        failure: serde_json::Value,
    },
    Acknowledged {
        by: String,
        via: String,
    },
    Resolved {
        by: String,
        via: String,
    },
    ConfirmationSent {
        to: String,
        message_id: String,
    },
    /// An alarm state change older than one already applied (EventBridge
    /// retries, two routes): recorded and ignored.
    OutOfOrder {
        state: AlarmState,
        /// The change's own state time.
        changed_at: String,
        /// What it was older than.
        newer_than: String,
    },
    /// A keyword AWS End User Messaging handles itself (STOP, HELP, ...),
    /// replied by a responder naming this incident's code.
    Keyword {
        keyword: String,
        from: String,
    },
    /// A call's progress (voice pages and their keys): `call` is the
    /// call's transaction id, `person` who was called.
    Call {
        call: String,
        person: String,
        note: CallNote,
    },
    /// An operator told stakeholders where the response stands.
    StatusUpdate {
        status: super::status_update::UpdateStatus,
        message: String,
        by: String,
    },
    /// A configured destination (Slack, Teams, a webhook, an email list,
    /// Incident Manager) was told of a timeline entry, `event`
    /// (`<entry time>/<entry key>`).
    NotificationDelivered {
        /// The destination's id in `notifications` (or `incident-manager`).
        target: String,
        destination: super::notifications::DestinationKind,
        event: String,
        /// The last HTTP status, for HTTP destinations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        attempts: u32,
        /// What the destination calls it: a Slack message's `ts`, an
        /// Incident Manager record's ARN.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// A destination could not be told, after every attempt: the
    /// notification is also in the undelivered-notifications queue.
    NotificationFailed {
        target: String,
        destination: super::notifications::DestinationKind,
        event: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        attempts: u32,
        error: String,
    },
}

impl TimelineEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AlarmState { .. } => "alarm_state",
            Self::Classified { .. } => "classified",
            Self::Opened => "opened",
            Self::Flapping { .. } => "flapping",
            Self::EscalationStarted { .. } => "escalation_started",
            Self::Paged { .. } => "paged",
            Self::PageFailed { .. } => "page_failed",
            Self::PageGivenUp { .. } => "page_given_up",
            Self::LevelFired { .. } => "level_fired",
            Self::Warning { .. } => "warning",
            Self::EscalationExhausted { .. } => "escalation_exhausted",
            Self::EscalationFailed { .. } => "escalation_failed",
            Self::Acknowledged { .. } => "acknowledged",
            Self::Resolved { .. } => "resolved",
            Self::ConfirmationSent { .. } => "confirmation_sent",
            Self::OutOfOrder { .. } => "out_of_order",
            Self::Keyword { .. } => "keyword",
            Self::Call { .. } => "call",
            Self::StatusUpdate { .. } => "status_update",
            Self::NotificationDelivered { .. } => "notification_delivered",
            Self::NotificationFailed { .. } => "notification_failed",
        }
    }

    /// Events that happen at most once per incident, whatever time they
    /// are recorded at, have a key that says so: an alarm state change
    /// (its state and own time), its being out of order, the end of the
    /// policy.
    pub fn once_key(&self) -> Option<String> {
        match self {
            Self::AlarmState {
                state, changed_at, ..
            } => Some(format!("alarm#{state}#{changed_at}")),
            Self::OutOfOrder {
                state, changed_at, ..
            } => Some(format!("out-of-order#{state}#{changed_at}")),
            Self::EscalationExhausted { .. } => Some("exhausted".into()),
            Self::Call { call, note, .. } => note.once_key(call),
            Self::NotificationDelivered { target, event, .. }
            | Self::NotificationFailed { target, event, .. } => {
                Some(super::notifications::outcome_key(target, event))
            }
            _ => None,
        }
    }

    /// One line for people reading the timeline.
    pub fn summary(&self) -> String {
        match self {
            Self::AlarmState {
                state,
                reason,
                route,
                changed_at,
                repeat,
            } => format!(
                "alarm {state}{} via {route} (alarm time {changed_at}): {reason}",
                if *repeat { " again" } else { "" }
            ),
            Self::Classified {
                service,
                severity,
                urgency,
                policy,
                decided_by,
                severity_from,
                matched,
            } => {
                let why = if matched.is_empty() {
                    String::new()
                } else {
                    format!("; matched {}", matched.join(", "))
                };
                format!(
                    "classified {severity} {urgency} urgency service={service} policy={policy} (by {decided_by}{why}; severity from {severity_from})"
                )
            }
            Self::Opened => "incident opened".into(),
            Self::Flapping {
                previous,
                hold_seconds,
            } => format!(
                "flapping: the alarm fired again soon after its OK resolved {previous}; paging held {hold_seconds} s (an OK before then resolves this without a page)"
            ),
            Self::EscalationStarted { execution } => format!("escalation started: {execution}"),
            Self::Paged {
                pass,
                level,
                person,
                channel,
                to,
                message_id,
                ..
            } => format!(
                "paged {person} by {} at {to} (level {level}, pass {pass}), message {message_id}",
                channel.as_str()
            ),
            Self::PageFailed {
                person,
                channel,
                error,
                ..
            } => format!("page to {person} by {} failed: {error}", channel.as_str()),
            Self::PageGivenUp {
                person,
                channel,
                contact,
                reason,
                ..
            } => format!(
                "gave up paging {person} by {} ({contact}): {reason}",
                channel.as_str()
            ),
            Self::LevelFired {
                pass,
                level,
                targets,
                ..
            } => format!(
                "level {level} (pass {pass}) fired: {}",
                if targets.is_empty() {
                    "nobody".to_string()
                } else {
                    targets.join(", ")
                }
            ),
            Self::Warning { message, .. } => format!("warning: {message}"),
            Self::EscalationExhausted { steps } => {
                format!("escalation policy exhausted after {steps} steps with no acknowledgement")
            }
            Self::EscalationFailed { failure } => {
                let field = |name: &str| failure.get(name).and_then(|v| v.as_str()).unwrap_or("");
                format!(
                    "escalation failed, paging stopped: {} {}",
                    field("Error"),
                    field("Cause")
                )
                .trim_end()
                .to_string()
            }
            Self::Acknowledged { by, via } => format!("acknowledged by {by} via {via}"),
            Self::Resolved { by, via } => format!("resolved by {by} via {via}"),
            Self::ConfirmationSent { to, message_id } => {
                format!("confirmation sent to {to}, message {message_id}")
            }
            Self::OutOfOrder {
                state,
                changed_at,
                newer_than,
            } => format!(
                "ignored alarm {state} of {changed_at}: out of order, older than {newer_than}"
            ),
            Self::Keyword { keyword, from } => format!(
                "{from} replied {keyword}: handled by AWS End User Messaging (opt-out list), not by Klaxon"
            ),
            Self::Call { call, person, note } => format!("call to {person}: {note} (call {call})"),
            Self::StatusUpdate {
                status,
                message,
                by,
            } => format!("status update ({status}) by {by}: {message}"),
            Self::NotificationDelivered {
                target,
                destination,
                event,
                status,
                attempts,
                ..
            } => format!(
                "told {target} ({destination}) of {event}{} after {attempts} attempt{}",
                status.map(|s| format!(": HTTP {s}")).unwrap_or_default(),
                if *attempts == 1 { "" } else { "s" }
            ),
            Self::NotificationFailed {
                target,
                destination,
                event,
                attempts,
                error,
                ..
            } => format!(
                "could not tell {target} ({destination}) of {event} after {attempts} attempt{}: {error}",
                if *attempts == 1 { "" } else { "s" }
            ),
        }
    }
}

/// A timeline entry: when, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "super::time::iso_ms")]
    pub at: Timestamp,
    /// Makes the entry unique and, where it matters, idempotent: the same
    /// event recorded twice has the same key.
    pub key: String,
    pub event: TimelineEvent,
}

impl TimelineEntry {
    pub fn new(at: Timestamp, key: impl Into<String>, event: TimelineEvent) -> Self {
        Self {
            at,
            key: key.into(),
            event,
        }
    }

    /// The entry for an alarm state change received at `now`. Its key comes
    /// from the change itself, so a redelivery maps to the same entry; the
    /// alarm's own time stays in the data.
    pub fn alarm(change: &AlarmStateChange, now: Timestamp) -> Self {
        let event = TimelineEvent::AlarmState {
            state: change.state,
            reason: change.reason.clone(),
            route: change.route.as_str().into(),
            changed_at: iso(change.changed_at),
            repeat: false,
        };
        let key = event.once_key().unwrap_or_default();
        Self::new(now, key, event)
    }

    /// The entry for an ALARM folded into the open incident it belongs
    /// to: the same key as [`TimelineEntry::alarm`], so a change recorded
    /// either way is recorded once.
    pub fn repeat_alarm(change: &AlarmStateChange, now: Timestamp) -> Self {
        let mut entry = Self::alarm(change, now);
        if let TimelineEvent::AlarmState { repeat, .. } = &mut entry.event {
            *repeat = true;
        }
        entry
    }

    /// The entry for an alarm state change ignored because it is older than
    /// `newer_than`.
    pub fn out_of_order(change: &AlarmStateChange, newer_than: Timestamp, now: Timestamp) -> Self {
        let event = TimelineEvent::OutOfOrder {
            state: change.state,
            changed_at: iso(change.changed_at),
            newer_than: iso(newer_than),
        };
        let key = event.once_key().unwrap_or_default();
        Self::new(now, key, event)
    }

    /// The key that makes this entry happen once per incident, if any.
    pub fn once_key(&self) -> Option<String> {
        self.event.once_key()
    }
}
