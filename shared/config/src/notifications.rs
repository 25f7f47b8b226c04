//! `notifications`: where Klaxon tells people's tools about incidents
//! (Slack, Microsoft Teams, signed webhooks, stakeholder email lists),
//! each filtered by service or team, by event and by severity; and the
//! Incident Manager mirror of a service. Secrets are named, never held.

use serde::{Deserialize, Serialize};

use super::RawConfig;
use klaxon_core::classify::Severity;
use klaxon_core::events::{DetailType, IncidentSummary};
use klaxon_core::notifications::DestinationKind;
use klaxon_core::secrets::SecretRef;

/// One destination.
///
/// ```yaml
/// notifications:
///   ops-slack:
///     type: slack
///     channel: C0123456789
///     token: ssm:/klaxon/slack-bot-token
///     teams: [platform]
///     min_severity: SEV2
///   partner-hook:
///     type: webhook
///     url: secretsmanager:klaxon/partner-hook-url
///     signing_key: secretsmanager:klaxon/partner-hook-key
///     events: [incident-opened, incident-resolved]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationSpec {
    /// slack, slack_webhook, teams, webhook or email.
    #[serde(rename = "type")]
    pub kind: DestinationKind,
    /// slack: the channel's id (`C0123456789`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// slack: the bot token (`xoxb-...`; scopes chat:write), as a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretRef>,
    /// slack_webhook, teams, webhook: the URL, as a secret (it is one:
    /// whoever has it can post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<SecretRef>,
    /// webhook: the HMAC-SHA256 signing key, as a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SecretRef>,
    /// email: the addresses (a stakeholder list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// Only incidents of these services (with `teams`: of either).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Only incidents of services owned by these teams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// Only these events, by detail-type slug (`incident-opened`,
    /// `status-update-posted`, ...; see schema/events/). Default: chat
    /// rooms get what responders act on, webhooks everything, email lists
    /// status updates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Only incidents at least this severe (SEV2: SEV1 and SEV2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
}

/// A service's Incident Manager mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IncidentManagerSpec {
    /// `arn:aws:ssm-incidents::123456789012:response-plan/payments`.
    pub response_plan_arn: String,
}

impl NotificationSpec {
    /// The events this destination gets.
    pub fn wanted_events(&self) -> Vec<DetailType> {
        if self.events.is_empty() {
            self.kind.default_events().to_vec()
        } else {
            DetailType::ALL
                .into_iter()
                .filter(|d| self.events.iter().any(|e| *e == d.slug()))
                .collect()
        }
    }

    /// The secrets this destination names, with their field.
    pub fn secrets(&self) -> Vec<(&'static str, &SecretRef)> {
        [
            ("token", &self.token),
            ("url", &self.url),
            ("signing_key", &self.signing_key),
        ]
        .into_iter()
        .filter_map(|(field, s)| s.as_ref().map(|s| (field, s)))
        .collect()
    }

    /// Problems with this destination, as (field, message), relative to it.
    pub(super) fn problems(&self, raw: &RawConfig) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut need = |present: bool, field: &str, what: &str| {
            if !present {
                found.push((
                    field.to_string(),
                    format!("a {} destination needs {what}", self.kind),
                ));
            }
        };
        use DestinationKind::*;
        match self.kind {
            Slack => {
                need(self.channel.is_some(), "channel", "the channel's id");
                need(self.token.is_some(), "token", "a bot token secret");
            }
            SlackWebhook | Teams => need(self.url.is_some(), "url", "the webhook URL as a secret"),
            Webhook => {
                need(self.url.is_some(), "url", "the endpoint URL as a secret");
                need(self.signing_key.is_some(), "signing_key", "a signing key secret");
            }
            Email => need(!self.to.is_empty(), "to", "at least one address"),
            IncidentManager => found.push((
                "type".into(),
                "incident_manager is set per service (services.<id>.incident_manager.response_plan_arn), not here".into(),
            )),
        }
        let allowed: &[(&str, bool)] = &[
            ("channel", self.channel.is_some() && self.kind != Slack),
            ("token", self.token.is_some() && self.kind != Slack),
            (
                "url",
                self.url.is_some() && !matches!(self.kind, SlackWebhook | Teams | Webhook),
            ),
            (
                "signing_key",
                self.signing_key.is_some() && self.kind != Webhook,
            ),
            ("to", !self.to.is_empty() && self.kind != Email),
        ];
        for (field, misplaced) in allowed {
            if *misplaced {
                found.push((
                    field.to_string(),
                    format!("not used by a {} destination", self.kind),
                ));
            }
        }
        if let Some(channel) = &self.channel
            && (channel.starts_with('#') || channel.trim().is_empty())
        {
            found.push((
                "channel".into(),
                "the channel's id (C0123456789, from the channel's details), not its name".into(),
            ));
        }
        for (i, to) in self.to.iter().enumerate() {
            if !to.contains('@') || to.chars().any(char::is_whitespace) {
                found.push((
                    format!("to[{i}]"),
                    format!("'{to}' is not an email address"),
                ));
            }
        }
        for (i, s) in self.services.iter().enumerate() {
            if !raw.services.contains_key(s) {
                found.push((format!("services[{i}]"), format!("unknown service '{s}'")));
            }
        }
        for (i, t) in self.teams.iter().enumerate() {
            if !raw.teams.contains_key(t) {
                found.push((format!("teams[{i}]"), format!("unknown team '{t}'")));
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if !DetailType::ALL.iter().any(|d| d.slug() == *e) {
                let known: Vec<String> = DetailType::ALL.iter().map(|d| d.slug()).collect();
                found.push((
                    format!("events[{i}]"),
                    format!("unknown event '{e}'; one of: {}", known.join(", ")),
                ));
            } else if matches!(e.as_str(), "notification-delivered" | "notification-failed") {
                found.push((
                    format!("events[{i}]"),
                    "deliveries' own outcomes are published on the bus but never delivered".into(),
                ));
            }
        }
        found
    }

    /// Whether this destination is told of an event of `detail_type` about
    /// `incident`, whose service belongs to `team`.
    pub fn wants(
        &self,
        incident: &IncidentSummary,
        team: Option<&str>,
        detail_type: DetailType,
    ) -> bool {
        let scoped = !self.services.is_empty() || !self.teams.is_empty();
        let in_scope = !scoped
            || self.services.contains(&incident.service)
            || team.is_some_and(|t| self.teams.iter().any(|x| x == t));
        let severe_enough = self.min_severity.is_none_or(|min| incident.severity <= min);
        in_scope && severe_enough && self.wanted_events().contains(&detail_type)
    }
}

impl IncidentManagerSpec {
    pub(super) fn problem(&self) -> Option<String> {
        let arn = &self.response_plan_arn;
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "ssm-incidents"
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && parts[5]
                .strip_prefix("response-plan/")
                .is_some_and(|n| !n.is_empty());
        (!ok).then(|| {
            format!(
                "'{arn}' is not a response plan ARN (arn:aws:ssm-incidents::123456789012:response-plan/<name>)"
            )
        })
    }
}
