//! A rule's conditions: compiled once from its `match`, then tested
//! against each alarm without allocating.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use regex_lite::{Regex, RegexBuilder};
use unicode_normalization::UnicodeNormalization;

use super::{MAX_REGEX_SIZE, MatchSpec, StringOrList};
use crate::alarm::{AlarmStateChange, MetricRef};
use crate::classify::{description_tokens, token_key, token_key_is};

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
pub(super) struct Conditions {
    account: Vec<String>,
    region: Vec<String>,
    alarm_name: Option<glob::Pattern>,
    metric: Option<MetricCondition>,
    /// Token key in [`token_key`] form, value glob.
    description: Vec<(String, glob::Pattern)>,
    pub(super) tags: Vec<(String, glob::Pattern)>,
    alarm_name_regex: Option<Regex>,
}

/// The alarm being routed, with its description tokens read at most once.
pub(super) struct Subject<'a> {
    alarm: &'a AlarmStateChange,
    /// NFKC-normalised description.
    pub(super) description: Option<&'a str>,
    tokens: OnceCell<Vec<(&'a str, &'a str)>>,
}

impl<'a> Subject<'a> {
    pub(super) fn new(alarm: &'a AlarmStateChange, description: Option<&'a str>) -> Self {
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
    pub(super) fn matches(&self, s: &Subject<'_>, tags: Option<&BTreeMap<String, String>>) -> bool {
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
    pub(super) fn matches_untagged(&self, s: &Subject<'_>) -> bool {
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
pub(super) fn compile_conditions(
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
