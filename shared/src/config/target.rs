//! Escalation level targets: a person, or whoever is on call for a schedule.
//!
//! Written as a bare person id (`aiko`), `{person: aiko}` or
//! `{schedule: primary}`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
