//! Incident events: every committed timeline entry of an incident, as the
//! event Klaxon publishes on its EventBridge bus (`<stack>-events`,
//! source `klaxon`). Pure: the publisher reads entries from the incidents
//! table's stream and the incident from the store, and this module says
//! what goes on the bus.
//!
//! Each kind of change has its own detail-type ([`DetailType`]) and a
//! versioned JSON Schema (`schema/events/<slug>.v1.json`). The event's
//! `detail.event_id` is stable (the incident and the timeline entry), so a
//! consumer can drop the duplicates at-least-once delivery brings.
//!
//! Responders' phone numbers are masked in published events
//! (`+81******5678`): the bus feeds other people's tools.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::alarm::AlarmState;
use crate::classify::Severity;
use crate::incident::{Incident, Status, TimelineEntry, TimelineEvent};
use crate::phone::mask;
use crate::routing::Urgency;
use crate::time::iso;

/// The `source` of every event Klaxon publishes.
pub const SOURCE: &str = "klaxon";
/// The version of the detail's shape; a breaking change gets a new one
/// (and new schema files) while the old stays documented.
pub const SCHEMA_VERSION: &str = "1";

/// One detail-type per kind of change. The alarm's state changes are split
/// by what they mean to a consumer: the ALARM that opened the incident, a
/// repeat folded into it, and the OK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetailType {
    IncidentOpened,
    IncidentClassified,
    AlarmFired,
    AlarmRepeated,
    AlarmOk,
    AlarmInsufficientData,
    AlarmOutOfOrder,
    IncidentFlapping,
    EscalationStarted,
    EscalationLevelFired,
    PageSent,
    PageFailed,
    PageGivenUp,
    EscalationWarning,
    EscalationExhausted,
    EscalationFailed,
    IncidentAcknowledged,
    IncidentResolved,
    ConfirmationSent,
    ReplyKeywordReceived,
    CallProgressed,
    StatusUpdatePosted,
    NotificationDelivered,
    NotificationFailed,
}

impl DetailType {
    pub const ALL: [Self; 24] = [
        Self::IncidentOpened,
        Self::IncidentClassified,
        Self::AlarmFired,
        Self::AlarmRepeated,
        Self::AlarmOk,
        Self::AlarmInsufficientData,
        Self::AlarmOutOfOrder,
        Self::IncidentFlapping,
        Self::EscalationStarted,
        Self::EscalationLevelFired,
        Self::PageSent,
        Self::PageFailed,
        Self::PageGivenUp,
        Self::EscalationWarning,
        Self::EscalationExhausted,
        Self::EscalationFailed,
        Self::IncidentAcknowledged,
        Self::IncidentResolved,
        Self::ConfirmationSent,
        Self::ReplyKeywordReceived,
        Self::CallProgressed,
        Self::StatusUpdatePosted,
        Self::NotificationDelivered,
        Self::NotificationFailed,
    ];

