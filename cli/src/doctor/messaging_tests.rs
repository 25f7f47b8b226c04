use super::*;
use crate::doctor::Status;

fn config() -> OncallConfig {
    OncallConfig::from_yaml(yaml_source()).unwrap()
}

/// The configuration of these tests, as YAML.
fn yaml_source() -> &'static str {
    r#"
version: 1
people:
  aiko: {name: Aiko, phone: "+819012340001", email: aiko@example.com}
  ben: {name: Ben, phone: "+14155550102"}
services:
  checkout: {escalation_policy: default}
escalation_policies:
  default:
    levels:
      - {targets: [aiko, ben], timeout_minutes: 5}
routing:
  default: {service: checkout, severity: SEV2}
"#
}

fn number(n: &str, status: &str, caps: &[&str]) -> Origination {
    Origination {
        number: n.into(),
        status: status.into(),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn an_active_sms_origination_number_is_ok_and_shown_masked() {
    let c = origination_check(
        "+14155550100",
        &[number("+14155550100", "ACTIVE", &["SMS", "VOICE"])],
    );
    assert_eq!(c.status, Status::Ok);
    assert!(c.message.starts_with("+14*****0100 is an ACTIVE"));
    assert!(!c.message.contains("+14155550100"));
}

#[test]
fn an_origination_number_the_account_does_not_own_or_cannot_text_from_is_a_problem() {
    let missing = origination_check(
        "+14155550100",
        &[number("+14155550199", "ACTIVE", &["SMS"])],
    );
    assert_eq!(missing.status, Status::Problem);
    assert!(
        missing
            .message
            .contains("not among this account's 1 origination number(s)")
    );

    let pending = origination_check(
        "+14155550100",
        &[number("+14155550100", "PENDING", &["SMS"])],
    );
    assert_eq!(pending.status, Status::Problem);
    assert!(pending.message.contains("PENDING, not ACTIVE"));

    let voice = origination_check(
        "+14155550100",
        &[number("+14155550100", "ACTIVE", &["VOICE"])],
    );
    assert_eq!(voice.status, Status::Problem);
    assert!(voice.message.contains("cannot send SMS"));
}

#[test]
fn in_the_sms_sandbox_each_unverified_configured_number_is_a_problem_masked() {
    let c = sandbox_check(true, Some(&config()), &["+819012340001".to_string()]);
    assert_eq!(c.status, Status::Problem);
    assert!(
        c.message
            .contains("1 configured number(s) are not verified")
    );
    assert!(c.message.contains("\nben +14*****0102"), "{}", c.message);
    assert!(!c.message.contains("aiko"));
    assert!(!c.message.contains("+14155550102"));
}

#[test]
fn in_the_sms_sandbox_with_every_number_verified_it_is_only_a_warning() {
    let verified = ["+819012340001".to_string(), "+14155550102".to_string()];
    let c = sandbox_check(true, Some(&config()), &verified);
    assert_eq!(c.status, Status::Warning);
    assert!(
        c.message
            .contains("all 2 configured number(s) are verified")
    );
    assert!(c.fix.unwrap().contains("production access"));
}

#[test]
fn out_of_the_sms_sandbox_is_ok_and_without_a_configuration_the_sandbox_is_a_warning() {
    assert_eq!(
        sandbox_check(false, Some(&config()), &[]).status,
        Status::Ok
    );
    assert_eq!(sandbox_check(true, None, &[]).status, Status::Warning);
}

#[test]
fn the_default_one_dollar_sms_spend_limit_is_a_warning_and_a_higher_one_is_ok() {
    assert_eq!(spend_limit_check(None).status, Status::Warning);
    assert!(
        spend_limit_check(None)
            .message
            .contains("1 USD for a new account")
    );
    assert_eq!(spend_limit_check(Some("1")).status, Status::Warning);
    assert_eq!(spend_limit_check(Some("0.5")).status, Status::Warning);
    assert_eq!(spend_limit_check(Some("lots")).status, Status::Warning);
    let ok = spend_limit_check(Some("50"));
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(ok.message, "monthly SMS spend limit: 50 USD");
}

fn identity(name: &str, verified: bool, status: &str) -> Identity {
    Identity {
        name: name.into(),
        verified_for_sending: verified,
        status: Some(status.into()),
    }
}

#[test]
fn a_sender_can_send_when_it_or_its_domain_is_verified() {
    let by_domain = sender_check(
        "pages@example.com",
        &[identity("example.com", true, "SUCCESS")],
    );
    assert_eq!(by_domain.status, Status::Ok);
    assert!(
        by_domain
            .message
            .contains("identity example.com is verified")
    );
    let by_status = sender_check(
        "pages@example.com",
        &[identity("pages@example.com", false, "SUCCESS")],
    );
    assert_eq!(by_status.status, Status::Ok);
}

#[test]
fn a_sender_without_a_verified_identity_is_a_problem() {
    let pending = sender_check(
        "pages@example.com",
        &[identity("pages@example.com", false, "PENDING")],
    );
    assert_eq!(pending.status, Status::Problem);
    assert!(pending.message.contains("status PENDING"));

    let none = sender_check("pages@example.com", &[]);
    assert_eq!(none.status, Status::Problem);
    assert!(
        none.fix
            .unwrap()
            .contains("create-email-identity --email-identity pages@example.com")
    );
}

#[test]
fn no_sender_is_a_warning_unless_email_notifications_are_configured() {
    let plain = no_sender(Some(&config()));
    assert_eq!(plain.status, Status::Warning);
    assert_eq!(no_sender(None).status, Status::Warning);

    let yaml = format!(
        "{}notifications:
  execs: {{type: email, to: [exec@example.com]}}
  board: {{type: email, to: [board@example.com]}}
  partner: {{type: webhook, url: \"ssm:/klaxon/partner-url\", signing_key: \"ssm:/klaxon/partner-key\"}}
",
        yaml_source()
    );
    let with_lists = OncallConfig::from_yaml(&yaml).unwrap();
    let check = no_sender(Some(&with_lists));
    assert_eq!(check.status, Status::Problem);
    assert!(
        check
            .message
            .contains("notifications board, execs send email"),
        "{}",
        check.message
    );
    assert!(check.fix.unwrap().contains("EmailFrom"));
}

#[test]
fn paused_ses_sending_is_a_problem_and_the_ses_sandbox_a_warning() {
    let paused = ses_account_check(false, true, Some("SHUTDOWN"), Some(1));
    assert_eq!(paused.status, Status::Problem);
    assert!(paused.message.contains("SHUTDOWN"));

    let sandbox = ses_account_check(true, false, Some("HEALTHY"), Some(1));
    assert_eq!(sandbox.status, Status::Warning);
    assert!(sandbox.message.contains("1 configured address(es)"));

    assert_eq!(ses_account_check(true, true, None, None).status, Status::Ok);
}

#[test]
fn the_configured_email_addresses_are_counted() {
    assert_eq!(email_count(&config()), 1);
}
