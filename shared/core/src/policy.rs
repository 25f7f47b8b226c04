//! Escalation policies as configured: levels of targets, walked in order
//! and repeated; and the people a level's targets resolve to.
//!
//! A target is written as a bare person id (`aiko`), `{person: aiko}` or
//! `{schedule: primary}`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One level of an escalation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// People (`aiko` or `{person: aiko}`) and schedules (`{schedule: primary}`):
    /// a schedule pages whoever is on call when the level fires.
    pub targets: Vec<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u32>,
    /// Finer-grained alternative to `timeout_minutes`, meant for drills and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
}

impl Level {
    /// The level's timeout in seconds (validated: exactly one unit is set).
    pub fn timeout_secs(&self) -> u32 {
        minutes_or_seconds(self.timeout_minutes, self.timeout_seconds)
    }
}

/// An escalation policy: levels, walked in order, the whole walk repeated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    pub levels: Vec<Level>,
    /// How many more times the whole policy runs after the first pass (0-9).
    #[serde(default)]
    pub repeat: u32,
}

/// An escalation level target: a person, or whoever is on call for a schedule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Person(String),
    Schedule(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Person(id) => write!(f, "person '{id}'"),
            Self::Schedule(id) => write!(f, "schedule '{id}'"),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Person(id) => s.serialize_str(id),
            Self::Schedule(id) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("schedule", id)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Target;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a person id, {person: <id>} or {schedule: <id>}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Target, E> {
                Ok(Target::Person(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Target, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "empty target: use {person: <id>} or {schedule: <id>}",
                    ));
                };
                let id: String = map.next_value()?;
                let target = match key.as_str() {
                    "person" => Target::Person(id),
                    "schedule" => Target::Schedule(id),
                    other => return Err(de::Error::unknown_field(other, &["person", "schedule"])),
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "a target names one person or one schedule",
                    ));
                }
                Ok(target)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Target {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Target".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        TargetForm::json_schema(generator)
    }
}

/// How a target may be written (for the JSON Schema).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum TargetForm {
    /// A person id.
    Id(String),
    Person {
        person: String,
    },
    Schedule {
        schedule: String,
    },
}

/// A person to page, and why they are a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedTarget {
    pub person: String,
    /// The schedule that put them there, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl ResolvedTarget {
    /// `aiko` or `aiko (schedule primary)`.
    pub fn describe(&self) -> String {
        match &self.via {
            Some(s) => format!("{} (schedule {s})", self.person),
            None => self.person.clone(),
        }
    }
}

/// A level's targets resolved at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Each person once, in target order.
    pub targets: Vec<ResolvedTarget>,
    /// Empty schedule slots and unknown targets.
    pub warnings: Vec<String>,
}

/// A duration written as `<x>_minutes` or its finer `<x>_seconds`
/// alternative, in seconds; minutes win if both are set (validation
/// rejects that), 0 if neither is.
pub fn minutes_or_seconds(minutes: Option<u32>, seconds: Option<u32>) -> u32 {
    match (minutes, seconds) {
        (Some(m), _) => m.saturating_mul(60),
        (None, Some(s)) => s,
        (None, None) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_ids_or_tagged_maps() {
        let t: Vec<Target> =
            serde_norway::from_str("[aiko, {person: ben}, {schedule: primary}]").unwrap();
        assert_eq!(
            t,
            vec![
                Target::Person("aiko".into()),
                Target::Person("ben".into()),
                Target::Schedule("primary".into())
            ]
        );
        let back = serde_norway::to_string(&t).unwrap();
        let again: Vec<Target> = serde_norway::from_str(&back).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn unknown_target_kinds_are_rejected() {
        let e = serde_norway::from_str::<Vec<Target>>("[{team: x}]").unwrap_err();
        assert!(e.to_string().contains("unknown field `team`"), "{e}");
        let e = serde_norway::from_str::<Vec<Target>>("[{person: a, schedule: b}]").unwrap_err();
        assert!(e.to_string().contains("one person or one schedule"), "{e}");
    }
}
