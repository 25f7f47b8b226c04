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

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use regex_lite::{Regex, RegexBuilder};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::alarm::{AlarmStateChange, MetricRef};
use super::classify::{
    Severity, description_tokens, normalise_description, token_key, token_key_is,
};

/// Largest compiled size of a rule's regex, in bytes (regex-lite's estimate).
pub const MAX_REGEX_SIZE: usize = 64 * 1024;

/// How urgently the people on call are paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    /// Page now, day or night.
    #[default]
    High,
    /// May wait for working hours.
    Low,
}

impl Urgency {
    /// `high` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Low => "low",
        }
    }
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Accepts `high` and `low`, in any case.
impl FromStr for Urgency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("high") {
            Ok(Self::High)
        } else if s.eq_ignore_ascii_case("low") {
            Ok(Self::Low)
        } else {
            Err(format!("'{s}' is not an urgency (high or low)"))
        }
    }
}

/// What to do with an alarm that goes to INSUFFICIENT_DATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InsufficientData {
    /// Drop it.
    #[default]
    Ignore,
    /// Treat it like ALARM.
    Alarm,
}

/// One string or a list of strings (`region: us-east-1` or
/// `region: [us-east-1, eu-west-1]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    List(Vec<String>),
}

impl StringOrList {
    /// The values, one or many.
    pub fn values(&self) -> &[String] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::List(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = StringOrList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrList::One(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Err(E::custom(format!(
                    "{v} must be quoted (\"{v}\"): a YAML number loses leading zeros"
                )))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Err(E::custom(format!(
                    "expected a string or a list of strings, got {v}"
                )))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(v) = seq.next_element::<String>()? {
                    values.push(v);
                }
                Ok(StringOrList::List(values))
            }
        }

        deserializer.deserialize_any(V)
    }
}

/// Conditions of a rule. Every condition given must hold; none at all
/// (`match: {}` or no `match`) matches every alarm.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// Glob over the whole alarm name (`*`, `?`, `[abc]`, `[!abc]`), case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_name: Option<String>,
    /// Regular expression searched in the alarm name; anchor it with `^...$`
    /// to match the whole name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_name_regex: Option<String>,
    /// Glob over a metric's namespace; holds if any metric of the alarm matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Glob over a metric's name; holds if any metric of the alarm matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// Dimension name to value glob. All must match on one metric, the same
    /// metric that `namespace` and `metric_name` (if given) match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// AWS account id(s), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<StringOrList>,
    /// AWS region code(s), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<StringOrList>,
    /// Alarm tag name to value glob; all must match. Never holds when the
    /// alarm's tags are unknown.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// `key:value` token in the alarm description: key (any case) to value
    /// glob; all must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub description: BTreeMap<String, String>,
}

impl MatchSpec {
    /// True when no condition is given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique name, recorded on the incident.
    pub name: String,
    /// When the rule applies; omitted means always.
    #[serde(
        rename = "match",
        default,
        deserialize_with = "match_or_null",
        skip_serializing_if = "MatchSpec::is_empty"
    )]
    pub matches: MatchSpec,
    /// Service to route to; unset keeps the default route's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Severity; unset keeps the default route's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Urgency; unset keeps the default route's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    /// Escalation policy to use instead of the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// `match:` with nothing under it reads as `match: {}`.
fn match_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MatchSpec, D::Error> {
    Ok(Option::<MatchSpec>::deserialize(deserializer)?.unwrap_or_default())
}

/// Where alarms go when no rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DefaultRouteSpec {
    pub service: String,
    pub severity: Severity,
    /// Unset: the service's default urgency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
}

/// The `routing:` section of `oncall.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutingSpec {
    pub default: DefaultRouteSpec,
    #[serde(default)]
    pub insufficient_data: InsufficientData,
    /// Tried in order; the first that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
}

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

/// Conditions on one metric of the alarm.
#[derive(Debug, Clone)]
struct MetricCondition {
    namespace: Option<glob::Pattern>,
    name: Option<glob::Pattern>,
    dimensions: Vec<(String, glob::Pattern)>,
}

impl MetricCondition {
    fn matches(&self, metric: &MetricRef) -> bool {
        optional_glob(self.namespace.as_ref(), metric.namespace.as_deref())
            && optional_glob(self.name.as_ref(), metric.name.as_deref())
            && self.dimensions.iter().all(|(key, pattern)| {
                metric
                    .dimensions
                    .get(key)
                    .is_some_and(|v| pattern.matches(v))
            })
    }
}

/// No pattern holds for anything; a pattern never holds for a missing value.
fn optional_glob(pattern: Option<&glob::Pattern>, value: Option<&str>) -> bool {
    match pattern {
        None => true,
        Some(p) => value.is_some_and(|v| p.matches(v)),
    }
}

/// A rule's compiled conditions; empty parts always hold.
#[derive(Debug, Clone, Default)]
struct Conditions {
    account: Vec<String>,
    region: Vec<String>,
    alarm_name: Option<glob::Pattern>,
    metric: Option<MetricCondition>,
    /// Token key in [`token_key`] form, value glob.
    description: Vec<(String, glob::Pattern)>,
    tags: Vec<(String, glob::Pattern)>,
    alarm_name_regex: Option<Regex>,
}

/// The alarm being routed, with its description tokens read at most once.
struct Subject<'a> {
    alarm: &'a AlarmStateChange,
    /// NFKC-normalised description.
    description: Option<&'a str>,
    tokens: OnceCell<Vec<(&'a str, &'a str)>>,
}

impl<'a> Subject<'a> {
    fn new(alarm: &'a AlarmStateChange, description: Option<&'a str>) -> Self {
        Self {
            alarm,
            description,
            tokens: OnceCell::new(),
        }
    }

    fn tokens(&self) -> &[(&'a str, &'a str)] {
        self.tokens.get_or_init(|| {
            self.description
                .map(|d| description_tokens(d).collect())
                .unwrap_or_default()
        })
    }
}

