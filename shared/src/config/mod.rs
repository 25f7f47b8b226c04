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

use crate::core::alarm::AlarmStateChange;
use crate::core::incident::Channel;
use crate::core::policy::{
    EscalationPolicy, Level, Resolution, ResolvedTarget, Target, minutes_or_seconds,
};
use crate::core::routing::{CompiledRouting, Decision, RoutingSpec, Urgency};
use crate::core::schedule::{Schedule, ScheduleSpec};

mod people;

#[cfg(feature = "sources")]
pub mod sources;

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
    pub people: BTreeMap<String, PersonSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, TeamSpec>,
    pub services: BTreeMap<String, ServiceSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schedules: BTreeMap<String, ScheduleSpec>,
    pub escalation_policies: BTreeMap<String, EscalationPolicy>,
    pub routing: RoutingSpec,
}

/// The top-level sections that are collections of named entries (and can be
/// split across files).
pub const COLLECTIONS: &[&str] = &[
    "people",
    "teams",
    "services",
    "schedules",
    "escalation_policies",
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

/// Collects problems with their full paths.
#[derive(Default)]
struct Issues(Vec<ConfigIssue>);

impl Issues {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue::new(path, message));
    }

    /// Adds problems reported relative to `base`.
    fn extend(&mut self, base: &str, relative: Vec<(String, String)>) {
        for (path, message) in relative {
            let path = match (base.is_empty(), path.is_empty()) {
                (_, true) => base.to_string(),
                (true, false) => path,
                (false, false) => format!("{base}.{path}"),
            };
            self.add(path, message);
        }
    }
}