    /// The `detail-type` on the bus.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IncidentOpened => "Incident Opened",
            Self::IncidentClassified => "Incident Classified",
            Self::AlarmFired => "Alarm Fired",
            Self::AlarmRepeated => "Alarm Repeated",
            Self::AlarmOk => "Alarm OK",
            Self::AlarmInsufficientData => "Alarm Insufficient Data",
            Self::AlarmOutOfOrder => "Alarm Out Of Order",
            Self::IncidentFlapping => "Incident Flapping",
            Self::EscalationStarted => "Escalation Started",
            Self::EscalationLevelFired => "Escalation Level Fired",
            Self::PageSent => "Page Sent",
            Self::PageFailed => "Page Failed",
            Self::PageGivenUp => "Page Given Up",
            Self::EscalationWarning => "Escalation Warning",
            Self::EscalationExhausted => "Escalation Exhausted",
            Self::EscalationFailed => "Escalation Failed",
            Self::IncidentAcknowledged => "Incident Acknowledged",
            Self::IncidentResolved => "Incident Resolved",
            Self::ConfirmationSent => "Confirmation Sent",
            Self::ReplyKeywordReceived => "Reply Keyword Received",
            Self::CallProgressed => "Call Progressed",
            Self::StatusUpdatePosted => "Status Update Posted",
            Self::NotificationDelivered => "Notification Delivered",
            Self::NotificationFailed => "Notification Failed",
        }
    }

    /// The detail-type in file names: `incident-opened`.
    pub fn slug(self) -> String {
        self.as_str().to_ascii_lowercase().replace(' ', "-")
    }

    /// The timeline kind (`data.kind`) events of this type carry.
    pub fn kind(self) -> &'static str {
        match self {
            Self::IncidentOpened => "opened",
            Self::IncidentClassified => "classified",
            Self::AlarmFired
            | Self::AlarmRepeated
            | Self::AlarmOk
            | Self::AlarmInsufficientData => "alarm_state",
            Self::AlarmOutOfOrder => "out_of_order",
            Self::IncidentFlapping => "flapping",
            Self::EscalationStarted => "escalation_started",
            Self::EscalationLevelFired => "level_fired",
            Self::PageSent => "paged",
            Self::PageFailed => "page_failed",
            Self::PageGivenUp => "page_given_up",
            Self::EscalationWarning => "warning",
            Self::EscalationExhausted => "escalation_exhausted",
            Self::EscalationFailed => "escalation_failed",
            Self::IncidentAcknowledged => "acknowledged",
            Self::IncidentResolved => "resolved",
            Self::ConfirmationSent => "confirmation_sent",
            Self::ReplyKeywordReceived => "keyword",
            Self::CallProgressed => "call",
            Self::StatusUpdatePosted => "status_update",
            Self::NotificationDelivered => "notification_delivered",
            Self::NotificationFailed => "notification_failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The detail-type of a timeline event.
    pub fn of(event: &TimelineEvent) -> Self {
        match event {
            TimelineEvent::AlarmState { state, repeat, .. } => match state {
                AlarmState::Alarm if *repeat => Self::AlarmRepeated,
                AlarmState::Alarm => Self::AlarmFired,
                AlarmState::Ok => Self::AlarmOk,
                AlarmState::InsufficientData => Self::AlarmInsufficientData,
            },
            TimelineEvent::Classified { .. } => Self::IncidentClassified,
            TimelineEvent::Opened => Self::IncidentOpened,
            TimelineEvent::Flapping { .. } => Self::IncidentFlapping,
            TimelineEvent::EscalationStarted { .. } => Self::EscalationStarted,
            TimelineEvent::Paged { .. } => Self::PageSent,
            TimelineEvent::PageFailed { .. } => Self::PageFailed,
            TimelineEvent::PageGivenUp { .. } => Self::PageGivenUp,
            TimelineEvent::LevelFired { .. } => Self::EscalationLevelFired,
            TimelineEvent::Warning { .. } => Self::EscalationWarning,
            TimelineEvent::EscalationExhausted { .. } => Self::EscalationExhausted,
            TimelineEvent::EscalationFailed { .. } => Self::EscalationFailed,
            TimelineEvent::Acknowledged { .. } => Self::IncidentAcknowledged,
            TimelineEvent::Resolved { .. } => Self::IncidentResolved,
            TimelineEvent::ConfirmationSent { .. } => Self::ConfirmationSent,
            TimelineEvent::OutOfOrder { .. } => Self::AlarmOutOfOrder,
            TimelineEvent::Keyword { .. } => Self::ReplyKeywordReceived,
            TimelineEvent::Call { .. } => Self::CallProgressed,
            TimelineEvent::StatusUpdate { .. } => Self::StatusUpdatePosted,
            TimelineEvent::NotificationDelivered { .. } => Self::NotificationDelivered,
            TimelineEvent::NotificationFailed { .. } => Self::NotificationFailed,
        }
    }
}

/// The incident an event is about, as read when the event was published:
/// its status may already be newer than the change the event reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IncidentSummary {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub urgency: Urgency,
    pub service: String,
    pub policy: String,
    pub alarm_name: String,
    pub alarm_arn: String,
    pub account: String,
    pub region: String,
    /// The alarm in the CloudWatch console.
    pub alarm_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub opened_at: String,
    pub alarm_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
}

impl From<&Incident> for IncidentSummary {
    fn from(i: &Incident) -> Self {
        Self {
            id: i.id.clone(),
            title: i.title.clone(),
            status: i.status,
            severity: i.severity,
            urgency: i.urgency,
            service: i.service.clone(),
            policy: i.policy.clone(),
            alarm_name: i.alarm_name.clone(),
            alarm_arn: i.alarm_arn.clone(),
            account: i.account.clone(),
            region: i.region.clone(),
            alarm_url: alarm_console_url(&i.region, &i.alarm_name),
            description: i.description.clone(),
            opened_at: iso(i.opened_at),
            alarm_count: i.alarm_count,
            acknowledged_at: i.acknowledged_at.map(iso),
            acknowledged_by: i.acknowledged_by.clone(),
            resolved_at: i.resolved_at.map(iso),
            resolved_by: i.resolved_by.clone(),
        }
    }
}

/// The `detail` of a published event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Detail {
    /// [`SCHEMA_VERSION`].
    pub version: String,
    /// Stable across redeliveries: `<incident id>/<entry time>/<entry key>`.
    pub event_id: String,
    pub incident_id: String,
    /// The timeline kind (`data.kind`).
    pub kind: String,
    /// When the change was recorded (UTC, ISO 8601 with milliseconds).
    pub at: String,
    /// The timeline's one-line summary.
    pub summary: String,
    /// The incident as read when published; absent when it no longer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentSummary>,
    /// The change itself, as on the timeline (phone numbers masked).
    pub data: TimelineEvent,
}

/// One event for the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEvent {
    pub detail_type: DetailType,
    pub time: Timestamp,
    pub detail: Detail,
}