impl Conditions {
    fn matches(&self, s: &Subject<'_>, tags: Option<&BTreeMap<String, String>>) -> bool {
        self.tags_match(tags) && self.matches_untagged(s)
    }

    fn tags_match(&self, tags: Option<&BTreeMap<String, String>>) -> bool {
        if self.tags.is_empty() {
            return true;
        }
        let Some(tags) = tags else {
            return false;
        };
        self.tags
            .iter()
            .all(|(key, pattern)| tags.get(key).is_some_and(|v| pattern.matches(v)))
    }

    /// Everything but the tags, cheapest checks first.
    fn matches_untagged(&self, s: &Subject<'_>) -> bool {
        let alarm = s.alarm;
        (self.account.is_empty() || self.account.contains(&alarm.account))
            && (self.region.is_empty() || self.region.contains(&alarm.region))
            && optional_glob(self.alarm_name.as_ref(), Some(&alarm.alarm_name))
            && self
                .metric
                .as_ref()
                .is_none_or(|m| alarm.metrics.iter().any(|metric| m.matches(metric)))
            && (self.description.is_empty() || self.description_matches(s))
            && self
                .alarm_name_regex
                .as_ref()
                .is_none_or(|r| r.is_match(&alarm.alarm_name))
    }

    fn description_matches(&self, s: &Subject<'_>) -> bool {
        let tokens = s.tokens();
        self.description.iter().all(|(key, pattern)| {
            tokens
                .iter()
                .any(|(k, v)| token_key_is(k, key) && pattern.matches(v))
        })
    }
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

/// A glob that matches every string.
fn glob_matches_everything(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.chars().all(|c| c == '*')
}

/// A regex that visibly matches every alarm name (`.*`, `^.*$`, empty).
fn regex_matches_everything(pattern: &str) -> bool {
    if matches!(pattern, "" | "^" | "$") {
        return true;
    }
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let body = body.strip_suffix('$').unwrap_or(body);
    let body = body.strip_prefix("(?s)").unwrap_or(body);
    matches!(body, ".*" | ".*?" | ".+" | ".+?")
}

/// A rule's match in a canonical form, to find rules that can never match
/// because an earlier rule has the same conditions or matches everything.
#[derive(Debug, PartialEq, Eq)]
struct MatchKey<'a> {
    alarm_name: Option<&'a str>,
    alarm_name_regex: Option<&'a str>,
    namespace: Option<&'a str>,
    metric_name: Option<&'a str>,
    dimensions: &'a BTreeMap<String, String>,
    account: Option<BTreeSet<&'a str>>,
    region: Option<BTreeSet<&'a str>>,
    tags: &'a BTreeMap<String, String>,
    description: BTreeMap<String, String>,
}

impl<'a> MatchKey<'a> {
    fn of(m: &'a MatchSpec) -> Self {
        let set = |l: &'a Option<StringOrList>| {
            l.as_ref()
                .map(|l| l.values().iter().map(String::as_str).collect())
        };
        Self {
            alarm_name: m
                .alarm_name
                .as_deref()
                .filter(|p| !glob_matches_everything(p)),
            alarm_name_regex: m
                .alarm_name_regex
                .as_deref()
                .filter(|p| !regex_matches_everything(p)),
            namespace: m.namespace.as_deref(),
            metric_name: m.metric_name.as_deref(),
            dimensions: &m.dimensions,
            account: set(&m.account),
            region: set(&m.region),
            tags: &m.tags,
            description: m
                .description
                .iter()
                .map(|(k, v)| (token_key(k), v.nfkc().collect()))
                .collect(),
        }
    }

    fn is_catch_all(&self) -> bool {
        self.alarm_name.is_none()
            && self.alarm_name_regex.is_none()
            && self.namespace.is_none()
            && self.metric_name.is_none()
            && self.dimensions.is_empty()
            && self.account.is_none()
            && self.region.is_none()
            && self.tags.is_empty()
            && self.description.is_empty()
    }
}

/// Human-readable conditions of a rule, reported when it matches.
fn reasons(m: &MatchSpec) -> Vec<String> {
    let list = |field: &str, l: &StringOrList| match l.values() {
        [one] => format!("{field} = {one}"),
        many => format!("{field} in [{}]", many.join(", ")),
    };
    let mut out = Vec::new();
    if let Some(p) = &m.alarm_name {
        out.push(format!("alarm_name ~ {p}"));
    }
    if let Some(p) = &m.alarm_name_regex {
        out.push(format!("alarm_name_regex ~ {p}"));
    }
    if let Some(p) = &m.namespace {
        out.push(format!("namespace ~ {p}"));
    }
    if let Some(p) = &m.metric_name {
        out.push(format!("metric_name ~ {p}"));
    }
    out.extend(
        m.dimensions
            .iter()
            .map(|(k, p)| format!("dimension {k}={p}")),
    );
    if let Some(l) = &m.account {
        out.push(list("account", l));
    }
    if let Some(l) = &m.region {
        out.push(list("region", l));
    }
    out.extend(m.tags.iter().map(|(k, p)| format!("tag {k}={p}")));
    out.extend(
        m.description
            .iter()
            .map(|(k, p)| format!("description {k}={p}")),
    );
    if out.is_empty() {
        out.push("every alarm (no conditions)".into());
    }
    out
}

fn compile_glob(
    pattern: &str,
    path: String,
    issues: &mut Vec<(String, String)>,
) -> Option<glob::Pattern> {
    match glob::Pattern::new(pattern) {
        Ok(p) => Some(p),
        Err(e) => {
            issues.push((
                path,
                format!("invalid glob at character {}: {}", e.pos, e.msg),
            ));
            None
        }
    }
}

fn compile_optional_glob(
    pattern: Option<&str>,
    path: String,
    issues: &mut Vec<(String, String)>,
) -> Option<Option<glob::Pattern>> {
    match pattern {
        None => Some(None),
        Some(p) => compile_glob(p, path, issues).map(Some),
    }
}

