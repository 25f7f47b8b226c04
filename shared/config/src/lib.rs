//! The on-call configuration: people, teams, services, schedules, escalation
//! policies and routing, read from YAML (`oncall.yaml`, or a folder of YAML
//! files with the `sources` feature), validated, and compiled for fast use.
//!
//! Every problem names its field path
//! (`escalation_policies.default.levels[0].targets[1]`); the `sources`
//! module adds the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use klaxon_core::alarm::AlarmStateChange;
use klaxon_core::keys::unique;
use klaxon_core::policy::{
    EscalationPolicy, Level, Resolution, ResolvedTarget, Target, minutes_or_seconds,
};
use klaxon_core::routing::{CompiledRouting, Decision, RoutingSpec, Urgency};
use klaxon_core::schedule::{Schedule, ScheduleSpec};

mod notifications;
mod people;
mod validate;

#[cfg(feature = "sources")]
pub mod sources;

pub use notifications::{IncidentManagerSpec, NotificationSpec};
pub use people::{
    Contact, ContactMethodSpec, NotificationRule, NotificationRuleSpec, NotificationRulesSpec,
    PersonSpec, Profile,
};

/// The schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;
/// Most repeats of a policy (PagerDuty allows 9).
pub const MAX_REPEAT: u32 = 9;
/// Longest level timeout: one day.
pub const MAX_TIMEOUT_SECONDS: u32 = 24 * 60 * 60;
/// Longest flapping suppression window: one day.
pub const MAX_FLAPPING_MINUTES: u32 = 24 * 60;

/// An optional grouping of people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// Something that can break: what pages whom, and how alarms on it behave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Display name; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub escalation_policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Resolve the open incident when its alarm returns to OK (default yes).
    #[serde(default = "yes")]
    pub auto_resolve: bool,
    /// Flapping suppression: an ALARM within this many minutes of the OK
    /// that resolved the alarm's last incident opens a new incident (so the
    /// flap is recorded) but holds its paging until the window has passed;
    /// an OK before then resolves it without anyone being paged (0 = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flapping_window_minutes: Option<u32>,
    /// Finer-grained alternative to `flapping_window_minutes`, for drills and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flapping_window_seconds: Option<u32>,
    /// Urgency when the routing decision does not set one (default high).
    #[serde(default)]
    pub urgency: Urgency,
    /// Mirror this service's incidents into AWS Incident Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_manager: Option<IncidentManagerSpec>,
}

fn yes() -> bool {
    true
}

impl ServiceSpec {
    /// The flapping suppression window in seconds (0 = off).
    pub fn flapping_window_secs(&self) -> u32 {
        minutes_or_seconds(self.flapping_window_minutes, self.flapping_window_seconds)
    }
}

/// The file as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Schema version; this build reads 1.
    pub version: u32,
    #[serde(deserialize_with = "unique")]
    pub people: BTreeMap<String, PersonSpec>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique"
    )]
    pub teams: BTreeMap<String, TeamSpec>,
    #[serde(deserialize_with = "unique")]
    pub services: BTreeMap<String, ServiceSpec>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique"
    )]
    pub schedules: BTreeMap<String, ScheduleSpec>,
    #[serde(deserialize_with = "unique")]
    pub escalation_policies: BTreeMap<String, EscalationPolicy>,
    pub routing: RoutingSpec,
    /// Where incidents are told to people's tools (Slack, Teams, webhooks,
    /// stakeholder email), by id.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique"
    )]
    pub notifications: BTreeMap<String, NotificationSpec>,
    /// The public status page (off when absent; the stack must also have
    /// a status page bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_page: Option<StatusPageSpec>,
}

/// The public status page: each listed service's state and the status
/// updates operators posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusPageSpec {
    /// The page's title (`Acme status`).
    pub title: String,
    /// The services shown, in this order (default: every service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

/// The top-level sections that are collections of named entries (and can be
/// split across files).
pub const COLLECTIONS: &[&str] = &[
    "people",
    "teams",
    "services",
    "schedules",
    "escalation_policies",
    "notifications",
];

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct OncallConfig {
    pub raw: RawConfig,
    pub people: BTreeMap<String, Profile>,
    pub schedules: BTreeMap<String, Schedule>,
    pub routing: CompiledRouting,
    /// Problems that do not stop the file from loading (shown by `validate`).
    pub warnings: Vec<ConfigIssue>,
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    /// Field path, e.g. `people.alice.phone`; empty for the whole file.
    pub path: String,
    /// The file, when read from disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            file: None,
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match (&self.file, self.line) {
            (Some(file), Some(l)) => format!("{file}:{l}"),
            (Some(file), None) => file.clone(),
            (None, Some(l)) => format!("line {l}"),
            (None, None) => String::new(),
        };
        match (place.is_empty(), self.path.is_empty()) {
            (true, true) => write!(f, "{}", self.message),
            (true, false) => write!(f, "{}: {}", self.path, self.message),
            (false, true) => write!(f, "{place}: {}", self.message),
            (false, false) => write!(f, "{place}: {}: {}", self.path, self.message),
        }
    }
}

