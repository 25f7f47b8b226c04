//! The configuration validation `klaxon config validate` runs: the
//! functions' own validation plus the numbering-plan check of every phone
//! number (CLI only). `klaxon doctor` runs it on the applied document.

use klaxon_config::{ConfigError, OncallConfig, RawConfig};

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

/// What `klaxon config validate --stack` finds wrong with the secrets the
/// notifications name: each that does not exist (or cannot be looked up),
/// as `notifications.<id>.<field>: <why>`, checked without reading a
/// value; and how many were checked.
pub async fn secret_problems(
    config: &OncallConfig,
    secrets: &impl klaxon_ports::Secrets,
) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (id, spec) in &config.raw.notifications {
        for (field, secret) in spec.secrets() {
            checked += 1;
            let problem = match secrets.exists(secret).await {
                Ok(true) => continue,
                Ok(false) => format!("{secret} does not exist"),
                Err(e) => e.to_string(),
            };
            problems.push(format!("notifications.{id}.{field}: {problem}"));
        }
    }
    (checked, problems)
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

    #[tokio::test]
    async fn every_named_secret_that_is_missing_or_unreadable_is_a_problem_naming_its_field() {
        let config = validate_document(&format!(
            "{}\nnotifications:\n  s: {{type: slack, channel: C0A, token: \"ssm:/klaxon/token\"}}\n  w: {{type: webhook, url: \"secretsmanager:klaxon/url\", signing_key: \"secretsmanager:klaxon/key\"}}\n",
            klaxon_testing::CONFIG
        ))
        .unwrap();
        let secrets = klaxon_testing::FakeSecrets::new();
        secrets.put("ssm:/klaxon/token", "xoxb-1");
        secrets.put("secretsmanager:klaxon/url", "https://example.com/hook");
        secrets.fail(klaxon_ports::SecretError::Denied {
            secret: "secretsmanager:klaxon/url".parse().unwrap(),
            message: "AccessDeniedException".into(),
        });
        let (checked, problems) = secret_problems(&config, &secrets).await;
        assert_eq!(checked, 3);
        assert_eq!(
            problems,
            [
                "notifications.w.url: secretsmanager:klaxon/url cannot be read: AccessDeniedException",
                "notifications.w.signing_key: secretsmanager:klaxon/key does not exist",
            ]
        );
        assert_eq!(secrets.reads(), 0, "no value is read");
    }
}