/// Compiles a map of key to value glob, reporting empty keys.
fn compile_map(
    map: &BTreeMap<String, String>,
    path: &str,
    what: &str,
    issues: &mut Vec<(String, String)>,
) -> Vec<(String, glob::Pattern)> {
    let mut out = Vec::with_capacity(map.len());
    for (key, pattern) in map {
        if key.trim().is_empty() {
            issues.push((path.to_string(), format!("a {what} name is empty")));
        } else if let Some(p) = compile_glob(pattern, format!("{path}.{key}"), issues) {
            out.push((key.clone(), p));
        }
    }
    out
}

/// Checks an account or region list; `valid` tells whether one value is well formed.
fn compile_list(
    list: Option<&StringOrList>,
    path: &str,
    valid: fn(&str) -> Result<(), String>,
    issues: &mut Vec<(String, String)>,
) -> Vec<String> {
    let Some(list) = list else {
        return Vec::new();
    };
    let values = list.values();
    if values.is_empty() {
        issues.push((
            path.to_string(),
            "an empty list matches nothing: list at least one value or leave the condition out"
                .into(),
        ));
    }
    for (j, v) in values.iter().enumerate() {
        if let Err(message) = valid(v) {
            let at = match list {
                StringOrList::One(_) => path.to_string(),
                StringOrList::List(_) => format!("{path}[{j}]"),
            };
            issues.push((at, message));
        }
    }
    values.to_vec()
}

fn valid_account(v: &str) -> Result<(), String> {
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("'{v}' is not an AWS account id (12 digits)"))
    }
}

fn valid_region(v: &str) -> Result<(), String> {
    let well_formed = v.contains('-')
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if well_formed {
        Ok(())
    } else {
        Err(format!("'{v}' is not an AWS region code such as us-east-1"))
    }
}

