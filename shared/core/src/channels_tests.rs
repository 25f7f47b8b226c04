use super::*;

fn number(n: &str, status: &str, caps: &[&str]) -> Origination {
    Origination {
        number: n.into(),
        status: status.into(),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
    }
}

fn configured() -> Vec<SmsNumber> {
    [("aiko", "+819012340001"), ("ben", "+14155550102")]
        .iter()
        .map(|(p, n)| SmsNumber {
            person: p.to_string(),
            number: n.to_string(),
        })
        .collect()
}

#[test]
fn an_active_sms_origination_number_is_ok_and_shown_masked() {
    let c = origination(
        "+14155550100",
        &[number("+14155550100", "ACTIVE", &["SMS", "VOICE"])],
    );
    assert_eq!(c.health, Health::Ok);
    assert!(c.message.starts_with("+14*****0100 is an ACTIVE"));
    assert!(!c.message.contains("+14155550100"));
    assert_eq!(no_origination().health, Health::Warning);
}

#[test]
fn an_origination_number_the_account_does_not_own_or_cannot_text_from_is_a_problem() {
    let missing = origination(
        "+14155550100",
        &[number("+14155550199", "ACTIVE", &["SMS"])],
    );
    assert_eq!(missing.health, Health::Problem);
    assert!(
        missing
            .message
            .contains("not among this account's 1 origination number(s)")
    );
    let pending = origination(
        "+14155550100",
        &[number("+14155550100", "PENDING", &["SMS"])],
    );
    assert_eq!(pending.health, Health::Problem);
    assert!(pending.message.contains("PENDING, not ACTIVE"));
    let voice = origination(
        "+14155550100",
        &[number("+14155550100", "ACTIVE", &["VOICE"])],
    );
    assert_eq!(voice.health, Health::Problem);
    assert!(voice.message.contains("cannot send SMS"));
}

#[test]
fn in_the_sms_sandbox_each_unverified_configured_number_is_a_problem_masked() {
    let c = sms_sandbox(true, &["+819012340001".to_string()], Some(&configured()));
    assert_eq!(c.health, Health::Problem);
    assert!(c.is_broken());
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
    let c = sms_sandbox(true, &verified, Some(&configured()));
    assert_eq!(c.health, Health::Warning);
    assert!(!c.is_broken());
    assert!(
        c.message
            .contains("all 2 configured number(s) are verified")
    );
    assert!(c.fix.unwrap().contains("production access"));
}

#[test]
fn out_of_the_sms_sandbox_is_ok_and_without_a_configuration_the_sandbox_is_a_warning() {
    assert_eq!(
        sms_sandbox(false, &[], Some(&configured())).health,
        Health::Ok
    );
    assert_eq!(sms_sandbox(true, &[], None).health, Health::Warning);
    assert_eq!(sandbox_unlisted("boom").health, Health::Warning);
}

#[test]
fn the_default_one_dollar_sms_spend_limit_is_a_warning_and_a_higher_one_is_ok() {
    assert_eq!(sms_spend(None, None).health, Health::Warning);
    assert!(
        sms_spend(None, None)
            .message
            .contains("1 USD for a new account")
    );
    assert_eq!(sms_spend(Some("1"), None).health, Health::Warning);
    assert_eq!(sms_spend(Some("0.5"), None).health, Health::Warning);
    assert_eq!(sms_spend(Some("lots"), None).health, Health::Warning);
    let ok = sms_spend(Some("50"), None);
    assert_eq!(ok.health, Health::Ok);
    assert_eq!(ok.message, "monthly SMS spend limit: 50 USD");
    let spent = sms_spend(Some("50"), Some(12.345));
    assert_eq!(spent.health, Health::Ok);
    assert_eq!(
        spent.message,
        "monthly SMS spend limit: 50 USD, 12.35 USD spent this month"
    );
}

#[test]
fn a_month_that_spent_its_sms_limit_is_a_problem_because_sns_stops_sending() {
    let at = sms_spend(Some("50"), Some(50.0));
    assert_eq!(at.health, Health::Problem);
    assert!(
        at.message
            .contains("has reached the monthly limit (50 USD)"),
        "{}",
        at.message
    );
    assert_eq!(sms_spend(Some("50"), Some(49.99)).health, Health::Ok);
    // Without a limit set, the account's default (1 USD) is the limit.
    assert_eq!(sms_spend(None, Some(1.2)).health, Health::Problem);
    assert_eq!(sms_spend(Some(" "), Some(0.4)).health, Health::Warning);
}

fn identity(name: &str, verified: bool, status: &str) -> Identity {
    Identity {
        name: name.into(),
        verified_for_sending: verified,
        status: Some(status.into()),
    }
}

#[test]
fn a_sender_may_send_as_itself_or_its_domain() {
    assert_eq!(
        sender_identities("pages@example.com"),
        ["pages@example.com", "example.com"]
    );
    assert_eq!(sender_identities("nobody"), ["nobody"]);
}

