//! The channel checks against the fake account, with the test world's
//! configuration (Aiko: SMS +819012340001 and email; Ben: SMS +14155550102).

use super::*;
use klaxon_core::channels::{Health, Identity, VoiceNumber};
use klaxon_testing::{CONFIG, FakeDeliveryChannels, permanent};

fn config() -> OncallConfig {
    OncallConfig::from_yaml(CONFIG).unwrap()
}

fn stack(email_from: Setting, voice_from: Setting) -> StackChannels {
    StackChannels {
        origination: Setting::Empty,
        email_from,
        voice_from,
    }
}

fn now() -> Timestamp {
    "2026-12-07T09:00:00Z".parse().unwrap()
}

async fn findings(c: &FakeDeliveryChannels, stack: &StackChannels) -> Vec<Finding> {
    check(c, stack, Some(&config()), now()).await
}

fn finding<'f>(all: &'f [Finding], name: &str) -> &'f Finding {
    all.iter().find(|f| f.check == name).unwrap()
}

fn verified(name: &str) -> Identity {
    Identity {
        name: name.into(),
        verified_for_sending: true,
        status: Some("SUCCESS".into()),
    }
}

#[tokio::test]
async fn a_healthy_account_breaks_no_channel_and_every_check_is_reported_in_order() {
    // GIVEN an account out of the SMS sandbox, with a 50 USD limit and a
    // verified sender domain
    let c = FakeDeliveryChannels::default();
    c.update(|s| {
        s.spend_limit = Some("50".into());
        s.identities
            .insert("example.com".into(), verified("example.com"));
    });
    // WHEN the channels are checked
    let all = findings(
        &c,
        &stack(Setting::Set("pages@example.com".into()), Setting::Empty),
    )
    .await;
    // THEN none is broken (no origination number is only a warning)
    let names: Vec<&str> = all.iter().map(|f| f.check).collect();
    assert_eq!(
        names,
        [
            "sms-origination-number",
            "sms-sandbox",
            "sms-spend-limit",
            "email-sender",
            "ses-account",
            "voice-number"
        ]
    );
    assert!(all.iter().all(|f| !f.is_broken()), "{all:#?}");
    assert_eq!(
        finding(&all, "sms-origination-number").health,
        Health::Warning
    );
    assert_eq!(finding(&all, "email-sender").health, Health::Ok);
}

#[tokio::test]
async fn in_the_sms_sandbox_a_configured_number_not_verified_breaks_sms() {
    // GIVEN the account in the sandbox with only Aiko's number verified,
    // and Ben's pending
    let c = FakeDeliveryChannels::default();
    c.update(|s| {
        s.in_sandbox = true;
        s.sandbox = vec![
            ("+819012340001".into(), true),
            ("+14155550102".into(), false),
        ];
    });
    // WHEN the channels are checked
    let all = findings(&c, &stack(Setting::Empty, Setting::Empty)).await;
    // THEN the sandbox is a problem that names Ben, masked
    let sandbox = finding(&all, "sms-sandbox");
    assert_eq!(sandbox.health, Health::Problem);
    assert!(
        sandbox.message.contains("\nben +14*****0102"),
        "{}",
        sandbox.message
    );
}

#[tokio::test]
async fn an_account_that_cannot_be_asked_is_unchecked_not_healthy() {
    // GIVEN SNS refusing the sandbox read and SES its account read
    let c = FakeDeliveryChannels::default();
    c.fail(
        "GetSMSSandboxAccountStatus",
        permanent("GetSMSSandboxAccountStatus"),
    );
    c.fail("GetAccount", permanent("GetAccount"));
    // WHEN the channels are checked with a sender
    let all = findings(
        &c,
        &stack(Setting::Set("pages@example.com".into()), Setting::Empty),
    )
    .await;
    // THEN both are unchecked, saying which read failed
    let sandbox = finding(&all, "sms-sandbox");
    assert_eq!(sandbox.health, Health::Unchecked);
    assert!(sandbox.message.contains("GetSMSSandboxAccountStatus"));
    assert!(sandbox.message.contains("injected permanent failure"));
    assert_eq!(finding(&all, "ses-account").health, Health::Unchecked);
}

