//! The on-call configuration: people, escalation policies and routing, read
//! from YAML (`oncall.yaml`), validated, and compiled for fast matching.
//!
//! Errors name the field path (`escalation_policies.default.levels[0].targets[1]`)
//! and, for YAML syntax errors, the line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::classify::Severity;
use crate::core::phone::Phone;
#[cfg(feature = "sources")] pub mod sources;

/// The schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;
/// Most repeats of a policy (PagerDuty allows 9).
pub const MAX_REPEAT: u32 = 9;
/// Longest level timeout: one day.
pub const MAX_TIMEOUT_SECONDS: u32 = 24 * 60 * 60;

/// A person who can be paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// One level of an escalation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// People (by id) paged when this level fires.
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u32>,
    /// Finer-grained alternative to `timeout_minutes`, meant for drills and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
}

impl Level {
    /// The level's timeout in seconds (validated: exactly one unit is set).
    pub fn timeout_secs(&self) -> u32 {
        match (self.timeout_minutes, self.timeout_seconds) {
            (Some(m), _) => m.saturating_mul(60),
            (None, Some(s)) => s,
            (None, None) => 0,
        }
    }
}

/// An escalation policy: levels, walked in order, the whole walk repeated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    pub levels: Vec<Level>,
    /// How many more times the whole policy runs after the first pass.
    #[serde(default)]
    pub repeat: u32,
}

/// What the default route and routing rules decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultRoute {
    pub service: String,
    pub severity: Severity,
    pub policy: String,
}

/// Conditions of a routing rule; all given conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    /// A glob over the alarm name (`*`, `?`, `[abc]`, `[!abc]`), case-sensitive.
    pub alarm_name: String,
}

/// An ordered routing rule; the first that matches wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub name: String,
    #[serde(rename = "match")]
    pub matches: RuleMatch,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub policy: Option<String>,
}

/// What to do with INSUFFICIENT_DATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsufficientData {
    #[default]
    Ignore,
    /// Treat it like ALARM.
    Alarm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    pub default: DefaultRoute,
    #[serde(default)]
    pub rules: Vec<RoutingRule>,
    /// Resolve the open incident when its alarm returns to OK.
    #[serde(default = "yes")]
    pub auto_resolve: bool,
    #[serde(default)]
    pub insufficient_data: InsufficientData,
}

fn yes() -> bool {
    true
}

/// The file as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub version: u32,
    pub people: BTreeMap<String, Person>,
    pub escalation_policies: BTreeMap<String, EscalationPolicy>,
    pub routing: Routing,
}

/// A routing rule with its pattern compiled.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub name: String,
    matcher: glob::Pattern,
    pub service: Option<String>,
    pub severity: Option<Severity>,
    pub policy: Option<String>,
}

/// Routing ready for matching.
#[derive(Debug, Clone)]
pub struct CompiledRouting {
    pub default: DefaultRoute,
    pub rules: Vec<CompiledRule>,
    pub auto_resolve: bool,
    pub insufficient_data: InsufficientData,
}