/// Why a configuration was rejected: every problem found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        write!(
            f,
            "{n} problem{} in configuration",
            if n == 1 { "" } else { "s" }
        )?;
        for issue in &self.issues {
            write!(f, "\n  - {issue}")?;
        }
        Ok(())
    }
}

impl RawConfig {
    /// Parses one YAML document, without validating it.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let text = without_bom(text);
        if let Some(issue) = forbidden_character(text) {
            return Err(ConfigError {
                issues: vec![issue],
            });
        }
        let de = serde_norway::Deserializer::from_str(text);
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.location().map(|l| l.line());
            let message = strip_path(&path, &strip_location(&inner.to_string()));
            ConfigError {
                issues: vec![ConfigIssue {
                    path: if path == "." { String::new() } else { path },
                    file: None,
                    line,
                    message,
                }],
            }
        })?;
        Ok(raw)
    }

    /// Phone numbers that are E.164 in form but that no country's numbering
    /// plan allows (see [`klaxon_core::phone::numbering_plan_problem`]). `klaxon config validate`
    /// adds these to the other problems; numbers that are not E.164 at all
    /// are reported by validation itself.
    #[cfg(feature = "numbering-plan")]
    pub fn numbering_plan_issues(&self) -> Vec<ConfigIssue> {
        use klaxon_core::incident::Channel;
        use klaxon_core::phone::{Phone, numbering_plan_problem};
        let mut found = Vec::new();
        for (id, person) in &self.people {
            let phones = person.phone.iter().map(|p| ("phone".to_string(), p)).chain(
                person
                    .contact_methods
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| matches!(m.kind, Channel::Sms | Channel::Voice))
                    .map(|(i, m)| (format!("contact_methods[{i}].address"), &m.address)),
            );
            for (path, raw) in phones {
                if let Ok(phone) = Phone::parse(raw)
                    && let Some(problem) = numbering_plan_problem(&phone)
                {
                    found.push(ConfigIssue::new(format!("people.{id}.{path}"), problem));
                }
            }
        }
        found
    }
}

