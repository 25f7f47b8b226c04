//! A rule's match in canonical form, to find rules no alarm can reach,
//! and in words, to say why a rule matched.

use std::collections::{BTreeMap, BTreeSet};

use unicode_normalization::UnicodeNormalization;

use super::{MatchSpec, StringOrList};
use crate::classify::token_key;

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
pub(super) struct MatchKey<'a> {
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
    pub(super) fn of(m: &'a MatchSpec) -> Self {
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

    pub(super) fn is_catch_all(&self) -> bool {
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
pub(super) fn reasons(m: &MatchSpec) -> Vec<String> {
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