/// Compiles one rule's `match`, or returns `None` after adding its problems.
fn compile_conditions(
    m: &MatchSpec,
    path: &str,
    issues: &mut Vec<(String, String)>,
) -> Option<Conditions> {
    let before = issues.len();

    if m.alarm_name.as_deref() == Some("") {
        issues.push((
            format!("{path}.alarm_name"),
            "an empty pattern matches no alarm name".into(),
        ));
    }
    let alarm_name = compile_optional_glob(
        m.alarm_name.as_deref(),
        format!("{path}.alarm_name"),
        issues,
    );
    let alarm_name_regex = m.alarm_name_regex.as_deref().and_then(|p| {
        match RegexBuilder::new(p).size_limit(MAX_REGEX_SIZE).build() {
            Ok(r) => Some(r),
            Err(e) => {
                issues.push((
                    format!("{path}.alarm_name_regex"),
                    format!("invalid regex: {e}"),
                ));
                None
            }
        }
    });

    let namespace =
        compile_optional_glob(m.namespace.as_deref(), format!("{path}.namespace"), issues);
    let name = compile_optional_glob(
        m.metric_name.as_deref(),
        format!("{path}.metric_name"),
        issues,
    );
    let dimensions = compile_map(
        &m.dimensions,
        &format!("{path}.dimensions"),
        "dimension",
        issues,
    );
    let tags = compile_map(&m.tags, &format!("{path}.tags"), "tag", issues);
    let account = compile_list(
        m.account.as_ref(),
        &format!("{path}.account"),
        valid_account,
        issues,
    );
    let region = compile_list(
        m.region.as_ref(),
        &format!("{path}.region"),
        valid_region,
        issues,
    );

    let mut description = Vec::with_capacity(m.description.len());
    for (key, pattern) in &m.description {
        let wanted = token_key(key);
        let at = format!("{path}.description.{key}");
        if wanted.trim().is_empty() {
            issues.push((
                format!("{path}.description"),
                "a description key is empty".into(),
            ));
        } else if !wanted.starts_with(char::is_alphanumeric)
            || wanted.contains(|c: char| c == ':' || c.is_whitespace())
        {
            issues.push((
                at,
                format!(
                    "'{key}' can never match: description keys start with a letter or digit \
                     and contain no spaces or ':'"
                ),
            ));
        } else if pattern.is_empty() {
            issues.push((
                at,
                "an empty pattern never matches: description tokens have a value".into(),
            ));
        } else {
            let pattern: String = pattern.nfkc().collect();
            if let Some(p) = compile_glob(&pattern, at, issues) {
                description.push((wanted, p));
            }
        }
    }

    if issues.len() > before {
        return None;
    }
    let (namespace, name) = (namespace.flatten(), name.flatten());
    let metric = (namespace.is_some() || name.is_some() || !dimensions.is_empty()).then_some(
        MetricCondition {
            namespace,
            name,
            dimensions,
        },
    );
    Some(Conditions {
        account,
        region,
        alarm_name: alarm_name.flatten(),
        metric,
        description,
        tags,
        alarm_name_regex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alarm::parse_direct_event;
    use serde_json::{Value, json};

    const METRIC_EVENT: &str = include_str!("../../../events/eventbridge-alarm.json");
    const COMPOSITE_EVENT: &str = include_str!("../../../events/eventbridge-composite-alarm.json");

    fn parse(event: &Value) -> AlarmStateChange {
        parse_direct_event(event).unwrap()
    }

    fn event(raw: &str) -> Value {
        serde_json::from_str(raw).unwrap()
    }

    /// `checkout-5xx-prod` in 123456789012 / ap-northeast-1, one metric
    /// AWS/ApiGateway 5XXError {ApiName: checkout, Stage: prod}.
    fn metric_alarm() -> AlarmStateChange {
        parse(&event(METRIC_EVENT))
    }

    fn named(name: &str) -> AlarmStateChange {
        let mut e = event(METRIC_EVENT);
        e["detail"]["alarmName"] = json!(name);
        e["detail"]["configuration"]["description"] = json!("");
        parse(&e)
    }

    fn described(description: &str) -> AlarmStateChange {
        let mut e = event(METRIC_EVENT);
        e["detail"]["configuration"]["description"] = json!(description);
        parse(&e)
    }

    /// A metric-math alarm whose dimensions are split across two metrics.
    fn two_metrics() -> AlarmStateChange {
        let mut e = event(METRIC_EVENT);
        e["detail"]["configuration"]["metrics"] = json!([
            {"id": "e1", "expression": "m1 / m2 * 100", "returnData": true},
            {"id": "m1", "metricStat": {"metric": {"namespace": "AWS/ApiGateway", "name": "5XXError", "dimensions": {"ApiName": "checkout"}}}},
            {"id": "m2", "metricStat": {"metric": {"namespace": "AWS/ApiGateway", "name": "Count", "dimensions": {"Stage": "prod"}}}}
        ]);
        parse(&e)
    }

    fn composite() -> AlarmStateChange {
        parse(&event(COMPOSITE_EVENT))
    }

    fn spec(yaml: &str) -> RoutingSpec {
        serde_norway::from_str(yaml).unwrap()
    }

    fn routing(yaml: &str) -> CompiledRouting {
        CompiledRouting::compile(&spec(yaml)).unwrap()
    }

    fn routing_for(match_yaml: &str) -> CompiledRouting {
        routing(&format!(
            "default: {{service: general, severity: SEV3}}\n\
             rules:\n  - name: r\n    match: {match_yaml}\n    service: s\n"
        ))
    }

    fn tag_map(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
        tags.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn compile_errors(yaml: &str) -> Vec<(String, String)> {
        CompiledRouting::compile(&spec(yaml)).unwrap_err()
    }

    /// Rules (as `match:` YAML) that must and must not match one alarm.
    struct Case {
        alarm: AlarmStateChange,
        tags: Option<&'static [(&'static str, &'static str)]>,
        hit: &'static [&'static str],
        miss: &'static [&'static str],
    }

    #[test]
    fn each_condition_kind_matches_only_what_it_names() {
        let cases = [
            // globs over the whole name, case-sensitive; regexes unanchored
            Case {
                alarm: metric_alarm(),
                tags: None,
                hit: &[
                    "{alarm_name: checkout-*}",
                    "{alarm_name: '*-prod'}",
                    "{alarm_name: checkout-?xx-prod}",
                    "{alarm_name: 'checkout-[0-9]xx-prod'}",
                    "{alarm_name_regex: 5xx}",
                    r"{alarm_name_regex: '^checkout-\d+xx-(prod|stg)$'}",
                ],
                miss: &[
                    "{alarm_name: 'checkout-[!5]xx-prod'}",
                    "{alarm_name: Checkout-*}",
                    "{alarm_name: checkout}",
                    "{alarm_name_regex: '^5xx'}",
                    "{alarm_name_regex: CHECKOUT}",
                ],
            },
            Case {
                alarm: named("rds-cpu-12"),
                tags: None,
                hit: &[r"{alarm_name_regex: '^rds-(cpu|mem)-\d+$'}"],
                miss: &["{alarm_name: rds-cpu}"],
            },
            Case {
                alarm: named("rds-cpu-12x"),
                tags: None,
                hit: &["{alarm_name: rds-cpu-*}"],
                miss: &[r"{alarm_name_regex: '^rds-(cpu|mem)-\d+$'}"],
            },
            // metric conditions, dimensions on the metric that matches; account; region
            Case {
                alarm: metric_alarm(),
                tags: None,
                hit: &[
                    "{namespace: AWS/ApiGateway}",
                    "{namespace: 'AWS/*'}",
                    "{metric_name: 5XX*}",
                    "{dimensions: {ApiName: checkout}}",
                    "{dimensions: {ApiName: check*, Stage: prod}}",
                    "{namespace: AWS/ApiGateway, metric_name: 5XXError, dimensions: {ApiName: checkout}}",
                    "{account: '123456789012'}",
                    "{account: ['111111111111', '123456789012']}",
                    "{region: ap-northeast-1}",
                    "{region: [us-east-1, ap-northeast-1]}",
                    "{alarm_name: checkout-*, account: '123456789012', region: ap-northeast-1, namespace: AWS/*}",
                ],
                miss: &[
                    "{namespace: AWS/RDS}",
                    "{metric_name: 4XX*}",
                    "{dimensions: {Stage: dev}}",
                    "{dimensions: {Region: '*'}}",
                    "{namespace: AWS/RDS, dimensions: {ApiName: checkout}}",
                    "{account: '111111111111'}",
                    "{region: us-east-1}",
                    "{region: [us-east-1, eu-west-1]}",
                    "{alarm_name: checkout-*, region: us-east-1}",
                ],
            },
            Case {
                alarm: two_metrics(),
                tags: None,
                hit: &[
                    "{metric_name: Count}",
                    "{dimensions: {ApiName: checkout}}",
                    "{metric_name: Count, dimensions: {Stage: prod}}",
                ],
                miss: &[
                    "{dimensions: {ApiName: checkout, Stage: prod}}",
                    "{metric_name: Count, dimensions: {ApiName: checkout}}",
                ],
            },
            // composite alarms have no metrics
            Case {
                alarm: composite(),
                tags: None,
                hit: &["{alarm_name: checkout-*}"],
                miss: &[
                    "{namespace: '*'}",
                    "{metric_name: '*'}",
                    "{dimensions: {ApiName: '*'}}",
                ],
            },
            // tags: present and matching, wrong, absent, not fetched
            Case {
                alarm: metric_alarm(),
                tags: Some(&[("team", "payments"), ("env", "production")]),
                hit: &[
                    "{tags: {team: payments}}",
                    "{tags: {team: payments, env: 'prod*'}}",
                ],
                miss: &[
                    "{tags: {team: search}}",
                    "{tags: {team: payments, owner: '*'}}",
                ],
            },
            Case {
                alarm: metric_alarm(),
                tags: Some(&[]),
                hit: &["{alarm_name: checkout-*}"],
                miss: &["{tags: {team: payments}}", "{tags: {team: '*'}}"],
            },
            Case {
                alarm: metric_alarm(),
                tags: None,
                hit: &["{alarm_name: checkout-*}"],
                miss: &["{tags: {team: payments}}", "{tags: {team: '*'}}"],
            },
            // description tokens: keys in any case and width, values case-sensitive globs
            Case {
                alarm: described("(Team：payments). ｅｎｖ：ｐｒｏｄ env:dev"),
                tags: None,
                hit: &[
                    "{description: {team: payments}}",
                    "{description: {TEAM: pay*}}",
                    "{description: {ＴＥＡＭ: payments}}",
                    "{description: {team: payments, env: prod}}",
                    "{description: {env: dev}}",
                ],
                miss: &[
                    "{description: {team: Payments}}",
                    "{description: {team: search}}",
                    "{description: {teams: payments}}",
                    "{description: {team: payments, env: stg}}",
                ],
            },
            Case {
                alarm: metric_alarm(),
                tags: None,
                hit: &["{description: {severity: crit*}}"],
                miss: &["{description: {severity: CRIT*}}"],
            },
            Case {
                alarm: named("no-description"),
                tags: None,
                hit: &["{alarm_name: no-*}"],
                miss: &["{description: {team: '*'}}"],
            },
        ];
        for case in cases {
            let tags = case.tags.map(tag_map);
            let expected = case.hit.iter().map(|m| (m, true));
            for (match_yaml, expected) in expected.chain(case.miss.iter().map(|m| (m, false))) {
                let routing = routing_for(match_yaml);
                let c = routing.classify(&case.alarm, tags.as_ref());
                let name = &case.alarm.alarm_name;
                assert_eq!(
                    c.rule.is_some(),
                    expected,
                    "{match_yaml} on {name} with tags {tags:?}: {c:?}"
                );
                assert_eq!(
                    routing.rules()[0].matches(&case.alarm, tags.as_ref()),
                    expected
                );
                assert_eq!(c.service, if expected { "s" } else { "general" });
                assert!(!expected || !c.matched.is_empty());
            }
        }
    }

    const ROUTES: &str = r#"
default: {service: general, severity: SEV3}
rules:
  - name: payments-tagged
    match: {tags: {team: payments}}
    service: payments
    severity: SEV1
    urgency: high
    policy: payments-urgent
  - name: api
    match: {namespace: AWS/ApiGateway}
    service: api
    severity: SEV2
  - name: prod
    match: {alarm_name: "*-prod"}
    service: prod
    urgency: low
"#;

    #[test]
    fn the_first_matching_rule_wins_and_unset_fields_keep_the_default() {
        let routing = routing(ROUTES);
        let mut api_alarm = metric_alarm();
        api_alarm.description = None;
        let mut prod_alarm = composite();
        prod_alarm.alarm_name = "search-prod".into();
        let cases = [
            (
                &api_alarm,
                Some(tag_map(&[("team", "payments")])),
                (
                    "payments-tagged",
                    "payments",
                    Severity::Sev1,
                    Some(Urgency::High),
                ),
                Some("payments-urgent"),
                "rule:payments-tagged",
            ),
            (
                &api_alarm,
                Some(tag_map(&[("team", "search")])),
                ("api", "api", Severity::Sev2, None),
                None,
                "rule:api",
            ),
            (
                &api_alarm,
                None,
                ("api", "api", Severity::Sev2, None),
                None,
                "rule:api",
            ),
            (
                &prod_alarm,
                None,
                ("prod", "prod", Severity::Sev3, Some(Urgency::Low)),
                None,
                "default",
            ),
        ];
        for (alarm, tags, (rule, service, severity, urgency), policy, severity_from) in cases {
            let c = routing.classify(alarm, tags.as_ref());
            assert_eq!(c.rule.as_deref(), Some(rule), "{c:?}");
            assert_eq!(c.service, service);
            assert_eq!(c.severity, severity);
            assert_eq!(c.urgency, urgency);
            assert_eq!(c.policy.as_deref(), policy);
            assert_eq!(c.severity_from, severity_from);
        }
    }

    #[test]
    fn an_unmatched_alarm_takes_the_default_route() {
        let routing = routing(
            "default: {service: general, severity: SEV4, urgency: low}\n\
             rules: [{name: rds, match: {alarm_name: rds-*}, service: db, severity: SEV1}]",
        );
        let c = routing.classify(&named("checkout-latency"), None);
        assert_eq!(
            c,
            Classification {
                service: "general".into(),
                severity: Severity::Sev4,
                urgency: Some(Urgency::Low),
                policy: None,
                rule: None,
                severity_from: "default".into(),
                matched: vec![],
            }
        );
        let no_rules = routing_without_rules();
        let c = no_rules.classify(&metric_alarm(), None);
        assert_eq!((c.rule, c.urgency), (None, None));
    }

    fn routing_without_rules() -> CompiledRouting {
        routing("default: {service: general, severity: SEV3}")
    }

    #[test]
    fn description_tokens_override_severity_and_urgency() {
        let routing = routing(
            "default: {service: general, severity: SEV3}\n\
             rules: [{name: api, match: {namespace: AWS/ApiGateway}, severity: SEV2, urgency: high}]",
        );
        let cases = [
            (
                "API down. severity:critical",
                Severity::Sev1,
                Urgency::High,
                "description",
            ),
            ("urgency:low", Severity::Sev2, Urgency::Low, "rule:api"),
            (
                "Severity:4, Urgency:LOW.",
                Severity::Sev4,
                Urgency::Low,
                "description",
            ),
            (
                "ｓｅｖｅｒｉｔｙ：ｗａｒｎｉｎｇ　ＵＲＧＥＮＣＹ：ｌｏｗ",
                Severity::Sev3,
                Urgency::Low,
                "description",
            ),
            (
                "severity:bogus urgency:sometimes",
                Severity::Sev2,
                Urgency::High,
                "rule:api",
            ),
            (
                "severity:bogus severity:1 severity:4",
                Severity::Sev1,
                Urgency::High,
                "description",
            ),
            (
                "no tokens at all",
                Severity::Sev2,
                Urgency::High,
                "rule:api",
            ),
        ];
        for (description, severity, urgency, from) in cases {
            let c = routing.classify(&described(description), None);
            assert_eq!(
                (c.severity, c.urgency, c.severity_from.as_str()),
                (severity, Some(urgency), from),
                "{description}"
            );
        }
        let c = routing.classify(&described("severity:critical urgency:low"), None);
        assert_eq!(
            c.matched,
            [
                "namespace ~ AWS/ApiGateway",
                "description severity:critical",
                "description urgency:low"
            ]
        );
        let c = routing_without_rules().classify(&described("severity:1 urgency:low"), None);
        assert_eq!(
            (c.rule, c.severity, c.urgency),
            (None, Severity::Sev1, Some(Urgency::Low))
        );
    }

    #[test]
    fn matched_lists_every_condition_of_the_rule() {
        let routing = routing(
            r#"
default: {service: general, severity: SEV3}
rules:
  - name: all
    match:
      alarm_name: "checkout-*"
      alarm_name_regex: "5xx"
      namespace: AWS/ApiGateway
      metric_name: 5XXError
      dimensions: {ApiName: checkout}
      account: "123456789012"
      region: [us-east-1, ap-northeast-1]
      tags: {team: payments}
      description: {severity: "crit*"}
"#,
        );
        let c = routing.classify(&metric_alarm(), Some(&tag_map(&[("team", "payments")])));
        assert_eq!(
            c.matched,
            [
                "alarm_name ~ checkout-*",
                "alarm_name_regex ~ 5xx",
                "namespace ~ AWS/ApiGateway",
                "metric_name ~ 5XXError",
                "dimension ApiName=checkout",
                "account = 123456789012",
                "region in [us-east-1, ap-northeast-1]",
                "tag team=payments",
                "description severity=crit*",
                "description severity:critical",
            ]
        );
        let c = routing_for("{}").classify(&metric_alarm(), None);
        assert_eq!(c.matched[0], "every alarm (no conditions)");
    }

    #[test]
    fn needs_tags_only_when_tags_could_decide() {
        assert!(!routing_without_rules().needs_tags());
        assert!(!routing_for("{alarm_name: '*-prod'}").needs_tags());
        let routing = routing(ROUTES);
        assert!(routing.needs_tags());
        assert!(routing.needs_tags_for(&metric_alarm()));
        let tagged_after_a_match = self::routing(
            "default: {service: general, severity: SEV3}\n\
             rules:\n\
             - {name: api, match: {namespace: AWS/ApiGateway}}\n\
             - {name: rds, match: {namespace: AWS/RDS, tags: {team: db}}}\n",
        );
        assert!(tagged_after_a_match.needs_tags());
        assert!(!tagged_after_a_match.needs_tags_for(&metric_alarm()));
        assert!(!tagged_after_a_match.needs_tags_for(&composite()));
        let mut rds = metric_alarm();
        rds.metrics[0].namespace = Some("AWS/RDS".into());
        assert!(tagged_after_a_match.needs_tags_for(&rds));
    }

    #[test]
    fn rejects_invalid_patterns_and_values_with_their_paths() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "{alarm_name_regex: 'rds-('}",
                "rules[0].match.alarm_name_regex",
                "invalid regex",
            ),
            (
                r"{alarm_name_regex: '\w{1000}{1000}'}",
                "rules[0].match.alarm_name_regex",
                "size limit",
            ),
            (
                "{alarm_name: 'rds-[x'}",
                "rules[0].match.alarm_name",
                "invalid glob at character 4",
            ),
            (
                "{alarm_name: 'a***'}",
                "rules[0].match.alarm_name",
                "invalid glob",
            ),
            (
                "{alarm_name: ''}",
                "rules[0].match.alarm_name",
                "matches no alarm name",
            ),
            (
                "{namespace: 'AWS/[RDS'}",
                "rules[0].match.namespace",
                "invalid glob",
            ),
            (
                "{metric_name: '[!'}",
                "rules[0].match.metric_name",
                "invalid glob",
            ),
            (
                "{dimensions: {DBInstanceIdentifier: 'prod-[x'}}",
                "rules[0].match.dimensions.DBInstanceIdentifier",
                "invalid glob at character 5",
            ),
            (
                "{dimensions: {'': x}}",
                "rules[0].match.dimensions",
                "dimension name is empty",
            ),
            (
                "{tags: {'': x}}",
                "rules[0].match.tags",
                "tag name is empty",
            ),
            (
                "{tags: {env: 'prod[*'}}",
                "rules[0].match.tags.env",
                "invalid glob",
            ),
            (
                "{description: {'': x}}",
                "rules[0].match.description",
                "description key is empty",
            ),
            (
                "{description: {'on call': x}}",
                "rules[0].match.description.on call",
                "never match",
            ),
            (
                "{description: {'a:b': x}}",
                "rules[0].match.description.a:b",
                "never match",
            ),
            (
                "{description: {team: ''}}",
                "rules[0].match.description.team",
                "never matches",
            ),
            ("{account: []}", "rules[0].match.account", "empty list"),
            ("{region: []}", "rules[0].match.region", "empty list"),
            ("{account: '12345'}", "rules[0].match.account", "12 digits"),
            (
                "{account: ['123456789012', '']}",
                "rules[0].match.account[1]",
                "12 digits",
            ),
            (
                "{region: [us-east-1, Tokyo]}",
                "rules[0].match.region[1]",
                "region code",
            ),
        ];
        for (match_yaml, path, message) in cases {
            let errors = compile_errors(&format!(
                "default: {{service: general, severity: SEV3}}\n\
                 rules: [{{name: r, match: {match_yaml}}}]"
            ));
            assert!(
                errors.iter().any(|(p, m)| p == path && m.contains(message)),
                "{match_yaml}: {errors:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_names_and_reports_every_problem_at_once() {
        let errors = compile_errors(
            r#"
default: {service: " ", severity: SEV3}
rules:
  - {name: a, match: {alarm_name_regex: "("}}
  - {name: "", match: {alarm_name: x}}
  - {name: a, match: {alarm_name: y}, service: "", policy: ""}
"#,
        );
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "default.service",
                "rules[0].match.alarm_name_regex",
                "rules[1].name",
                "rules[2].name",
                "rules[2].service",
                "rules[2].policy",
            ],
            "{errors:?}"
        );
        assert!(
            errors[3]
                .1
                .contains("duplicate rule name 'a' (also rules[0])")
        );
    }

    #[test]
    fn rejects_rules_after_a_catch_all() {
        let catch_alls = [
            "match: {}",
            "match:",
            "service: x",
            "match: {alarm_name: '*'}",
            "match: {alarm_name: '**'}",
            "match: {alarm_name_regex: '.*'}",
            "match: {alarm_name_regex: '^.*$'}",
            "match: {alarm_name_regex: ''}",
            "match: {alarm_name: '*', alarm_name_regex: '^(?s).*$'}",
        ];
        for catch_all in catch_alls {
            let errors = compile_errors(&format!(
                "default: {{service: general, severity: SEV3}}\n\
                 rules:\n\
                 - name: everything\n  {catch_all}\n\
                 - {{name: later, match: {{alarm_name: rds-*}}}}\n\
                 - {{name: last, match: {{namespace: AWS/RDS}}}}\n"
            ));
            assert_eq!(
                errors,
                [
                    (
                        "rules[1]".to_string(),
                        "unreachable: rule 'everything' (rules[0]) before it matches every alarm"
                            .to_string()
                    ),
                    (
                        "rules[2]".to_string(),
                        "unreachable: rule 'everything' (rules[0]) before it matches every alarm"
                            .to_string()
                    ),
                ],
                "{catch_all}"
            );
        }
        let not_catch_alls = [
            "match: {alarm_name: '*-prod'}",
            "match: {alarm_name_regex: '^$'}",
            "match: {alarm_name_regex: 'a.*'}",
            "match: {namespace: '*'}",
            "match: {alarm_name: '*', tags: {team: '*'}}",
            "match: {description: {team: '*'}}",
        ];
        for first in not_catch_alls {
            let spec = spec(&format!(
                "default: {{service: general, severity: SEV3}}\n\
                 rules:\n\
                 - name: first\n  {first}\n\
                 - {{name: later, match: {{}}}}\n"
            ));
            assert!(CompiledRouting::compile(&spec).is_ok(), "{first}");
        }
    }

    #[test]
    fn rejects_a_rule_with_the_same_match_as_an_earlier_one() {
        let duplicates = [
            ("{alarm_name: rds-*}", "{alarm_name: rds-*}"),
            ("{account: '123456789012'}", "{account: ['123456789012']}"),
            ("{region: [a-1, b-2]}", "{region: [b-2, a-1, a-1]}"),
            ("{description: {Team: x}}", "{description: {ＴＥＡＭ: x}}"),
            (
                "{namespace: AWS/RDS}",
                "{namespace: AWS/RDS, alarm_name: '*'}",
            ),
        ];
        for (first, second) in duplicates {
            let errors = compile_errors(&format!(
                "default: {{service: general, severity: SEV3}}\n\
                 rules:\n\
                 - {{name: first, match: {first}}}\n\
                 - {{name: mid, match: {{alarm_name: other}}}}\n\
                 - {{name: again, match: {second}}}\n"
            ));
            assert_eq!(
                errors,
                [(
                    "rules[2]".to_string(),
                    "unreachable: rule 'first' (rules[0]) before it has the same match".to_string()
                )],
                "{first} / {second}"
            );
        }
        let distinct = spec(
            "default: {service: general, severity: SEV3}\n\
             rules:\n\
             - {name: a, match: {alarm_name: rds-*, region: us-east-1}}\n\
             - {name: b, match: {alarm_name: rds-*}}\n",
        );
        assert!(CompiledRouting::compile(&distinct).is_ok());
    }

    #[test]
    fn parses_the_documented_yaml() {
        let spec = spec(
            r#"
default: {service: general, severity: SEV3}
insufficient_data: alarm
rules:
  - name: rds-prod
    match:
      alarm_name: "rds-*"
      alarm_name_regex: "^rds-(cpu|mem)-\\d+$"
      namespace: AWS/RDS
      metric_name: "CPU*"
      dimensions: {DBInstanceIdentifier: "prod-*"}
      account: ["123456789012"]
      region: [us-east-1, ap-northeast-1]
      tags: {team: payments, env: "prod*"}
      description: {team: payments, severity: "crit*"}
    service: payments
    severity: SEV1
    urgency: high
    policy: payments-urgent
"#,
        );
        let routing = CompiledRouting::compile(&spec).unwrap();
        assert_eq!(routing.insufficient_data(), InsufficientData::Alarm);
        assert_eq!(routing.default().urgency, None);
        let rule = &routing.rules()[0];
        assert_eq!(rule.name(), "rds-prod");
        assert_eq!(rule.spec().policy.as_deref(), Some("payments-urgent"));
        assert_eq!(rule.spec().urgency, Some(Urgency::High));
        assert_eq!(
            rule.spec()
                .matches
                .region
                .as_ref()
                .map(StringOrList::values),
            Some(&["us-east-1".to_string(), "ap-northeast-1".to_string()][..])
        );
        let mut alarm = metric_alarm();
        alarm.alarm_name = "rds-cpu-1".into();
        alarm.region = "us-east-1".into();
        alarm.metrics = vec![MetricRef {
            namespace: Some("AWS/RDS".into()),
            name: Some("CPUUtilization".into()),
            dimensions: tag_map(&[("DBInstanceIdentifier", "prod-main")]),
        }];
        alarm.description = Some("team:payments severity:critical".into());
        let tags = tag_map(&[("team", "payments"), ("env", "prod")]);
        let c = routing.classify(&alarm, Some(&tags));
        assert_eq!(c.rule.as_deref(), Some("rds-prod"));
        // Serialising and reading back gives the same spec.
        let yaml = serde_norway::to_string(&spec).unwrap();
        assert_eq!(self::spec(&yaml), spec);
        let minimal = self::spec("default: {service: general, severity: SEV3}");
        assert_eq!(minimal.insufficient_data, InsufficientData::Ignore);
        assert!(minimal.rules.is_empty());
    }

    #[test]
    fn rejects_unknown_fields_and_unquoted_account_ids() {
        let cases = [
            (
                "default: {service: g, severity: SEV3}\nrules: [{name: r, match: {alarmname: x}}]",
                "unknown field `alarmname`",
            ),
            (
                "default: {service: g, severity: SEV3, policy: p}",
                "unknown field `policy`",
            ),
            (
                "default: {service: g, severity: SEV3}\nrules: [{name: r, match: {account: 123456789012}}]",
                "must be quoted",
            ),
            (
                "default: {service: g, severity: SEV3}\nrules: [{name: r, urgency: medium}]",
                "unknown variant `medium`",
            ),
            (
                "default: {service: g, severity: SEV3}\ninsufficient_data: page",
                "unknown variant `page`",
            ),
        ];
        for (yaml, message) in cases {
            let err = serde_norway::from_str::<RoutingSpec>(yaml).unwrap_err();
            assert!(err.to_string().contains(message), "{yaml}: {err}");
        }
    }

    #[test]
    fn urgency_reads_and_writes_lowercase() {
        assert_eq!("HIGH".parse(), Ok(Urgency::High));
        assert_eq!(" low ".parse(), Ok(Urgency::Low));
        assert!("urgent".parse::<Urgency>().is_err());
        assert_eq!(Urgency::Low.to_string(), "low");
        assert_eq!(Urgency::default(), Urgency::High);
        assert_eq!(serde_json::to_value(Urgency::High).unwrap(), json!("high"));
    }

    #[test]
    fn a_classification_survives_a_json_round_trip() {
        let c = routing(ROUTES).classify(&described("severity:2"), None);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Classification>(&json).unwrap(), c);
    }

    #[cfg(feature = "schema")]
    #[test]
    fn the_json_schema_describes_the_yaml() {
        let schema = serde_json::to_value(schemars::schema_for!(RoutingSpec)).unwrap();
        let defs = &schema["$defs"];
        let urgency = defs["Urgency"].to_string();
        assert!(
            urgency.contains("high") && urgency.contains("low"),
            "{urgency}"
        );
        let one_or_many = defs["StringOrList"]["anyOf"].as_array().unwrap();
        assert_eq!(one_or_many.len(), 2);
        assert!(defs["RuleSpec"]["properties"]["match"].is_object());
        assert_eq!(defs["MatchSpec"]["additionalProperties"], json!(false));
        assert!(defs["Severity"].to_string().contains("SEV1"));
    }

    /// 50 rules that all miss, so every alarm is tried against all of them.
    fn fifty_rules() -> CompiledRouting {
        let mut yaml = String::from("default: {service: general, severity: SEV3}\nrules:\n");
        for i in 0..50 {
            let m = match i % 5 {
                0 => format!("{{alarm_name: 'svc{i}-*-prod'}}"),
                1 => format!(r"{{alarm_name_regex: '^svc{i}-(cpu|mem)-\d+$'}}"),
                2 => format!(
                    "{{namespace: AWS/ApiGateway, dimensions: {{ApiName: 'svc{i}*', Stage: prod}}}}"
                ),
                3 => format!(
                    "{{description: {{team: 'team{i}*'}}, region: [us-east-1, ap-northeast-1]}}"
                ),
                _ => format!("{{tags: {{team: 'team{i}'}}, account: '123456789012'}}"),
            };
            yaml.push_str(&format!("  - {{name: r{i}, match: {m}, severity: SEV2}}\n"));
        }
        routing(&yaml)
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn classifying_without_tags_is_exact_when_they_are_not_needed(
                name in "[a-z0-9-]{1,20}",
                description in "\\PC{0,60}",
                team in "(payments|search|db)",
                namespace in "(AWS/ApiGateway|AWS/RDS)",
            ) {
                let routing = routing(
                    "default: {service: general, severity: SEV3}\n\
                     rules:\n\
                     - {name: a, match: {alarm_name: 'api-*', tags: {team: payments}}}\n\
                     - {name: b, match: {namespace: AWS/RDS}}\n\
                     - {name: c, match: {description: {team: db}, tags: {team: db}}}\n\
                     - {name: d, match: {alarm_name_regex: '[0-9]$'}}\n",
                );
                let mut alarm = metric_alarm();
                alarm.alarm_name = name;
                alarm.description = Some(description);
                alarm.metrics[0].namespace = Some(namespace);
                let tags = tag_map(&[("team", team.as_str())]);
                if !routing.needs_tags_for(&alarm) {
                    prop_assert_eq!(
                        routing.classify(&alarm, None),
                        routing.classify(&alarm, Some(&tags))
                    );
                }
            }

            #[test]
            fn any_description_classifies_without_panicking(description in "\\PC{0,200}") {
                let c = fifty_rules().classify(&described(&description), None);
                prop_assert!(c.rule.is_none());
            }
        }
    }
}
