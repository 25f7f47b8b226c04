//! The `routing:` section as written in `oncall.yaml`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::classify::Severity;

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
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::keys::unique"
    )]
    pub dimensions: BTreeMap<String, String>,
    /// AWS account id(s), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<StringOrList>,
    /// AWS region code(s), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<StringOrList>,
    /// Alarm tag name to value glob; all must match. Never holds when the
    /// alarm's tags are unknown.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::keys::unique"
    )]
    pub tags: BTreeMap<String, String>,
    /// `key:value` token in the alarm description: key (any case) to value
    /// glob; all must match.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::keys::unique"
    )]
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
