//! Routing rules: which service, severity, urgency and (optionally) escalation
//! policy an alarm gets.
//!
//! Rules are ordered and the first whose conditions all hold wins, like
//! PagerDuty event rules or Opsgenie routing; the default route applies when
//! none does. A rule sets only what it names and keeps the default route's
//! value for the rest. Finally a `severity:<sev>` or `urgency:<high|low>`
//! token in the alarm description overrides the severity or urgency.
//!
//! [`RoutingSpec`] is the `routing:` section as written;
//! [`CompiledRouting::compile`] validates it, reporting every problem with its
//! path, and compiles the patterns once so that matching allocates nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alarm::AlarmStateChange;
use super::classify::{Severity, description_tokens, normalise_description, token_key_is};

mod canonical;
mod conditions;
mod spec;
#[cfg(test)]
mod tests;

use canonical::{MatchKey, reasons};
use conditions::{Conditions, Subject, compile_conditions};
pub use spec::{
    DefaultRouteSpec, InsufficientData, MatchSpec, RoutingSpec, RuleSpec, StringOrList, Urgency,
};

/// Largest compiled size of a rule's regex, in bytes (regex-lite's estimate).
pub const MAX_REGEX_SIZE: usize = 64 * 1024;

/// The outcome of routing one alarm; stored on the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub service: String,
    pub severity: Severity,
    /// `None`: the service's default urgency applies.
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// Escalation policy override from the matched rule.
    #[serde(default)]
    pub policy: Option<String>,
    /// Name of the matched rule; `None` for the default route.
    #[serde(default)]
    pub rule: Option<String>,
    /// `default`, `rule:<name>` or `description`: what set the severity.
    pub severity_from: String,
    /// Why the rule matched, one entry per condition (`alarm_name ~ rds-*`),
    /// then any description token that overrode severity or urgency.
    #[serde(default)]
    pub matched: Vec<String>,
}

/// The routing decision for an alarm, with the service's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    #[serde(flatten)]
    pub classification: Classification,
    pub urgency: Urgency,
    /// The escalation policy: the rule's override, else the service's.
    pub policy: String,
}
/// A validated rule, ready for matching.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    spec: RuleSpec,
    conditions: Conditions,
    reasons: Vec<String>,
}

