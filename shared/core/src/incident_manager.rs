//! What Klaxon sends to AWS Systems Manager Incident Manager, where an
//! incident can be mirrored for teams that run their response there. Pure:
//! the adapter in `klaxon_incident_manager` and the fake in
//! `testing` send exactly what this module builds.
//!
//! Every request is a function of the incident or of the event alone, so a
//! retry repeats it byte for byte. That matters: Incident Manager answers a
//! repeated client token with the first call's result only when the rest
//! of the request is the same, and refuses it (`ConflictException`) when it
//! differs. So the trigger time is the incident's `opened_at`, never the
//! time of the call, and nothing that changes while the incident is open
//! (its status, its alarm count) goes into a request.
//!
//! Which events are mirrored ([`action`]): the opening starts an incident
//! record, the resolution resolves it, and every other change goes on its
//! timeline as a custom event, except:
//!
//! * `Alarm Out Of Order`: a state change older than one already applied,
//!   which Klaxon recorded and ignored. On a responder's timeline an old
//!   OK would read as a recovery that did not happen.
//! * `Confirmation Sent`: the receipt Klaxon texts to whoever acknowledged.
//!   The acknowledgement itself is mirrored (`Incident Acknowledged`), with
//!   who and how.
//!
//! Self-test incidents never reach this module: they publish no events.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::classify::Severity;
use crate::events::{BusEvent, DetailType, IncidentSummary, bus_event};
use crate::incident::{Incident, TimelineEntry};
use crate::time::parse_instant;

/// The `source` of Klaxon's trigger details. Sources starting with `aws.`
/// are reserved for AWS services; Incident Manager recommends a reverse
/// domain name for others (Klaxon's schemas live under `klaxon.dev`).
pub const TRIGGER_SOURCE: &str = "dev.klaxon";
/// The only timeline event type Klaxon writes (the other one a client may
/// write, `Note`, is for people's notes).
pub const EVENT_TYPE: &str = "Custom Event";
/// Incident Manager's longest title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Incident Manager's longest client token (StartIncident and
/// CreateTimelineEvent alike).
pub const MAX_CLIENT_TOKEN_CHARS: usize = 128;
/// Incident Manager's longest trigger `rawData`.
pub const MAX_RAW_DATA_CHARS: usize = 10_000;
/// Incident Manager's longest trigger ARN.
pub const MAX_TRIGGER_ARN_CHARS: usize = 1_000;
/// Incident Manager's longest timeline `eventData`.
pub const MAX_EVENT_DATA_CHARS: usize = 12_000;

/// Every client token Klaxon sends starts with this.
const TOKEN_PREFIX: &str = "klaxon-";
/// What marks a cut string.
const ELLIPSIS: &str = "...";

/// What to do in Incident Manager for one incident event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorAction {
    /// Start an incident record (`StartIncident`).
    Start,
    /// Resolve the incident record (`UpdateIncidentRecord`, status
    /// `RESOLVED`).
    Resolve,
    /// Add an event to the record's timeline (`CreateTimelineEvent`).
    Timeline {
        /// When the change was recorded in Klaxon.
        event_time: Timestamp,
        /// Always [`EVENT_TYPE`].
        event_type: &'static str,
        /// The Klaxon timeline's one-line summary.
        summary: String,
    },
    /// Nothing: the event is not mirrored, for this reason (see the module
    /// documentation).
    Skip { reason: &'static str },
}

/// What to do in Incident Manager for `event`.
pub fn action(event: &BusEvent) -> MirrorAction {
    match event.detail_type {
        DetailType::IncidentOpened => MirrorAction::Start,
        DetailType::IncidentResolved => MirrorAction::Resolve,
        DetailType::AlarmOutOfOrder => MirrorAction::Skip {
            reason: "an out-of-order alarm state change changed nothing",
        },
        DetailType::ConfirmationSent => MirrorAction::Skip {
            reason: "the acknowledgement it confirms is mirrored itself",
        },
        DetailType::NotificationDelivered | DetailType::NotificationFailed => MirrorAction::Skip {
            reason: "deliveries to other tools, Incident Manager's own among them",
        },
        DetailType::IncidentClassified
        | DetailType::AlarmFired
        | DetailType::AlarmRepeated
        | DetailType::AlarmOk
        | DetailType::AlarmInsufficientData
        | DetailType::IncidentFlapping
        | DetailType::EscalationStarted
        | DetailType::EscalationLevelFired
        | DetailType::PageSent
        | DetailType::PageFailed
        | DetailType::PageGivenUp
        | DetailType::EscalationWarning
        | DetailType::EscalationExhausted
        | DetailType::EscalationFailed
        | DetailType::IncidentAcknowledged
        | DetailType::ReplyKeywordReceived
        | DetailType::CallProgressed
        | DetailType::StatusUpdatePosted => MirrorAction::Timeline {
            event_time: event.time,
            event_type: EVENT_TYPE,
            summary: event.detail.summary.clone(),
        },
    }
}