impl CompiledRouting {
    pub fn first_match(&self, alarm_name: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|r| r.matcher.matches(alarm_name))
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct OncallConfig {
    pub raw: RawConfig,
    pub routing: CompiledRouting,
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    /// Field path, e.g. `people.alice.phone`; empty for the whole file.
    pub path: String,
    /// 1-based line, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.line) {
            (true, Some(l)) => write!(f, "line {l}: {}", self.message),
            (true, None) => write!(f, "{}", self.message),
            (false, Some(l)) => write!(f, "{} (line {l}): {}", self.path, self.message),
            (false, None) => write!(f, "{}: {}", self.path, self.message),
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

impl OncallConfig {
    /// Parses and validates a YAML document.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let de = serde_norway::Deserializer::from_str(text);
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.location().map(|l| l.line());
            ConfigError {
                issues: vec![ConfigIssue {
                    path: if path == "." { String::new() } else { path },
                    line,
                    message: strip_location(&inner.to_string()),
                }],
            }
        })?;
        Self::from_raw(raw)
    }

    /// Validates an already-parsed configuration.
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let mut issues = Vec::new();
        let mut issue = |path: String, message: String| {
            issues.push(ConfigIssue {
                path,
                line: None,
                message,
            })
        };

        if raw.version != SCHEMA_VERSION {
            issue(
                "version".into(),
                format!(
                    "unsupported version {}; this Klaxon reads version {SCHEMA_VERSION}",
                    raw.version
                ),
            );
        }
        if raw.people.is_empty() {
            issue("people".into(), "at least one person is required".into());
        }
        for (id, p) in &raw.people {
            if p.name.trim().is_empty() {
                issue(format!("people.{id}.name"), "must not be empty".into());
            }
            if let Some(phone) = &p.phone
                && let Err(e) = Phone::parse(phone)
            {
                issue(format!("people.{id}.phone"), e);
            }
            if let Some(email) = &p.email {
                let valid = email
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !email.contains(' '));
                if !valid {
                    issue(
                        format!("people.{id}.email"),
                        format!("'{email}' is not an email address"),
                    );
                }
            }
            if p.phone.is_none() && p.email.is_none() {
                issue(
                    format!("people.{id}"),
                    "has no contact method (phone or email)".into(),
                );
            }
        }

        if raw.escalation_policies.is_empty() {
            issue(
                "escalation_policies".into(),
                "at least one policy is required".into(),
            );
        }
        for (pid, policy) in &raw.escalation_policies {
            let base = format!("escalation_policies.{pid}");
            if policy.levels.is_empty() {
                issue(
                    format!("{base}.levels"),
                    "a policy needs at least one level".into(),
                );
            }
            if policy.repeat > MAX_REPEAT {
                issue(
                    format!("{base}.repeat"),
                    format!("{} is more than the maximum of {MAX_REPEAT}", policy.repeat),
                );
            }
            let mut reachable = false;
            for (li, level) in policy.levels.iter().enumerate() {
                let lpath = format!("{base}.levels[{li}]");
                match (level.timeout_minutes, level.timeout_seconds) {
                    (Some(_), Some(_)) => issue(
                        lpath.clone(),
                        "set timeout_minutes or timeout_seconds, not both".into(),
                    ),
                    (None, None) => issue(
                        format!("{lpath}.timeout_minutes"),
                        "is required (minutes before the next level)".into(),
                    ),
                    _ => {
                        let secs = level.timeout_secs();
                        if secs == 0 || secs > MAX_TIMEOUT_SECONDS {
                            issue(
                                lpath.clone(),
                                format!(
                                    "timeout must be between 1 second and 24 hours, got {secs} s"
                                ),
                            );
                        }
                    }
                }
                if level.targets.is_empty() {
                    issue(
                        format!("{lpath}.targets"),
                        "a level needs at least one target".into(),
                    );
                }
                let mut seen = BTreeSet::new();
                for (ti, target) in level.targets.iter().enumerate() {
                    match raw.people.get(target) {
                        None => issue(
                            format!("{lpath}.targets[{ti}]"),
                            format!("unknown person '{target}'"),
                        ),
                        Some(p) => reachable |= p.phone.is_some(),
                    }
                    if !seen.insert(target) {
                        issue(
                            format!("{lpath}.targets[{ti}]"),
                            format!("'{target}' is listed twice in this level"),
                        );
                    }
                }
            }
            if !policy.levels.is_empty() && !reachable {
                issue(
                    base,
                    "no person in this policy has a phone number, so nobody can be paged".into(),
                );
            }
        }

        let check_policy = |path: String, name: &str, issue: &mut dyn FnMut(String, String)| {
            if !raw.escalation_policies.contains_key(name) {
                issue(path, format!("unknown escalation policy '{name}'"));
            }
        };
        check_policy(
            "routing.default.policy".into(),
            &raw.routing.default.policy,
            &mut issue,
        );
        let mut rules = Vec::new();
        let mut names = BTreeSet::new();
        for (i, rule) in raw.routing.rules.iter().enumerate() {
            let rpath = format!("routing.rules[{i}]");
            if rule.name.trim().is_empty() {
                issue(format!("{rpath}.name"), "must not be empty".into());
            } else if !names.insert(rule.name.clone()) {
                issue(
                    format!("{rpath}.name"),
                    format!("duplicate rule name '{}'", rule.name),
                );
            }
            if let Some(p) = &rule.policy {
                check_policy(format!("{rpath}.policy"), p, &mut issue);
            }
            match glob::Pattern::new(&rule.matches.alarm_name) {
                Ok(matcher) => rules.push(CompiledRule {
                    name: rule.name.clone(),
                    matcher,
                    service: rule.service.clone(),
                    severity: rule.severity,
                    policy: rule.policy.clone(),
                }),
                Err(e) => issue(
                    format!("{rpath}.match.alarm_name"),
                    format!("invalid glob at character {}: {}", e.pos, e.msg),
                ),
            }
        }

        if !issues.is_empty() {
            return Err(ConfigError { issues });
        }
        let routing = CompiledRouting {
            default: raw.routing.default.clone(),
            rules,
            auto_resolve: raw.routing.auto_resolve,
            insufficient_data: raw.routing.insufficient_data,
        };
        Ok(Self { raw, routing })
    }

    pub fn person(&self, id: &str) -> Option<&Person> {
        self.raw.people.get(id)
    }

    pub fn policy(&self, id: &str) -> Option<&EscalationPolicy> {
        self.raw.escalation_policies.get(id)
    }

    /// The person whose phone this is, if any.
    pub fn person_by_phone(&self, phone: &str) -> Option<(&str, &Person)> {
        self.raw
            .people
            .iter()
            .find(|(_, p)| p.phone.as_deref() == Some(phone))
            .map(|(id, p)| (id.as_str(), p))
    }
}

