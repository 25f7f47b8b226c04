//! Where a secret lives: the configuration names secrets (a Slack bot
//! token, a webhook URL, a signing key) and never holds them. A reference
//! is written `ssm:/klaxon/slack-token` (an SSM Parameter Store parameter,
//! read decrypted, so a SecureString works) or `secretsmanager:klaxon/hook`
//! (a Secrets Manager secret's name or ARN, its string value).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretRef {
    /// An SSM Parameter Store parameter (`/klaxon/slack-token`).
    Ssm(String),
    /// A Secrets Manager secret, by name or ARN.
    SecretsManager(String),
}

impl SecretRef {
    /// The parameter's or secret's name, without its store.
    pub fn name(&self) -> &str {
        match self {
            Self::Ssm(n) | Self::SecretsManager(n) => n,
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ssm(n) => write!(f, "ssm:{n}"),
            Self::SecretsManager(n) => write!(f, "secretsmanager:{n}"),
        }
    }
}

impl FromStr for SecretRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (store, name) = s.split_once(':').ok_or_else(|| {
            format!("`{s}` names no store: write ssm:/path/to/parameter or secretsmanager:name")
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!(
                "`{s}` names no parameter or secret after `{store}:`"
            ));
        }
        if name.chars().any(char::is_whitespace) {
            return Err(format!("`{s}`: a secret's name has no spaces"));
        }
        match store {
            "ssm" => Ok(Self::Ssm(name.to_string())),
            "secretsmanager" => Ok(Self::SecretsManager(name.to_string())),
            other => Err(format!(
                "`{other}` is not a secret store: use ssm: (Parameter Store) or secretsmanager:"
            )),
        }
    }
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for SecretRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(ssm|secretsmanager):\\S+$",
            "description": "A secret's place: ssm:/parameter/name (Parameter Store, SecureString allowed) or secretsmanager:name-or-arn"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_their_store_and_round_trip() {
        for text in ["ssm:/klaxon/slack-token", "secretsmanager:klaxon/hook"] {
            let r: SecretRef = text.parse().unwrap();
            assert_eq!(r.to_string(), text);
        }
        assert_eq!(
            "ssm:/a".parse::<SecretRef>().unwrap(),
            SecretRef::Ssm("/a".into())
        );
    }

    #[test]
    fn a_reference_without_a_known_store_is_refused_with_the_fix() {
        let e = "/klaxon/token".parse::<SecretRef>().unwrap_err();
        assert!(e.contains("ssm:/path"), "{e}");
        let e = "vault:x".parse::<SecretRef>().unwrap_err();
        assert!(e.contains("not a secret store"), "{e}");
        assert!("ssm:".parse::<SecretRef>().is_err());
        assert!("ssm:/a b".parse::<SecretRef>().is_err());
    }
}