#[tokio::test]
async fn a_stack_without_a_sender_never_asks_ses() {
    // GIVEN SES refusing every read
    let c = FakeDeliveryChannels::default();
    c.fail("GetAccount", permanent("GetAccount"));
    c.fail("GetEmailIdentity", permanent("GetEmailIdentity"));
    // WHEN a stack without EmailFrom is checked
    let all = findings(&c, &stack(Setting::Empty, Setting::Empty)).await;
    // THEN email is unused, not unchecked
    assert_eq!(finding(&all, "ses-account").health, Health::Ok);
    assert_eq!(finding(&all, "email-sender").health, Health::Warning);
}

#[tokio::test]
async fn a_sender_without_an_identity_and_paused_ses_sending_break_email() {
    // GIVEN no identity for the sender, and SES sending paused
    let c = FakeDeliveryChannels::default();
    c.update(|s| {
        s.ses.sending_enabled = false;
        s.ses.enforcement = Some("SHUTDOWN".into());
    });
    // WHEN the channels are checked
    let all = findings(
        &c,
        &stack(Setting::Set("pages@example.com".into()), Setting::Empty),
    )
    .await;
    // THEN both email checks are problems
    assert_eq!(finding(&all, "email-sender").health, Health::Problem);
    let ses = finding(&all, "ses-account");
    assert_eq!(ses.health, Health::Problem);
    assert!(ses.message.contains("SHUTDOWN"));
}

#[tokio::test]
async fn a_month_at_its_sms_spend_limit_breaks_sms() {
    // GIVEN a 20 USD limit, spent this morning
    let c = FakeDeliveryChannels::default();
    c.update(|s| {
        s.spend_limit = Some("20".into());
        s.spent = vec![(now() - jiff::SignedDuration::from_hours(1), 20.01)];
    });
    // WHEN the channels are checked
    let all = findings(&c, &stack(Setting::Empty, Setting::Empty)).await;
    // THEN spend is a problem
    assert_eq!(finding(&all, "sms-spend-limit").health, Health::Problem);
}

#[tokio::test]
async fn the_voice_number_is_asked_of_the_chime_sdk() {
    // GIVEN a voice number being released
    let c = FakeDeliveryChannels::default();
    c.update(|s| {
        s.voice.insert(
            "+12065550100".into(),
            VoiceNumber {
                status: "ReleaseInProgress".into(),
                outbound_call: Some(true),
            },
        );
    });
    let voice = Setting::Set("+12065550100".into());
    // WHEN the channels are checked
    let all = findings(&c, &stack(Setting::Empty, voice.clone())).await;
    // THEN voice is a problem
    assert_eq!(finding(&all, "voice-number").health, Health::Problem);
    // AND a number the account does not have is one too
    let other = findings(
        &c,
        &stack(Setting::Empty, Setting::Set("+12065550199".into())),
    )
    .await;
    assert_eq!(finding(&other, "voice-number").health, Health::Problem);
    // AND a Chime SDK that does not answer leaves voice unchecked
    c.fail("GetPhoneNumber", permanent("GetPhoneNumber"));
    let all = findings(&c, &stack(Setting::Empty, voice)).await;
    assert_eq!(finding(&all, "voice-number").health, Health::Unchecked);
}

#[test]
fn configured_numbers_email_lists_and_voice_callers_come_from_the_configuration() {
    let config = config();
    let numbers: Vec<(String, String)> = sms_numbers(&config)
        .into_iter()
        .map(|n| (n.person, n.number))
        .collect();
    assert_eq!(
        numbers,
        [
            ("aiko".to_string(), "+819012340001".to_string()),
            ("ben".to_string(), "+14155550102".to_string())
        ]
    );
    assert_eq!(email_count(&config), 1);
    assert!(email_lists(Some(&config)).is_empty());
    assert!(voice_callers(&config).is_empty());
    assert_eq!(Setting::from_env(Some(" ")), Setting::Empty);
    assert_eq!(Setting::from_env(None), Setting::Empty);
    assert_eq!(
        Setting::from_env(Some("+14155550100")),
        Setting::Set("+14155550100".into())
    );
}
