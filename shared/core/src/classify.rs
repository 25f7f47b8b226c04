//! Severity, and the `key:value` tokens of alarm descriptions that routing
//! rules match on (`severity:critical`, `team:payments`). The rule engine
//! itself is [`crate::routing`].

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Incident severity, SEV1 (worst) to SEV4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Severity {
    #[serde(rename = "SEV1")]
    Sev1,
    #[serde(rename = "SEV2")]
    Sev2,
    #[serde(rename = "SEV3")]
    Sev3,
    #[serde(rename = "SEV4")]
    Sev4,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sev1 => "SEV1",
            Self::Sev2 => "SEV2",
            Self::Sev3 => "SEV3",
            Self::Sev4 => "SEV4",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Accepts `SEV1`..`SEV4`, `1`..`4`, and the PagerDuty-style words
/// `critical`, `high`/`error`, `warning`/`medium`, `low`/`info`.
impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sev1" | "1" | "critical" => Ok(Self::Sev1),
            "sev2" | "2" | "high" | "error" => Ok(Self::Sev2),
            "sev3" | "3" | "warning" | "medium" => Ok(Self::Sev3),
            "sev4" | "4" | "low" | "info" => Ok(Self::Sev4),
            other => Err(format!(
                "'{other}' is not a severity (SEV1..SEV4, critical, high, warning, low)"
            )),
        }
    }
}

/// The description in Unicode NFKC form, so full-width text such as
/// `ｔｅａｍ：ｐａｙｍｅｎｔｓ` reads as `team:payments`. Borrows when the text
/// is already normalised (always the case for ASCII).
pub fn normalise_description(description: &str) -> Cow<'_, str> {
    match unicode_normalization::is_nfkc_quick(description.chars()) {
        unicode_normalization::IsNormalized::Yes => Cow::Borrowed(description),
        _ => Cow::Owned(description.nfkc().collect()),
    }
}

/// The `key:value` tokens of a description already passed through
/// [`normalise_description`], in order. Tokens are separated by whitespace
/// and split at the first `:`; non-alphanumeric characters are trimmed from
/// the start of the key and from both ends of the value (so `(team:payments),`
/// gives `team` / `payments`). Tokens whose key or value ends up empty are
/// skipped.
pub fn description_tokens(normalised: &str) -> impl Iterator<Item = (&str, &str)> {
    normalised.split_whitespace().filter_map(|token| {
        let (key, value) = token.split_once(':')?;
        let key = key.trim_start_matches(|c: char| !c.is_alphanumeric());
        let value = value.trim_matches(|c: char| !c.is_alphanumeric());
        (!key.is_empty() && !value.is_empty()).then_some((key, value))
    })
}

/// A description token key as compared: NFKC-normalised and lowercased.
pub fn token_key(key: &str) -> String {
    key.nfkc().flat_map(char::to_lowercase).collect()
}

/// Whether a token key from [`description_tokens`] equals `wanted`, ignoring
/// case. `wanted` must already be in [`token_key`] form. Does not allocate.
pub fn token_key_is(key: &str, wanted: &str) -> bool {
    key.chars().flat_map(char::to_lowercase).eq(wanted.chars())
}

/// Finds `severity:<value>` in an alarm description (case-insensitive key;
/// full-width forms such as `ｓｅｖｅｒｉｔｙ：ｃｒｉｔｉｃａｌ` are normalised
/// first). Returns the first token that names a valid severity.
pub fn severity_token(description: &str) -> Option<Severity> {
    let normalised = normalise_description(description);
    description_tokens(&normalised)
        .filter(|(key, _)| token_key_is(key, "severity"))
        .find_map(|(_, value)| value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_tokens_accept_many_spellings() {
        assert_eq!(severity_token("SEVERITY:SEV4"), Some(Severity::Sev4));
        assert_eq!(severity_token("x severity:2 y"), Some(Severity::Sev2));
        assert_eq!(severity_token("severity:warning."), Some(Severity::Sev3));
        assert_eq!(
            severity_token("severity:bogus severity:low"),
            Some(Severity::Sev4)
        );
        assert_eq!(severity_token("no token here"), None);
        assert_eq!(
            severity_token("決済の障害　severity：critical"),
            Some(Severity::Sev1)
        );
        assert_eq!(severity_token("mysevere:1"), None);
        assert_eq!(severity_token("(Severity:\"high\")"), Some(Severity::Sev2));
    }

    #[test]
    fn description_tokens_are_normalised_and_trimmed() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("team:payments", &[("team", "payments")]),
            ("Owner: team:a,b, x:y.", &[("team", "a,b"), ("x", "y")]),
            (
                "(team:payments), [env:prod]",
                &[("team", "payments"), ("env", "prod")],
            ),
            (
                "ｔｅａｍ：ｐａｙｍｅｎｔｓ　ＥＮＶ：ｐｒｏｄ",
                &[("team", "payments"), ("ENV", "prod")],
            ),
            ("チーム:決済。", &[("チーム", "決済")]),
            ("url:https://x.example/a", &[("url", "https://x.example/a")]),
            (":x key: a:b:c", &[("a", "b:c")]),
            ("no tokens here", &[]),
        ];
        for (description, want) in cases {
            let normalised = normalise_description(description);
            let got: Vec<(&str, &str)> = description_tokens(&normalised).collect();
            assert_eq!(&got, want, "{description}");
        }
    }

    #[test]
    fn token_keys_compare_without_case() {
        assert!(token_key_is("TEAM", &token_key("team")));
        assert!(token_key_is("team", &token_key("ＴＥＡＭ")));
        assert!(token_key_is("Ärger", &token_key("ärger")));
        assert!(!token_key_is("teams", &token_key("team")));
        assert!(matches!(
            normalise_description("plain ascii"),
            Cow::Borrowed(_)
        ));
    }
}