impl OncallConfig {
    /// Parses and validates one YAML document.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        Self::from_raw(RawConfig::from_yaml(text)?)
    }

    /// A person by id.
    pub fn person(&self, id: &str) -> Option<&Profile> {
        self.people.get(id)
    }

    pub fn policy(&self, id: &str) -> Option<&EscalationPolicy> {
        self.raw.escalation_policies.get(id)
    }

    /// The escalation policy of the routing default's service: the fallback
    /// for an incident whose own policy is no longer configured.
    pub fn default_policy(&self) -> Option<&EscalationPolicy> {
        self.service(&self.raw.routing.default.service)
            .and_then(|s| self.policy(&s.escalation_policy))
    }

    pub fn service(&self, id: &str) -> Option<&ServiceSpec> {
        self.raw.services.get(id)
    }

    pub fn schedule(&self, id: &str) -> Option<&Schedule> {
        self.schedules.get(id)
    }

    /// The person one of whose SMS or voice numbers this is.
    pub fn person_by_phone(&self, phone: &str) -> Option<&Profile> {
        self.people.values().find(|p| p.owns_number(phone))
    }

    /// Routes an alarm: the matched rule (or the default), with the
    /// service's urgency and escalation policy filled in.
    pub fn decide(
        &self,
        alarm: &AlarmStateChange,
        tags: Option<&BTreeMap<String, String>>,
    ) -> Decision {
        let classification = self.routing.classify(alarm, tags);
        let service = self.service(&classification.service);
        let urgency = classification
            .urgency
            .or(service.map(|s| s.urgency))
            .unwrap_or_default();
        let policy = classification
            .policy
            .clone()
            .or(service.map(|s| s.escalation_policy.clone()))
            .unwrap_or_default();
        Decision {
            classification,
            urgency,
            policy,
        }
    }

    /// The destinations told of an event of `detail_type` about
    /// `incident`, by id. Deliveries' own outcomes go to none.
    pub fn destinations_for(
        &self,
        incident: &klaxon_core::events::IncidentSummary,
        detail_type: klaxon_core::events::DetailType,
    ) -> Vec<(&str, &NotificationSpec)> {
        use klaxon_core::events::DetailType as D;
        if matches!(
            detail_type,
            D::NotificationDelivered | D::NotificationFailed
        ) {
            return Vec::new();
        }
        let team = self
            .service(&incident.service)
            .and_then(|s| s.team.as_deref());
        self.raw
            .notifications
            .iter()
            .filter(|(_, spec)| spec.wants(incident, team, detail_type))
            .map(|(id, spec)| (id.as_str(), spec))
            .collect()
    }

    /// The services on the status page, with their display names, in order.
    pub fn status_page_title(&self) -> Option<&str> {
        self.raw.status_page.as_ref().map(|p| p.title.as_str())
    }

    pub fn status_page_services(&self) -> Vec<(String, String)> {
        let Some(page) = &self.raw.status_page else {
            return Vec::new();
        };
        let ids: Vec<&String> = if page.services.is_empty() {
            self.raw.services.keys().collect()
        } else {
            page.services.iter().collect()
        };
        ids.into_iter()
            .filter_map(|id| {
                self.service(id)
                    .map(|s| (id.clone(), s.name.clone().unwrap_or_else(|| id.clone())))
            })
            .collect()
    }

    /// Whether an OK resolves incidents of this service (unknown services: yes).
    pub fn auto_resolves(&self, service: &str) -> bool {
        self.service(service).is_none_or(|s| s.auto_resolve)
    }

    /// The people a level pages at `at`: schedules resolved to whoever is on
    /// call then, each person once.
    pub fn resolve_level(&self, level: &Level, at: Timestamp) -> Resolution {
        let mut out = Resolution::default();
        let mut seen = BTreeSet::new();
        for target in &level.targets {
            match target {
                Target::Person(id) => {
                    if !self.people.contains_key(id) {
                        out.warnings
                            .push(format!("person '{id}' is no longer in the configuration"));
                    } else if seen.insert(id.clone()) {
                        out.targets.push(ResolvedTarget {
                            person: id.clone(),
                            via: None,
                        });
                    }
                }
                Target::Schedule(sid) => match self.schedules.get(sid) {
                    None => out.warnings.push(format!(
                        "schedule '{sid}' is no longer in the configuration"
                    )),
                    Some(schedule) => match schedule.on_call(at).person {
                        Some(person) => {
                            if seen.insert(person.to_string()) {
                                out.targets.push(ResolvedTarget {
                                    person: person.to_string(),
                                    via: Some(sid.clone()),
                                });
                            }
                        }
                        None => out
                            .warnings
                            .push(format!("schedule '{sid}' has nobody on call")),
                    },
                },
            }
        }
        out
    }
}

/// The text without the byte order mark some editors (Notepad) put first,
/// which the YAML reader would take for content.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{FEFF}').unwrap_or(text)
}

/// The first character YAML does not allow in a document, with its line: a
/// control character other than tab, line feed and carriage return (C0,
/// DEL, C1 but NEL), or U+FFFE / U+FFFF. (The YAML reader reports these by
/// offset only.)
fn forbidden_character(text: &str) -> Option<ConfigIssue> {
    let (mut line, mut column) = (1, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        column += 1;
        match c {
            '\n' => (line, column) = (line + 1, 0),
            '\r' if chars.peek() != Some(&'\n') => (line, column) = (line + 1, 0),
            '\t' | '\r' | '\u{85}' => {}
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let code = u32::from(c);
                return Some(ConfigIssue {
                    path: String::new(),
                    file: None,
                    line: Some(line),
                    message: format!(
                        "control character U+{code:04X} (column {column}) is not allowed in YAML; \
                         in a double-quoted string write it as \"\\u{code:04X}\""
                    ),
                });
            }
            _ => {}
        }
    }
    None
}

/// serde_norway starts some messages with the (partial) path, which is
/// reported separately.
fn strip_path(path: &str, msg: &str) -> String {
    match msg.split_once(": ") {
        Some((head, rest)) if !head.is_empty() && path.starts_with(head) => rest.to_string(),
        _ => msg.to_string(),
    }
}

/// serde_norway appends " at line X column Y"; the line is reported separately.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The JSON Schema of the configuration file (published as
/// `schema/oncall.schema.json`, so editors can complete and check it).
#[cfg(feature = "schema")]
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(RawConfig).to_value();
    if let Some(map) = schema.as_object_mut() {
        map.insert(
            "$id".into(),
            "https://klaxon.dev/schema/oncall.schema.json".into(),
        );
        map.insert("title".into(), "Klaxon on-call configuration".into());
    }
    schema
}

#[cfg(test)]
mod tests;
