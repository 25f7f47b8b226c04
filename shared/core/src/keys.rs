//! Maps read from the configuration must not repeat a key: serde keeps the
//! last of two entries with one key, so a second `alice:` under `people`
//! would silently replace the first.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, Visitor};

/// Deserializes a map whose keys must be unique (`#[serde(deserialize_with
/// = "crate::keys::unique")]`); a repeated key is an error naming it.
pub fn unique<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(PhantomData<V>);

    impl<'de, V: Deserialize<'de>> Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(A::Error::custom(format!(
                        "duplicate key '{key}': each may appear once"
                    )));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_map(Unique(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Doc {
        #[serde(deserialize_with = "unique")]
        people: BTreeMap<String, u32>,
    }

    #[test]
    fn a_repeated_key_is_an_error_naming_it() {
        let err = serde_norway::from_str::<Doc>("people:\n  alice: 1\n  bob: 2\n  alice: 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate key 'alice'"), "{err}");
        let doc: Doc = serde_norway::from_str("people: {alice: 1, bob: 2}").unwrap();
        assert_eq!(doc.people.len(), 2);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_still_reported_as_such() {
        let err = serde_norway::from_str::<Doc>("people: [alice]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid type: sequence, expected a map"),
            "{err}"
        );
    }
}