impl BusEvent {
    pub fn event_id(&self) -> &str {
        &self.detail.event_id
    }
}

/// The stable id of the event for a timeline entry.
pub fn event_id(incident_id: &str, entry: &TimelineEntry) -> String {
    format!("{incident_id}/{}/{}", iso(entry.at), entry.key)
}

/// The event for a committed timeline entry, or `None` when nothing is
/// published for it: entries of self-test incidents stay inside Klaxon
/// (they run every few minutes and page nobody).
pub fn bus_event(
    incident_id: &str,
    incident: Option<&Incident>,
    entry: &TimelineEntry,
) -> Option<BusEvent> {
    if incident.is_some_and(|i| i.self_test) || crate::self_test::is_self_test_id(incident_id) {
        return None;
    }
    let data = masked(&entry.event);
    Some(BusEvent {
        detail_type: DetailType::of(&entry.event),
        time: entry.at,
        detail: Detail {
            version: SCHEMA_VERSION.into(),
            event_id: event_id(incident_id, entry),
            incident_id: incident_id.into(),
            kind: entry.event.kind().into(),
            at: iso(entry.at),
            summary: data.summary(),
            incident: incident.map(IncidentSummary::from),
            data,
        },
    })
}

/// The event with responders' phone numbers masked (email addresses and
/// people's names stay: they say who was told).
fn masked(event: &TimelineEvent) -> TimelineEvent {
    let phone = |s: &str| {
        if s.starts_with('+') {
            mask(s)
        } else {
            s.to_string()
        }
    };
    let mut event = event.clone();
    match &mut event {
        TimelineEvent::Paged { to, .. } | TimelineEvent::ConfirmationSent { to, .. } => {
            *to = phone(to);
        }
        TimelineEvent::Keyword { from, .. } => *from = phone(from),
        // Acknowledged/resolved `by` is already masked (`Actor::display`).
        _ => {}
    }
    event
}

/// The alarm's page in the CloudWatch console.
pub fn alarm_console_url(region: &str, alarm_name: &str) -> String {
    let region = if region.is_empty() {
        "us-east-1"
    } else {
        region
    };
    let name: String =
        percent_encoding::utf8_percent_encode(alarm_name, percent_encoding::NON_ALPHANUMERIC)
            .collect();
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}"
    )
}

/// The JSON Schema of one detail-type's `detail`, as published in
/// `schema/events/<slug>.v1.json`: the common fields, and `data` narrowed to
/// the timeline event of that type.
#[cfg(feature = "schema")]
pub fn json_schema(detail_type: DetailType) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut schema = schemars::schema_for!(Detail).to_value();
    let variants = schema
        .pointer("/$defs/TimelineEvent/oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut data = variants
        .into_iter()
        .find(|v| v.pointer("/properties/kind/const") == Some(&json!(detail_type.kind())))
        .unwrap_or_else(|| json!({"type": "object"}));
    let narrow = |data: &mut Value, field: &str, value: Value| {
        if let Some(props) = data.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(field.into(), json!({ "const": value }));
        }
    };
    match detail_type {
        DetailType::AlarmFired => {
            narrow(&mut data, "state", json!("ALARM"));
            narrow(&mut data, "repeat", json!(false));
        }
        DetailType::AlarmRepeated => {
            narrow(&mut data, "state", json!("ALARM"));
            narrow(&mut data, "repeat", json!(true));
            if let Some(required) = data.get_mut("required").and_then(Value::as_array_mut) {
                required.push(json!("repeat"));
            }
        }
        DetailType::AlarmOk => narrow(&mut data, "state", json!("OK")),
        DetailType::AlarmInsufficientData => {
            narrow(&mut data, "state", json!("INSUFFICIENT_DATA"));
        }
        _ => {}
    }
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        defs.remove("TimelineEvent");
    }
    if let Some(map) = schema.as_object_mut() {
        map.insert(
            "$id".into(),
            json!(format!(
                "https://klaxon.dev/schema/events/{}.v{SCHEMA_VERSION}.json",
                detail_type.slug()
            )),
        );
        map.insert("title".into(), json!(detail_type.as_str()));
        map.insert(
            "description".into(),
            json!(format!(
                "The detail of a Klaxon event with source \"{SOURCE}\" and detail-type \"{}\" (version {SCHEMA_VERSION}).",
                detail_type.as_str()
            )),
        );
        if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("data".into(), data);
            props.insert(
                "kind".into(),
                json!({ "type": "string", "const": detail_type.kind() }),
            );
            props.insert(
                "version".into(),
                json!({ "type": "string", "const": SCHEMA_VERSION }),
            );
        }
    }
    sorted(schema)
}

/// The same value with every object's keys in order, whatever order
/// `serde_json` keeps them in (its `preserve_order` feature may be on in
/// one build and off in another): the files stay byte-identical.
#[cfg(feature = "schema")]
fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests;
