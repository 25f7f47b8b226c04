//! The configuration validation `klaxon config validate` runs: the
//! functions' own validation plus the numbering-plan check of every phone
//! number (CLI only). `klaxon doctor` runs it on the applied document.

use klaxon::config::{ConfigError, OncallConfig, RawConfig};

/// Validates a parsed configuration. Numbers that no numbering plan allows
/// are reported together with every other problem, so one run lists them all.
pub fn validate_raw(raw: RawConfig) -> Result<OncallConfig, ConfigError> {
    let plan = raw.numbering_plan_issues();
    match OncallConfig::from_raw(raw) {
        Ok(config) if plan.is_empty() => Ok(config),
        Ok(_) => Err(ConfigError { issues: plan }),
        Err(mut e) => {
            e.issues.extend(plan);
            Err(e)
        }
    }
}

/// Parses and validates one YAML document (as stored in the config table).
pub fn validate_document(text: &str) -> Result<OncallConfig, ConfigError> {
    validate_raw(RawConfig::from_yaml(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
version: 1
people:
  aiko: {name: Aiko, phone: "+819012340001"}
services:
  checkout: {escalation_policy: default}
escalation_policies:
  default:
    levels:
      - {targets: [aiko], timeout_minutes: 5}
routing:
  default: {service: checkout, severity: SEV2}
"#;

    #[test]
    fn a_valid_document_validates() {
        let config = validate_document(VALID).unwrap();
        assert_eq!(config.people.len(), 1);
    }

    #[test]
    fn a_person_without_contact_and_a_number_no_plan_allows_are_both_reported() {
        let text = VALID.replace(
            r#"  aiko: {name: Aiko, phone: "+819012340001"}"#,
            "  aiko: {name: Aiko, phone: \"+999123456789\"}\n  ben: {name: Ben}",
        );
        let issues = validate_document(&text).unwrap_err().issues;
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"people.ben"), "{issues:?}");
        assert!(paths.contains(&"people.aiko.phone"), "{issues:?}");
    }
}