/// serde_norway appends " at line X column Y"; the line is reported separately.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
version: 1
people:
  alice: {name: Alice, phone: "+819012345678", email: alice@example.com}
  bob: {name: Bob, phone: "+14155550123"}
escalation_policies:
  default:
    repeat: 2
    levels:
      - {targets: [alice], timeout_minutes: 5}
      - {targets: [bob, alice], timeout_seconds: 30}
routing:
  default: {service: general, severity: SEV3, policy: default}
  rules:
    - {name: db, match: {alarm_name: "rds-*"}, severity: SEV1}
"#;

    #[test]
    fn loads_a_valid_file() {
        let c = OncallConfig::from_yaml(GOOD).unwrap();
        assert_eq!(c.raw.people.len(), 2);
        let p = c.policy("default").unwrap();
        assert_eq!(p.repeat, 2);
        assert_eq!(p.levels[0].timeout_secs(), 300);
        assert_eq!(p.levels[1].timeout_secs(), 30);
        assert!(c.routing.auto_resolve);
        assert_eq!(c.routing.insufficient_data, InsufficientData::Ignore);
        assert_eq!(c.routing.first_match("rds-cpu").unwrap().name, "db");
        assert!(c.routing.first_match("api").is_none());
        assert_eq!(c.person_by_phone("+14155550123").unwrap().0, "bob");
    }

    fn issues(yaml: &str) -> Vec<ConfigIssue> {
        OncallConfig::from_yaml(yaml).unwrap_err().issues
    }

    #[test]
    fn reports_a_bad_phone_with_its_path() {
        let yaml = GOOD.replace("+14155550123", "0415 555 0123");
        let found = issues(&yaml);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "people.bob.phone");
        assert!(found[0].message.contains("E.164"));
    }

    #[test]
    fn reports_unknown_people_and_policies() {
        let yaml = GOOD
            .replace("[bob, alice]", "[bob, carol]")
            .replace("severity: SEV1}", "severity: SEV1, policy: nightly}");
        let found = issues(&yaml);
        let paths: Vec<&str> = found.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "escalation_policies.default.levels[1].targets[1]",
                "routing.rules[0].policy"
            ]
        );
    }

    #[test]
    fn reports_unknown_fields_with_path_and_line() {
        let yaml = GOOD.replace("email: alice@example.com", "emial: alice@example.com");
        let found = issues(&yaml);
        assert_eq!(found[0].path, "people.alice.emial");
        assert!(found[0].message.contains("emial"), "{}", found[0].message);
        assert_eq!(found[0].line, Some(4));
    }

    #[test]
    fn reports_bad_severity_timeouts_and_globs() {
        let yaml = GOOD.replace("severity: SEV3", "severity: SEV9").replace(
            "timeout_minutes: 5",
            "timeout_minutes: 5, timeout_seconds: 3",
        );
        assert_eq!(issues(&yaml)[0].path, "routing.default.severity");
        let yaml = GOOD.replace(
            "timeout_minutes: 5",
            "timeout_minutes: 5, timeout_seconds: 3",
        );
        assert_eq!(
            issues(&yaml)[0].path,
            "escalation_policies.default.levels[0]"
        );
        let yaml = GOOD.replace("rds-*", "rds-[");
        assert_eq!(issues(&yaml)[0].path, "routing.rules[0].match.alarm_name");
    }

    #[test]
    fn rejects_a_policy_nobody_can_be_paged_by() {
        let yaml = r#"
version: 1
people:
  carol: {name: Carol, email: carol@example.com}
escalation_policies:
  default: {levels: [{targets: [carol], timeout_minutes: 1}]}
routing:
  default: {service: s, severity: SEV2, policy: default}
"#;
        let found = issues(yaml);
        assert_eq!(found[0].path, "escalation_policies.default");
    }

    #[test]
    fn reports_yaml_syntax_errors_with_a_line() {
        let found = issues("version: 1\npeople: [\n");
        assert!(found[0].line.is_some(), "{found:?}");
    }
}