/// What to do in Incident Manager for a committed timeline entry, or
/// `None` when the entry is not published at all (self-test incidents).
pub fn entry_action(
    incident_id: &str,
    incident: Option<&Incident>,
    entry: &TimelineEntry,
) -> Option<MirrorAction> {
    bus_event(incident_id, incident, entry).map(|e| action(&e))
}

/// Incident Manager's impact for a severity: 1 is critical, 5 is no impact.
pub fn impact(severity: Severity) -> i32 {
    match severity {
        Severity::Sev1 => 1,
        Severity::Sev2 => 2,
        Severity::Sev3 => 3,
        Severity::Sev4 => 4,
    }
}

/// The client token of an incident's `StartIncident`: `klaxon-<incident
/// id>`, or `klaxon-` and the SHA-256 of the id in hex when that would be
/// longer than Incident Manager allows (Klaxon's ids are 15 characters).
pub fn client_token(incident_id: &str) -> String {
    if TOKEN_PREFIX.len() + incident_id.len() <= MAX_CLIENT_TOKEN_CHARS {
        format!("{TOKEN_PREFIX}{incident_id}")
    } else {
        hashed_token(incident_id)
    }
}

/// The client token of an event's `CreateTimelineEvent`: `klaxon-` and the
/// SHA-256 of `detail.event_id` in hex (71 characters). Event ids end with
/// the entry's key, which can be long, and two ids may share a long tail,
/// so the whole id is hashed rather than cut.
pub fn timeline_client_token(event_id: &str) -> String {
    hashed_token(event_id)
}