impl RawConfig {
    /// Parses one YAML document, without validating it.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
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
    /// plan allows (see [`crate::core::phone::numbering_plan_problem`]). `klaxon config validate`
    /// adds these to the other problems; numbers that are not E.164 at all
    /// are reported by validation itself.
    #[cfg(feature = "numbering-plan")]
    pub fn numbering_plan_issues(&self) -> Vec<ConfigIssue> {
        use crate::core::phone::{Phone, numbering_plan_problem};
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

    /// Validates an already-parsed configuration.
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let mut issues = Issues::default();
        let mut warnings = Issues::default();

        if raw.version != SCHEMA_VERSION {
            issues.add(
                "version",
                format!(
                    "unsupported version {}; this Klaxon reads version {SCHEMA_VERSION}",
                    raw.version
                ),
            );
        }

        // People.
        if raw.people.is_empty() {
            issues.add("people", "at least one person is required");
        }
        let mut people = BTreeMap::new();
        for (id, spec) in &raw.people {
            match Profile::compile(id, spec) {
                Ok(p) => {
                    people.insert(id.clone(), p);
                }
                Err(found) => issues.extend(&format!("people.{id}"), found),
            }
        }
        for (id, p) in &people {
            for urgency in [Urgency::High, Urgency::Low] {
                if p.rules(urgency).iter().any(|r| r.channel == Channel::Voice) {
                    warnings.add(
                        format!("people.{id}.notification_rules"),
                        "voice calls are not delivered by this version of Klaxon; the other rules still fire",
                    );
                    break;
                }
            }
        }
        let is_person = |id: &str| raw.people.contains_key(id);

        // Teams.
        for (tid, team) in &raw.teams {
            if team.name.trim().is_empty() {
                issues.add(format!("teams.{tid}.name"), "must not be empty");
            }
            for (i, m) in team.members.iter().enumerate() {
                if !is_person(m) {
                    issues.add(
                        format!("teams.{tid}.members[{i}]"),
                        format!("unknown person '{m}'"),
                    );
                }
            }
        }

        // Schedules.
        let mut schedules = BTreeMap::new();
        for (sid, spec) in &raw.schedules {
            match Schedule::compile(spec, &is_person) {
                Ok(s) => {
                    for (hidden, by, name) in s.hidden_layers() {
                        warnings.add(
                            format!("schedules.{sid}.layers[{hidden}]"),
                            format!(
                                "never on call: layers[{by}] ('{name}') comes later, has no restrictions and covers all of this layer's time; restrict, end or remove one of them"
                            ),
                        );
                    }
                    schedules.insert(sid.clone(), s);
                }
                Err(found) => issues.extend(&format!("schedules.{sid}"), found),
            }
        }

        // Escalation policies.
        if raw.escalation_policies.is_empty() {
            issues.add("escalation_policies", "at least one policy is required");
        }
        for (pid, policy) in &raw.escalation_policies {
            check_policy(
                &format!("escalation_policies.{pid}"),
                policy,
                &raw,
                &people,
                &mut issues,
                &mut warnings,
            );
        }

        // Services.
        if raw.services.is_empty() {
            issues.add("services", "at least one service is required");
        }
        for (sid, service) in &raw.services {
            let base = format!("services.{sid}");
            if !raw
                .escalation_policies
                .contains_key(&service.escalation_policy)
            {
                issues.add(
                    format!("{base}.escalation_policy"),
                    format!("unknown escalation policy '{}'", service.escalation_policy),
                );
            }
            if let Some(team) = &service.team
                && !raw.teams.contains_key(team)
            {
                issues.add(format!("{base}.team"), format!("unknown team '{team}'"));
            }
            if service.flapping_window_minutes.is_some()
                && service.flapping_window_seconds.is_some()
            {
                issues.add(
                    base.clone(),
                    "set flapping_window_minutes or flapping_window_seconds, not both",
                );
            } else if service.flapping_window_secs() > MAX_FLAPPING_MINUTES * 60 {
                issues.add(
                    format!("{base}.flapping_window_minutes"),
                    format!("{} s is more than one day", service.flapping_window_secs()),
                );
            }
        }

        // Routing.
        let routing = match CompiledRouting::compile(&raw.routing) {
            Ok(r) => Some(r),
            Err(found) => {
                issues.extend("routing", found);
                None
            }
        };
        let known_service = |path: String, name: &str, issues: &mut Issues| {
            if !raw.services.contains_key(name) {
                issues.add(path, format!("unknown service '{name}'"));
            }
        };
        known_service(
            "routing.default.service".into(),
            &raw.routing.default.service,
            &mut issues,
        );
        for (i, rule) in raw.routing.rules.iter().enumerate() {
            if let Some(service) = &rule.service {
                known_service(format!("routing.rules[{i}].service"), service, &mut issues);
            }
            if let Some(policy) = &rule.policy
                && !raw.escalation_policies.contains_key(policy)
            {
                issues.add(
                    format!("routing.rules[{i}].policy"),
                    format!("unknown escalation policy '{policy}'"),
                );
            }
        }

        match routing {
            Some(routing) if issues.0.is_empty() => Ok(Self {
                raw,
                people,
                schedules,
                routing,
                warnings: warnings.0,
            }),
            _ => Err(ConfigError { issues: issues.0 }),
        }
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

/// Checks one escalation policy: timeouts, targets, reachability.
fn check_policy(
    base: &str,
    policy: &EscalationPolicy,
    raw: &RawConfig,
    people: &BTreeMap<String, Profile>,
    issues: &mut Issues,
    warnings: &mut Issues,
) {
    if policy.levels.is_empty() {
        issues.add(
            format!("{base}.levels"),
            "a policy needs at least one level",
        );
    }
    if policy.repeat > MAX_REPEAT {
        issues.add(
            format!("{base}.repeat"),
            format!("{} is more than the maximum of {MAX_REPEAT}", policy.repeat),
        );
    }
    // Everyone the policy could ever page (schedules: every participant).
    let mut reachable = false;
    let mut interrupts = false;
    // A target person with problems of their own is reported there; the
    // reachability check would only repeat it.
    let mut incomplete = false;
    for (li, level) in policy.levels.iter().enumerate() {
        let lpath = format!("{base}.levels[{li}]");
        match (level.timeout_minutes, level.timeout_seconds) {
            (Some(_), Some(_)) => issues.add(
                lpath.clone(),
                "set timeout_minutes or timeout_seconds, not both",
            ),
            (None, None) => issues.add(
                format!("{lpath}.timeout_minutes"),
                "is required (minutes before the next level)",
            ),
            _ => {
                let secs = level.timeout_secs();
                if secs == 0 || secs > MAX_TIMEOUT_SECONDS {
                    issues.add(
                        lpath.clone(),
                        format!("timeout must be between 1 second and 24 hours, got {secs} s"),
                    );
                }
            }
        }
        if level.targets.is_empty() {
            issues.add(
                format!("{lpath}.targets"),
                "a level needs at least one target",
            );
        }
        let mut seen = BTreeSet::new();
        for (ti, target) in level.targets.iter().enumerate() {
            let tpath = format!("{lpath}.targets[{ti}]");
            if !seen.insert(target) {
                issues.add(
                    tpath.clone(),
                    format!("{target} is listed twice in this level"),
                );
            }
            let ids: Vec<&str> = match target {
                Target::Person(id) => {
                    if !raw.people.contains_key(id) {
                        issues.add(tpath, format!("unknown person '{id}'"));
                        // Whether anyone is reachable is unknown until
                        // the target is fixed: say nothing about it.
                        incomplete = true;
                        continue;
                    }
                    vec![id.as_str()]
                }
                Target::Schedule(sid) => match raw.schedules.get(sid) {
                    None => {
                        issues.add(tpath, format!("unknown schedule '{sid}'"));
                        incomplete = true;
                        continue;
                    }
                    Some(spec) => spec
                        .layers
                        .iter()
                        .flat_map(|l| l.participants.iter())
                        .chain(spec.overrides.iter().map(|o| &o.person))
                        .map(String::as_str)
                        .collect(),
                },
            };
            for id in ids {
                let Some(p) = people.get(id) else {
                    incomplete = true;
                    continue;
                };
                // Voice is not delivered by this version: it does not count.
                reachable |= p
                    .rules(Urgency::High)
                    .iter()
                    .any(|r| r.channel != Channel::Voice);
                interrupts |= p
                    .rules(Urgency::High)
                    .iter()
                    .any(|r| r.channel.interrupts());
                for r in p.rules(Urgency::High) {
                    let timeout = level.timeout_secs();
                    if timeout > 0 && r.after_secs >= timeout {
                        warnings.add(
                            lpath.clone(),
                            format!(
                                "{id}'s {} notification {} s after the level fires never happens here: the level times out after {timeout} s",
                                r.channel, r.after_secs
                            ),
                        );
                    }
                }
            }
        }
    }
    if incomplete {
        return;
    }
    if !policy.levels.is_empty() && !reachable {
        issues.add(
            base,
            "nobody in this policy can be notified: no target person has a usable contact method",
        );
    } else if !policy.levels.is_empty() && !interrupts {
        warnings.add(
            base,
            "nobody in this policy is paged by SMS or voice at high urgency (email only)",
        );
    }
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
mod tests {
    use super::*;

    const GOOD: &str = r#"
version: 1
people:
  alice: {name: Alice, phone: "+819012345678", email: alice@example.com, time_zone: Asia/Tokyo}
  bob: {name: Bob, phone: "+14155550123"}
teams:
  core: {name: Core, members: [alice, bob]}
services:
  general: {escalation_policy: default, team: core}
  db: {escalation_policy: default, urgency: low, auto_resolve: false}
schedules:
  primary:
    time_zone: Asia/Tokyo
    layers:
      - {name: weekly, rotation: weekly, handoff: "09:00", start: 2026-11-02, participants: [alice, bob]}
escalation_policies:
  default:
    repeat: 2
    levels:
      - {targets: [{schedule: primary}], timeout_minutes: 5}
      - {targets: [bob, alice], timeout_seconds: 30}
routing:
  default: {service: general, severity: SEV3}
  rules:
    - {name: db, match: {alarm_name: "rds-*"}, service: db, severity: SEV1}
"#;

    fn issues(yaml: &str) -> Vec<ConfigIssue> {
        OncallConfig::from_yaml(yaml).unwrap_err().issues
    }

    fn paths(yaml: &str) -> Vec<String> {
        issues(yaml).into_iter().map(|i| i.path).collect()
    }

    fn alarm(name: &str) -> AlarmStateChange {
        let event = serde_json::json!({
            "version": "0", "id": "x", "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": "123456789012",
            "time": "2026-11-21T06:00:00Z", "region": "us-east-1",
            "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")],
            "detail": {"alarmName": name, "state": {"value": "ALARM", "reason": "r",
                "timestamp": "2026-11-21T06:00:00.000+0000"},
                "configuration": {"metrics": []}}
        });
        crate::core::alarm::parse_direct_event(&event).unwrap()
    }

    #[test]
    fn loads_a_valid_file_and_routes_with_the_services_defaults() {
        let c = OncallConfig::from_yaml(GOOD).unwrap();
        assert_eq!(c.people.len(), 2);
        let p = c.policy("default").unwrap();
        assert_eq!(p.repeat, 2);
        assert_eq!(p.levels[0].timeout_secs(), 300);
        assert_eq!(p.levels[1].timeout_secs(), 30);
        let d = c.decide(&alarm("rds-cpu"), None);
        assert_eq!(d.classification.service, "db");
        assert_eq!(d.classification.rule.as_deref(), Some("db"));
        assert_eq!(d.urgency, Urgency::Low, "the service's default urgency");
        assert_eq!(d.policy, "default", "the service's policy");
        let d = c.decide(&alarm("api"), None);
        assert_eq!(d.classification.service, "general");
        assert_eq!(d.urgency, Urgency::High);
        assert!(!c.auto_resolves("db"));
        assert!(c.auto_resolves("general"));
        assert_eq!(c.person_by_phone("+14155550123").unwrap().id, "bob");
        assert_eq!(c.default_policy(), c.policy("default"), "general's policy");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn schedule_targets_resolve_at_the_moment_asked() {
        let c = OncallConfig::from_yaml(GOOD).unwrap();
        let level = &c.policy("default").unwrap().levels[0];
        // Weekly from Monday 2026-11-02 09:00 Tokyo: alice, then bob.
        let first: Timestamp = "2026-11-03T00:00:00Z".parse().unwrap();
        let second: Timestamp = "2026-11-10T00:00:00Z".parse().unwrap();
        let r = c.resolve_level(level, first);
        assert_eq!(r.targets[0].describe(), "alice (schedule primary)");
        assert_eq!(c.resolve_level(level, second).targets[0].person, "bob");
        // Before the rotation starts nobody is on call: a warning, no target.
        let before: Timestamp = "2026-10-01T00:00:00Z".parse().unwrap();
        let r = c.resolve_level(level, before);
        assert!(r.targets.is_empty());
        assert_eq!(r.warnings, vec!["schedule 'primary' has nobody on call"]);
    }

    #[test]
    fn a_person_targeted_twice_in_a_level_is_paged_once() {
        let yaml = GOOD.replace(
            "[{schedule: primary}], timeout_minutes: 5",
            "[alice, {schedule: primary}], timeout_minutes: 5",
        );
        let c = OncallConfig::from_yaml(&yaml).unwrap();
        let level = &c.policy("default").unwrap().levels[0];
        let r = c.resolve_level(level, "2026-11-03T00:00:00Z".parse().unwrap());
        assert_eq!(r.targets.len(), 1);
        assert_eq!(r.targets[0].via, None);
    }

    #[test]
    fn reports_unknown_references_with_their_paths() {
        let yaml = GOOD
            .replace("[bob, alice]", "[bob, carol]")
            .replace("{schedule: primary}", "{schedule: secondary}")
            .replace("members: [alice, bob]", "members: [alice, dave]")
            .replace(
                "service: db, severity: SEV1",
                "service: dbs, severity: SEV1, policy: nightly",
            )
            .replace(
                "{escalation_policy: default, team: core}",
                "{escalation_policy: default, team: ops}",
            );
        assert_eq!(
            paths(&yaml),
            vec![
                "teams.core.members[1]",
                "escalation_policies.default.levels[0].targets[0]",
                "escalation_policies.default.levels[1].targets[1]",
                "services.general.team",
                "routing.rules[0].service",
                "routing.rules[0].policy",
            ]
        );
    }

    #[test]
    fn reports_unknown_fields_with_path_and_line() {
        let yaml = GOOD.replace("email: alice@example.com", "emial: alice@example.com");
        let found = issues(&yaml);
        assert_eq!(found[0].path, "people.alice.emial");
        assert!(
            found[0].message.starts_with("unknown field `emial`"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].line, Some(4));
    }

    #[test]
    fn reports_bad_timeouts_repeats_zones_and_numbers() {
        let yaml = GOOD
            .replace(
                "timeout_minutes: 5",
                "timeout_minutes: 5, timeout_seconds: 3",
            )
            .replace("repeat: 2", "repeat: 12")
            .replace("time_zone: Asia/Tokyo}", "time_zone: Asia/Tokio}")
            .replace("+14155550123", "0415 555 0123");
        assert_eq!(
            paths(&yaml),
            vec![
                "people.alice.time_zone",
                "people.bob.phone",
                "escalation_policies.default.repeat",
                "escalation_policies.default.levels[0]",
            ]
        );
    }

    #[test]
    fn schedule_problems_carry_the_schedule_path() {
        let yaml = GOOD
            .replace("participants: [alice, bob]", "participants: []")
            .replace(
                "time_zone: Asia/Tokyo\n    layers",
                "time_zone: Mars/Base\n    layers",
            );
        let found = paths(&yaml);
        assert!(
            found
                .iter()
                .any(|p| p == "schedules.primary.layers[0].participants"),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p == "schedules.primary.time_zone"),
            "{found:?}"
        );
    }

    #[test]
    fn a_policy_only_voice_can_reach_is_rejected() {
        let yaml = r#"
version: 1
people:
  carol:
    name: Carol
    contact_methods: [{type: voice, address: "+14155550199"}]
services:
  s: {escalation_policy: default}
escalation_policies:
  default: {levels: [{targets: [carol], timeout_minutes: 1}]}
routing:
  default: {service: s, severity: SEV2}
"#;
        assert_eq!(paths(yaml), vec!["escalation_policies.default"]);
    }

    #[test]
    fn a_policy_with_unknown_targets_reports_only_the_unknown_targets() {
        let yaml = r#"
version: 1
people:
  carol: {name: Carol, email: carol@example.com, phone: "+14155550199"}
services:
  s: {escalation_policy: default}
escalation_policies:
  default: {levels: [{targets: [ghost, {schedule: nowhere}], timeout_minutes: 1}]}
routing:
  default: {service: s, severity: SEV2}
"#;
        assert_eq!(
            paths(yaml),
            vec![
                "escalation_policies.default.levels[0].targets[0]",
                "escalation_policies.default.levels[0].targets[1]",
            ]
        );
    }

    #[test]
    fn email_only_policies_load_with_a_warning() {
        let yaml = r#"
version: 1
people:
  carol: {name: Carol, email: carol@example.com}
services:
  s: {escalation_policy: default}
escalation_policies:
  default: {levels: [{targets: [carol], timeout_minutes: 1}]}
routing:
  default: {service: s, severity: SEV2}
"#;
        let c = OncallConfig::from_yaml(yaml).unwrap();
        assert_eq!(c.warnings[0].path, "escalation_policies.default");
    }

    #[test]
    fn rules_that_never_fire_within_the_level_are_warned_about() {
        let yaml = GOOD.replace(
            "bob: {name: Bob, phone: \"+14155550123\"}",
            "bob: {name: Bob, phone: \"+14155550123\", notification_rules: {high: [{channel: sms, after_minutes: 1}]}}",
        );
        let c = OncallConfig::from_yaml(&yaml).unwrap();
        assert!(
            c.warnings
                .iter()
                .any(|w| w.path == "escalation_policies.default.levels[1]"
                    && w.message.contains("bob's sms")),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn flapping_windows_take_one_unit_and_at_most_a_day() {
        let c = OncallConfig::from_yaml(&GOOD.replace(
            "{escalation_policy: default, team: core}",
            "{escalation_policy: default, team: core, flapping_window_minutes: 10}",
        ))
        .unwrap();
        assert_eq!(c.service("general").unwrap().flapping_window_secs(), 600);
        assert_eq!(c.service("db").unwrap().flapping_window_secs(), 0);
        let both = GOOD.replace(
            "{escalation_policy: default, team: core}",
            "{escalation_policy: default, flapping_window_minutes: 1, flapping_window_seconds: 5}",
        );
        assert_eq!(paths(&both), vec!["services.general"]);
        let long = GOOD.replace(
            "{escalation_policy: default, team: core}",
            "{escalation_policy: default, flapping_window_minutes: 1441}",
        );
        assert_eq!(
            paths(&long),
            vec!["services.general.flapping_window_minutes"]
        );
    }

    #[test]
    fn reports_yaml_syntax_errors_with_a_line() {
        let found = issues("version: 1\npeople: [\n");
        assert!(found[0].line.is_some(), "{found:?}");
    }
}