#[test]
fn a_sender_can_send_when_it_or_its_domain_is_verified() {
    let by_domain = sender(
        "pages@example.com",
        &[identity("example.com", true, "SUCCESS")],
    );
    assert_eq!(by_domain.health, Health::Ok);
    assert!(
        by_domain
            .message
            .contains("identity example.com is verified")
    );
    let by_status = sender(
        "pages@example.com",
        &[identity("pages@example.com", false, "SUCCESS")],
    );
    assert_eq!(by_status.health, Health::Ok);
}

#[test]
fn a_sender_without_a_verified_identity_is_a_problem() {
    let pending = sender(
        "pages@example.com",
        &[identity("pages@example.com", false, "PENDING")],
    );
    assert_eq!(pending.health, Health::Problem);
    assert!(pending.message.contains("status PENDING"));
    let none = sender("pages@example.com", &[]);
    assert_eq!(none.health, Health::Problem);
    assert!(
        none.fix
            .unwrap()
            .contains("create-email-identity --email-identity pages@example.com")
    );
}

#[test]
fn no_sender_is_a_warning_unless_email_notifications_are_configured() {
    assert_eq!(no_sender(&[]).health, Health::Warning);
    let lists = ["board".to_string(), "execs".to_string()];
    let check = no_sender(&lists);
    assert_eq!(check.health, Health::Problem);
    assert!(
        check
            .message
            .contains("notifications board, execs send email")
    );
    assert!(check.fix.unwrap().contains("EmailFrom"));
}

#[test]
fn paused_ses_sending_is_a_problem_and_the_ses_sandbox_a_warning() {
    let account = |sending, production, enforcement: Option<&str>| SesAccount {
        sending_enabled: sending,
        production_access: production,
        enforcement: enforcement.map(str::to_string),
    };
    let paused = ses_account(&account(false, true, Some("SHUTDOWN")), Some(1));
    assert_eq!(paused.health, Health::Problem);
    assert!(paused.message.contains("SHUTDOWN"));
    let sandbox = ses_account(&account(true, false, Some("HEALTHY")), Some(1));
    assert_eq!(sandbox.health, Health::Warning);
    assert!(sandbox.message.contains("1 configured address(es)"));
    assert_eq!(
        ses_account(&account(true, true, None), None).health,
        Health::Ok
    );
    assert_eq!(ses_unused().health, Health::Ok);
}

fn chime(status: &str, outbound: Option<bool>) -> VoiceNumber {
    VoiceNumber {
        status: status.into(),
        outbound_call: outbound,
    }
}

#[test]
fn voice_rules_on_a_stack_without_a_voice_number_are_a_problem() {
    let hana = ["hana".to_string()];
    let c = voice(&hana, None);
    assert_eq!(c.health, Health::Problem);
    assert!(
        c.message.starts_with("hana have voice notification rules"),
        "{c:?}"
    );
    assert_eq!(voice(&[], None).health, Health::Ok);
}

#[test]
fn a_voice_number_that_is_assigned_and_calls_out_is_ok_and_shown_masked() {
    let assigned = chime("Assigned", Some(true));
    let c = voice(
        &["hana".to_string()],
        Some(("+12065550100", Some(&assigned))),
    );
    assert_eq!(c.health, Health::Ok);
    assert!(c.message.contains("+12*****0100"), "{c:?}");
    assert!(!c.message.contains("+12065550100"));
    let unassigned = chime("Unassigned", None);
    assert_eq!(
        voice(&[], Some(("+12065550100", Some(&unassigned)))).health,
        Health::Ok
    );
}

#[test]
fn a_voice_number_missing_released_or_unable_to_call_out_is_a_problem() {
    assert_eq!(
        voice(&[], Some(("+12065550100", None))).health,
        Health::Problem
    );
    for status in [
        "ReleaseInProgress",
        "DeleteInProgress",
        "AcquireFailed",
        "Cancelled",
    ] {
        let n = chime(status, Some(true));
        let c = voice(&[], Some(("+12065550100", Some(&n))));
        assert_eq!(c.health, Health::Problem, "{status}");
        assert!(c.message.contains(status));
    }
    let inbound_only = chime("Assigned", Some(false));
    assert_eq!(
        voice(&[], Some(("+12065550100", Some(&inbound_only)))).health,
        Health::Problem
    );
    let porting = chime("PortinInProgress", Some(true));
    assert_eq!(
        voice(&[], Some(("+12065550100", Some(&porting)))).health,
        Health::Warning
    );
}

#[test]
fn an_unanswered_read_breaks_the_channel_for_the_self_test() {
    let c = Finding::unchecked(SANDBOX, "the SMS sandbox", "AccessDenied", "grant it");
    assert_eq!(c.health, Health::Unchecked);
    assert!(c.is_broken());
    assert_eq!(c.message, "could not check the SMS sandbox: AccessDenied");
}