fn hashed_token(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

/// The record's title: `[SEV1] payments: <title>`, cut to
/// [`MAX_TITLE_CHARS`] characters.
pub fn title(incident: &IncidentSummary) -> String {
    title_of(incident.severity, &incident.service, &incident.title)
}

/// [`title`] from the incident as stored.
pub fn incident_title(incident: &Incident) -> String {
    title_of(incident.severity, &incident.service, &incident.title)
}

fn title_of(severity: Severity, service: &str, title: &str) -> String {
    truncate(&format!("[{severity}] {service}: {title}"), MAX_TITLE_CHARS)
}

/// The alarm's ARN as a trigger ARN, when Incident Manager would accept
/// it: `arn:aws[-cn|-us-gov]:<service>:<region>:<account>:<resource>`, at
/// most [`MAX_TRIGGER_ARN_CHARS`] characters.
pub fn trigger_arn(alarm_arn: &str) -> Option<&str> {
    let mut parts = alarm_arn.splitn(6, ':');
    let ok = parts.next() == Some("arn")
        && matches!(parts.next(), Some("aws" | "aws-cn" | "aws-us-gov"))
        && parts.next().is_some_and(is_name)
        && parts.next().is_some_and(is_name)
        && parts.next().is_some_and(|a| {
            a.is_empty() || (a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        })
        && parts.next().is_some_and(|r| !r.is_empty())
        && alarm_arn.chars().count() <= MAX_TRIGGER_ARN_CHARS;
    ok.then_some(alarm_arn)
}

fn is_name(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A `StartIncident` request, as Klaxon sends it for an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    /// [`client_token`] of the incident's id.
    pub client_token: String,
    /// [`title`].
    pub title: String,
    /// [`impact`] of the incident's severity.
    pub impact: i32,
    /// [`TRIGGER_SOURCE`].
    pub trigger_source: &'static str,
    /// When the incident was detected: Klaxon's `opened_at`.
    pub trigger_time: Timestamp,
    /// The alarm, when its ARN is one Incident Manager accepts.
    pub trigger_arn: Option<String>,
    /// A JSON object naming the Klaxon incident and its alarm.
    pub raw_data: String,
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incident {incident_id}: opened_at {opened_at:?} is not a timestamp")]
pub struct BadOpenedAt {
    /// The Klaxon incident.
    pub incident_id: String,
    /// Its `opened_at`, as given.
    pub opened_at: String,
}

/// The `StartIncident` request for `incident`, triggered by `alarm_arn`.
pub fn start_request(
    incident: &IncidentSummary,
    alarm_arn: &str,
) -> Result<StartRequest, BadOpenedAt> {
    let trigger_time = parse_instant(&incident.opened_at).ok_or_else(|| BadOpenedAt {
        incident_id: incident.id.clone(),
        opened_at: incident.opened_at.clone(),
    })?;
    let raw_data = json_object(
        vec![
            ("klaxon_incident_id", incident.id.clone()),
            ("severity", incident.severity.as_str().to_string()),
            ("service", incident.service.clone()),
            ("policy", incident.policy.clone()),
            ("alarm_name", incident.alarm_name.clone()),
            ("alarm_arn", alarm_arn.to_string()),
            ("account", incident.account.clone()),
            ("region", incident.region.clone()),
            ("alarm_url", incident.alarm_url.clone()),
            ("opened_at", incident.opened_at.clone()),
        ],
        MAX_RAW_DATA_CHARS,
    );
    Ok(StartRequest {
        client_token: client_token(&incident.id),
        title: title(incident),
        impact: impact(incident.severity),
        trigger_source: TRIGGER_SOURCE,
        trigger_time,
        trigger_arn: trigger_arn(alarm_arn).map(str::to_string),
        raw_data,
    })
}

/// A `CreateTimelineEvent` request, as Klaxon sends it for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRequest {
    /// [`timeline_client_token`] of `detail.event_id`.
    pub client_token: String,
    /// When the change was recorded in Klaxon.
    pub event_time: Timestamp,
    /// [`EVENT_TYPE`].
    pub event_type: &'static str,
    /// A JSON object: `summary`, `kind`, `detail_type`, `incident_id` and
    /// `event_id`, cut to [`MAX_EVENT_DATA_CHARS`] characters.
    pub event_data: String,
}

/// The `CreateTimelineEvent` request for `event`.
pub fn timeline_request(event: &BusEvent) -> TimelineRequest {
    let d = &event.detail;
    TimelineRequest {
        client_token: timeline_client_token(&d.event_id),
        event_time: event.time,
        event_type: EVENT_TYPE,
        event_data: json_object(
            vec![
                ("summary", d.summary.clone()),
                ("kind", d.kind.clone()),
                ("detail_type", event.detail_type.as_str().to_string()),
                ("incident_id", d.incident_id.clone()),
                ("event_id", d.event_id.clone()),
            ],
            MAX_EVENT_DATA_CHARS,
        ),
    }
}

/// A JSON object of string fields, in the order given (whatever features
/// `serde_json` is built with, so a retry sends the same bytes), at most
/// `max_chars` characters: while it is longer, the value that takes the
/// most room is cut just enough and ends with `...`.
fn json_object(mut fields: Vec<(&'static str, String)>, max_chars: usize) -> String {
    loop {
        let text = render(&fields);
        let excess = text.chars().count().saturating_sub(max_chars);
        if excess == 0 {
            return text;
        }
        let Some(longest) = fields.iter_mut().max_by_key(|(_, v)| escaped_len(v)) else {
            return text;
        };
        if longest.1.is_empty() {
            // Only the keys are left, and they are short: never reached
            // with Klaxon's fields and limits.
            return text;
        }
        let room = escaped_len(&longest.1).saturating_sub(excess + ELLIPSIS.len());
        longest.1 = match room {
            0 => String::new(),
            room => format!("{}{ELLIPSIS}", take_escaped(&longest.1, room)),
        };
    }
}

/// How many characters `s` takes inside a JSON string.
fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum()
}

fn escaped_char_len(c: char) -> usize {
    let mut buf = [0; 4];
    quoted(c.encode_utf8(&mut buf))
        .chars()
        .count()
        .saturating_sub(2)
}

/// The longest start of `s` that takes at most `room` characters inside a
/// JSON string.
fn take_escaped(s: &str, room: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += escaped_char_len(c);
        if used > room {
            return &s[..i];
        }
    }
    s
}

fn render(fields: &[(&'static str, String)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", quoted(k), quoted(v)))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// `s` cut to at most `max_chars` characters, ending with `...` when cut.
fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        format!(
            "{}{ELLIPSIS}",
            take(s, max_chars.saturating_sub(ELLIPSIS.len()))
        )
    }
}

/// The first `n` characters of `s`.
fn take(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}

#[cfg(test)]
mod tests;