impl CompiledRule {
    /// The rule as written.
    pub fn spec(&self) -> &RuleSpec {
        &self.spec
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether the rule has a `tags` condition.
    pub fn uses_tags(&self) -> bool {
        !self.conditions.tags.is_empty()
    }

    /// Whether this rule alone matches the alarm (ignoring rules before it).
    pub fn matches(
        &self,
        alarm: &AlarmStateChange,
        tags: Option<&BTreeMap<String, String>>,
    ) -> bool {
        let description = alarm.description.as_deref().map(normalise_description);
        let subject = Subject::new(alarm, description.as_deref());
        self.conditions.matches(&subject, tags)
    }
}

/// Validated routing: rules with their patterns compiled once.
#[derive(Debug, Clone)]
pub struct CompiledRouting {
    default: DefaultRouteSpec,
    insufficient_data: InsufficientData,
    rules: Vec<CompiledRule>,
    needs_tags: bool,
}

impl CompiledRouting {
    /// Validates and compiles the `routing:` section. On failure returns every
    /// problem as `(path, message)`, paths relative to `routing`
    /// (`rules[2].match.alarm_name_regex`).
    pub fn compile(spec: &RoutingSpec) -> Result<CompiledRouting, Vec<(String, String)>> {
        let mut issues: Vec<(String, String)> = Vec::new();
        if spec.default.service.trim().is_empty() {
            issues.push(("default.service".into(), "must not be empty".into()));
        }
        let mut rules = Vec::with_capacity(spec.rules.len());
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut earlier: Vec<(MatchKey<'_>, usize)> = Vec::new();
        let mut catch_all: Option<usize> = None;
        for (i, rule) in spec.rules.iter().enumerate() {
            let path = format!("rules[{i}]");
            if rule.name.trim().is_empty() {
                issues.push((format!("{path}.name"), "must not be empty".into()));
            } else if let Some(first) = names.get(rule.name.as_str()) {
                issues.push((
                    format!("{path}.name"),
                    format!("duplicate rule name '{}' (also rules[{first}])", rule.name),
                ));
            } else {
                names.insert(&rule.name, i);
            }
            for (field, value) in [("service", &rule.service), ("policy", &rule.policy)] {
                if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                    issues.push((
                        format!("{path}.{field}"),
                        format!("must not be empty (omit it to keep the default's {field})"),
                    ));
                }
            }

            let key = MatchKey::of(&rule.matches);
            if let Some(c) = catch_all {
                issues.push((
                    path.clone(),
                    format!(
                        "unreachable: rule '{}' (rules[{c}]) before it matches every alarm",
                        spec.rules[c].name
                    ),
                ));
            } else if let Some((_, j)) = earlier.iter().find(|(k, _)| *k == key) {
                issues.push((
                    path.clone(),
                    format!(
                        "unreachable: rule '{}' (rules[{j}]) before it has the same match",
                        spec.rules[*j].name
                    ),
                ));
            } else {
                if key.is_catch_all() {
                    catch_all = Some(i);
                }
                earlier.push((key, i));
            }

            if let Some(conditions) =
                compile_conditions(&rule.matches, &format!("{path}.match"), &mut issues)
            {
                rules.push(CompiledRule {
                    spec: rule.clone(),
                    reasons: reasons(&rule.matches),
                    conditions,
                });
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(CompiledRouting {
            default: spec.default.clone(),
            insufficient_data: spec.insufficient_data,
            needs_tags: rules.iter().any(CompiledRule::uses_tags),
            rules,
        })
    }

    /// True when some rule matches on tags: only then need the caller fetch
    /// an alarm's tags.
    pub fn needs_tags(&self) -> bool {
        self.needs_tags
    }

    /// True when the tags could change how this alarm is routed: some rule
    /// with a `tags` condition, whose other conditions hold, comes before the
    /// first rule that matches without tags. When false, classifying with
    /// `tags: None` gives the same result as with the real tags.
    pub fn needs_tags_for(&self, alarm: &AlarmStateChange) -> bool {
        if !self.needs_tags {
            return false;
        }
        let description = alarm.description.as_deref().map(normalise_description);
        let subject = Subject::new(alarm, description.as_deref());
        self.rules
            .iter()
            .find(|r| r.conditions.matches_untagged(&subject))
            .is_some_and(CompiledRule::uses_tags)
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The default route.
    pub fn default(&self) -> &DefaultRouteSpec {
        &self.default
    }

    /// What to do with INSUFFICIENT_DATA.
    pub fn insufficient_data(&self) -> InsufficientData {
        self.insufficient_data
    }

    /// Routes one alarm. `tags` are the alarm's tags, or `None` when they were
    /// not fetched; rules with a `tags` condition then do not match.
    pub fn classify(
        &self,
        alarm: &AlarmStateChange,
        tags: Option<&BTreeMap<String, String>>,
    ) -> Classification {
        let description = alarm.description.as_deref().map(normalise_description);
        let subject = Subject::new(alarm, description.as_deref());
        let mut out = Classification {
            service: self.default.service.clone(),
            severity: self.default.severity,
            urgency: self.default.urgency,
            policy: None,
            rule: None,
            severity_from: "default".into(),
            matched: Vec::new(),
        };
        if let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.conditions.matches(&subject, tags))
        {
            let spec = &rule.spec;
            if let Some(service) = &spec.service {
                out.service.clone_from(service);
            }
            if let Some(severity) = spec.severity {
                out.severity = severity;
                out.severity_from = format!("rule:{}", spec.name);
            }
            if spec.urgency.is_some() {
                out.urgency = spec.urgency;
            }
            out.policy.clone_from(&spec.policy);
            out.rule = Some(spec.name.clone());
            out.matched.clone_from(&rule.reasons);
        }
        if let Some(description) = subject.description {
            apply_description_tokens(description, &mut out);
        }
        out
    }
}

/// The first valid `severity:` and `urgency:` tokens override the route.
fn apply_description_tokens(description: &str, out: &mut Classification) {
    let (mut severity, mut urgency) = (None, None);
    for (key, value) in description_tokens(description) {
        if severity.is_none() && token_key_is(key, "severity") {
            severity = value.parse::<Severity>().ok().map(|s| (s, value));
        } else if urgency.is_none() && token_key_is(key, "urgency") {
            urgency = value.parse::<Urgency>().ok().map(|u| (u, value));
        }
        if severity.is_some() && urgency.is_some() {
            break;
        }
    }
    if let Some((s, value)) = severity {
        out.severity = s;
        out.severity_from = "description".into();
        out.matched.push(format!("description severity:{value}"));
    }
    if let Some((u, value)) = urgency {
        out.urgency = Some(u);
        out.matched.push(format!("description urgency:{value}"));
    }
}
