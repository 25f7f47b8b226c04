//! Deliveries to people's tools: what Klaxon sends to Slack, Microsoft
//! Teams, signed webhooks and stakeholder email lists for an incident
//! event, and how each delivery's outcome is recorded. Pure: the delivery
//! function (`klaxon_app::notifier`) reads the configuration, secrets and
//! the incident, and sends what these modules build.
//!
//! Which destination wants which event is decided by the configuration
//! (`notifications` in oncall.yaml); the defaults per destination are here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::events::{BusEvent, DetailType};
use crate::incident::{TimelineEntry, TimelineEvent};

pub mod email;
pub mod slack;
pub mod teams;
pub mod webhook;

/// The kinds of destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// One Slack message per incident through a bot token
    /// (`chat.postMessage`, `chat.update`), later events in its thread.
    Slack,
    /// A Slack incoming webhook: one new message per event.
    SlackWebhook,
    /// A Microsoft Teams workflow webhook: one Adaptive Card per event.
    Teams,
    /// Any HTTPS endpoint: the event as JSON, signed with HMAC-SHA256.
    Webhook,
    /// An email list, through SES (stakeholders).
    Email,
    /// AWS Systems Manager Incident Manager (per service).
    IncidentManager,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::SlackWebhook => "slack_webhook",
            Self::Teams => "teams",
            Self::Webhook => "webhook",
            Self::Email => "email",
            Self::IncidentManager => "incident_manager",
        }
    }

    /// The events a destination gets when its configuration names none.
    /// Chat rooms get what responders act on; a webhook gets everything
    /// (it feeds other systems); an email list gets status updates only
    /// (it is for stakeholders, who do not want every page).
    pub fn default_events(self) -> &'static [DetailType] {
        use DetailType::*;
        match self {
            Self::Slack | Self::SlackWebhook | Self::Teams => &[
                IncidentOpened,
                AlarmRepeated,
                EscalationLevelFired,
                EscalationExhausted,
                EscalationFailed,
                IncidentAcknowledged,
                IncidentResolved,
                StatusUpdatePosted,
            ],
            Self::Webhook | Self::IncidentManager => &DetailType::ALL,
            Self::Email => &[StatusUpdatePosted],
        }
    }
}

impl fmt::Display for DestinationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The once key of a delivery's outcome: one outcome per destination and
/// timeline entry, whichever handler run records it.
pub fn outcome_key(target: &str, event: &str) -> String {
    format!("notify#{target}#{event}")
}

/// The entry an event is about, as outcomes name it: `<time>/<key>`.
pub fn entry_ref(entry: &TimelineEntry) -> String {
    format!("{}/{}", crate::time::iso(entry.at), entry.key)
}

/// Whether an entry is itself the outcome of a delivery: those are
/// published on the bus but never delivered (a delivery about a delivery
/// would never end).
pub fn is_delivery_outcome(event: &TimelineEvent) -> bool {
    matches!(
        event,
        TimelineEvent::NotificationDelivered { .. } | TimelineEvent::NotificationFailed { .. }
    )
}

/// Who is being paged now: the targets of the newest level that fired,
/// or nobody once the incident is acknowledged or resolved.
pub fn paging_now(timeline: &[TimelineEntry]) -> Vec<String> {
    timeline
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            TimelineEvent::LevelFired { targets, .. } => Some(targets.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The Slack message an earlier delivery to `target` posted for the
/// incident (its `ts`), if any: the message later events update and
/// thread under.
pub fn posted_message(timeline: &[TimelineEntry], target: &str) -> Option<String> {
    timeline.iter().find_map(|e| match &e.event {
        TimelineEvent::NotificationDelivered {
            target: t,
            reference: Some(reference),
            ..
        } if t == target => Some(reference.clone()),
        _ => None,
    })
}

/// One line naming an event for people: `Incident Acknowledged: acknowledged by aiko via sms`.
pub fn headline(event: &BusEvent) -> String {
    format!("{}: {}", event.detail_type.as_str(), event.detail.summary)
}

#[cfg(test)]
mod tests;
