//! Checks of the account's messaging: the SMS origination number, the SMS
//! sandbox and spend limit (SNS), the email sender and the SES account.

use klaxon::config::OncallConfig;
use klaxon::core::incident::Channel;
use klaxon::core::notify::DestinationKind;
use klaxon::core::phone::mask;
use klaxon::core::routing::Urgency;

use super::{Check, Clients, Setting, sms_numbers};
use crate::aws_error::describe;

/// One origination number of the account, as SNS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origination {
    pub number: String,
    pub status: String,
    pub capabilities: Vec<String>,
}

const ORIGINATION: &str = "sms-origination-number";

pub(super) async fn origination_number(clients: &Clients, setting: &Setting) -> Check {
    let number = match setting {
        Setting::Set(n) => n,
        Setting::Empty => {
            return Check::warning(
                ORIGINATION,
                "the stack has no SmsOriginationNumber: SNS sends pages from a number it picks, and replies (ACK) cannot reach Klaxon",
                "get a phone number in AWS End User Messaging SMS, give it two-way SMS with the InboundSmsTopicArn output as destination, and deploy with SmsOriginationNumber=<number>",
            );
        }
        Setting::Unknown(why) => {
            return Check::warning(
                ORIGINATION,
                format!("could not learn the stack's SMS origination number: {why}"),
                "pass --origination-number <E.164 number> to check it",
            );
        }
    };
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = match clients
            .sns
            .list_origination_numbers()
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                return Check::could_not_check(
                    ORIGINATION,
                    &format!(
                        "whether {} is an origination number of this account (SNS ListOriginationNumbers)",
                        mask(number)
                    ),
                    &describe(&e),
                    "check it in the AWS End User Messaging SMS console (Phone numbers)",
                );
            }
        };
        for n in out.phone_numbers() {
            listed.push(Origination {
                number: n.phone_number().unwrap_or_default().to_string(),
                status: n.status().unwrap_or_default().to_string(),
                capabilities: n
                    .number_capabilities()
                    .iter()
                    .map(|c| c.as_str().to_string())
                    .collect(),
            });
        }
        match out.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    origination_check(number, &listed)
}

pub(crate) fn origination_check(number: &str, listed: &[Origination]) -> Check {
    let masked = mask(number);
    let Some(found) = listed.iter().find(|o| o.number == number) else {
        return Check::problem(
            ORIGINATION,
            format!(
                "{masked} is not among this account's {} origination number(s) in this region (SNS ListOriginationNumbers): SMS from it will fail",
                listed.len()
            ),
            "use a number this account owns in this region (AWS End User Messaging SMS → Phone numbers) as SmsOriginationNumber",
        );
    };
    if !found.status.eq_ignore_ascii_case("ACTIVE") {
        return Check::problem(
            ORIGINATION,
            format!(
                "{masked} is {}, not ACTIVE: SMS from it will fail",
                found.status
            ),
            "wait for the number's registration to finish, or use another number (AWS End User Messaging SMS → Phone numbers)",
        );
    }
    if !found
        .capabilities
        .iter()
        .any(|c| c.eq_ignore_ascii_case("SMS"))
    {
        return Check::problem(
            ORIGINATION,
            format!(
                "{masked} cannot send SMS (capabilities: {})",
                found.capabilities.join(", ")
            ),
            "use a number with the SMS capability as SmsOriginationNumber",
        );
    }
    Check::ok(
        ORIGINATION,
        format!(
            "{masked} is an ACTIVE origination number that sends SMS (whether its two-way SMS reaches the InboundSmsTopic cannot be read from SNS: see End User Messaging)"
        ),
    )
}

const SANDBOX: &str = "sms-sandbox";

pub(super) async fn sms_sandbox(clients: &Clients, config: Option<&OncallConfig>) -> Check {
    let in_sandbox = match clients.sns.get_sms_sandbox_account_status().send().await {
        Ok(out) => out.is_in_sandbox(),
        Err(e) => {
            return Check::could_not_check(
                SANDBOX,
                "the SMS sandbox status (SNS GetSMSSandboxAccountStatus)",
                &describe(&e),
                "check it in the SNS console (Mobile → Text messaging (SMS) → Account information)",
            );
        }
    };
    if !in_sandbox {
        return sandbox_check(false, config, &[]);
    }
    let mut verified = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = match clients
            .sns
            .list_sms_sandbox_phone_numbers()
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                return Check::warning(
                    SANDBOX,
                    format!(
                        "the account is in the SMS sandbox (only verified numbers receive SMS), and its verified numbers could not be listed: {}",
                        describe(&e)
                    ),
                    "compare the configured numbers with the SNS console's sandbox destination phone numbers, or request production access",
                );
            }
        };
        for n in out.phone_numbers() {
            if n.status().is_some_and(|s| s.as_str() == "Verified")
                && let Some(number) = n.phone_number()
            {
                verified.push(number.to_string());
            }
        }
        match out.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    sandbox_check(true, config, &verified)
}

/// In the sandbox, every configured SMS number must be verified.
pub(crate) fn sandbox_check(
    in_sandbox: bool,
    config: Option<&OncallConfig>,
    verified: &[String],
) -> Check {
    const EXIT: &str =
        "request production access (SNS console → Text messaging (SMS) → Exit SMS sandbox)";
    if !in_sandbox {
        return Check::ok(SANDBOX, "the account is out of the SMS sandbox");
    }
    let Some(config) = config else {
        return Check::warning(
            SANDBOX,
            format!(
                "the account is in the SMS sandbox: only its {} verified number(s) receive SMS (no valid applied configuration to compare with)",
                verified.len()
            ),
            EXIT,
        );
    };
    let configured = sms_numbers(config);
    let unverified: Vec<&(String, String)> = configured
        .iter()
        .filter(|(_, n)| !verified.contains(n))
        .collect();
    if unverified.is_empty() {
        return Check::warning(
            SANDBOX,
            format!(
                "the account is in the SMS sandbox: all {} configured number(s) are verified, but a number added later gets no SMS until it is",
                configured.len()
            ),
            EXIT,
        );
    }
    let mut message = format!(
        "the account is in the SMS sandbox: only verified numbers receive SMS, and {} configured number(s) are not verified:",
        unverified.len()
    );
    for (person, number) in unverified {
        message.push_str(&format!("\n{person} {}", mask(number)));
    }
    Check::problem(
        SANDBOX,
        message,
        format!(
            "{EXIT}, or verify each number (aws sns create-sms-sandbox-phone-number --phone-number <number>, then verify-sms-sandbox-phone-number)"
        ),
    )
}

const SPEND: &str = "sms-spend-limit";

pub(super) async fn sms_spend_limit(clients: &Clients) -> Check {
    match clients
        .sns
        .get_sms_attributes()
        .attributes("MonthlySpendLimit")
        .send()
        .await
    {
        Ok(out) => spend_limit_check(
            out.attributes()
                .and_then(|a| a.get("MonthlySpendLimit"))
                .map(String::as_str),
        ),
        Err(e) => Check::could_not_check(
            SPEND,
            "the monthly SMS spend limit (SNS GetSMSAttributes)",
            &describe(&e),
            "check it in the SNS console (Text messaging (SMS) → Text messaging preferences)",
        ),
    }
}

/// A new account's SMS spend limit, in USD.
const DEFAULT_SPEND_LIMIT: f64 = 1.0;

pub(crate) fn spend_limit_check(value: Option<&str>) -> Check {
    const FIX: &str = "raise the SMS spend quota (Service Quotas, or a support case), then `aws sns set-sms-attributes --attributes MonthlySpendLimit=<USD>`; keep the stack's SmsSpendAlarmUSD below it";
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value.map(|v| (v, v.parse::<f64>())) {
        None => Check::warning(
            SPEND,
            "MonthlySpendLimit is not set: the account's default applies (1 USD for a new account); at the limit SNS stops sending SMS, pages included",
            FIX,
        ),
        Some((v, Err(_))) => Check::warning(
            SPEND,
            format!("MonthlySpendLimit is '{v}', not a number of USD"),
            FIX,
        ),
        Some((v, Ok(usd))) if usd <= DEFAULT_SPEND_LIMIT => Check::warning(
            SPEND,
            format!(
                "MonthlySpendLimit is {v} USD: a few dozen pages can reach it, and then SNS stops sending SMS, pages included"
            ),
            FIX,
        ),
        Some((v, Ok(_))) => Check::ok(SPEND, format!("monthly SMS spend limit: {v} USD")),
    }
}

/// An SES identity, as `GetEmailIdentity` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub name: String,
    pub verified_for_sending: bool,
    pub status: Option<String>,
}

const SENDER: &str = "email-sender";

pub(super) async fn email_sender(
    clients: &Clients,
    setting: &Setting,
    config: Option<&OncallConfig>,
) -> Check {
    let address = match setting {
        Setting::Set(a) => a,
        Setting::Empty => return no_sender(config),
        Setting::Unknown(why) => {
            return Check::warning(
                SENDER,
                format!("could not learn the stack's email sender: {why}"),
                "pass --email-from <address> to check it",
            );
        }
    };
    // An address can send when it, or its domain, is a verified identity.
    let mut identities = Vec::new();
    let domain = address.rsplit_once('@').map(|(_, d)| d.to_string());
    for name in std::iter::once(address.clone()).chain(domain) {
        match clients
            .sesv2
            .get_email_identity()
            .email_identity(&name)
            .send()
            .await
        {
            Ok(out) => identities.push(Identity {
                name,
                verified_for_sending: out.verified_for_sending_status(),
                status: out.verification_status().map(|s| s.as_str().to_string()),
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_not_found_exception()) => {}
            Err(e) => {
                return Check::could_not_check(
                    SENDER,
                    &format!("the SES identity of {name} (SESv2 GetEmailIdentity)"),
                    &describe(&e),
                    "check it in the SES console (Configuration → Identities)",
                );
            }
        }
    }
    sender_check(address, &identities)
}

/// The stack has no EmailFrom: a warning, unless the configuration sends
/// `email` notifications, which then all fail.
pub(crate) fn no_sender(config: Option<&OncallConfig>) -> Check {
    const FIX: &str = "verify a sender in SES (aws sesv2 create-email-identity --email-identity pages@example.com) and deploy with EmailFrom=<address>";
    let lists: Vec<&str> = config
        .map(|c| {
            c.raw
                .notifications
                .iter()
                .filter(|(_, spec)| spec.kind == DestinationKind::Email)
                .map(|(id, _)| id.as_str())
                .collect()
        })
        .unwrap_or_default();
    if lists.is_empty() {
        return Check::warning(
            SENDER,
            "the stack has no EmailFrom: email notification rules leave a warning on the timeline and send nothing",
            FIX,
        );
    }
    Check::problem(
        SENDER,
        format!(
            "the stack has no EmailFrom, but notifications {} send email: every delivery to them fails (notification_failed on the timeline, and the undelivered-notifications queue)",
            lists.join(", ")
        ),
        FIX,
    )
}

pub(crate) fn sender_check(address: &str, identities: &[Identity]) -> Check {
    // VerificationStatus SUCCESS is the same fact (moto 5.2.5 sets only that one).
    if let Some(ok) = identities
        .iter()
        .find(|i| i.verified_for_sending || i.status.as_deref() == Some("SUCCESS"))
    {
        return Check::ok(
            SENDER,
            format!("{address} can send: SES identity {} is verified", ok.name),
        );
    }
    if let Some(pending) = identities.first() {
        return Check::problem(
            SENDER,
            format!(
                "SES identity {} exists but is not verified for sending (status {}): pages by email fail",
                pending.name,
                pending.status.as_deref().unwrap_or("unknown")
            ),
            "follow the link SES mailed to the address, or publish the domain's DKIM records (SES console → Identities)",
        );
    }
    Check::problem(
        SENDER,
        format!("no SES identity for {address} or its domain in this region: pages by email fail"),
        format!("aws sesv2 create-email-identity --email-identity {address}, then verify it"),
    )
}

const SES_ACCOUNT: &str = "ses-account";

pub(super) async fn ses_account(
    clients: &Clients,
    email_from: &Setting,
    config: Option<&OncallConfig>,
) -> Check {
    if *email_from == Setting::Empty {
        return Check::ok(SES_ACCOUNT, "not used: the stack sends no email");
    }
    match clients.sesv2.get_account().send().await {
        Ok(out) => ses_account_check(
            out.sending_enabled(),
            out.production_access_enabled(),
            out.enforcement_status(),
            config.map(email_count),
        ),
        Err(e) => Check::could_not_check(
            SES_ACCOUNT,
            "the SES account (SESv2 GetAccount)",
            &describe(&e),
            "check it in the SES console (Account dashboard)",
        ),
    }
}

fn email_count(config: &OncallConfig) -> usize {
    config
        .people
        .values()
        .flat_map(|p| p.contacts.iter())
        .filter(|c| c.channel == Channel::Email)
        .count()
}

pub(crate) fn ses_account_check(
    sending_enabled: bool,
    production_access: bool,
    enforcement: Option<&str>,
    configured_emails: Option<usize>,
) -> Check {
    if !sending_enabled {
        return Check::problem(
            SES_ACCOUNT,
            format!(
                "SES sending is paused for this account in this region (enforcement status {}): no page goes out by email",
                enforcement.unwrap_or("unknown")
            ),
            "SES console → Account dashboard: resolve the review, then resume sending",
        );
    }
    if !production_access {
        let who = configured_emails.map_or(String::new(), |n| {
            format!(" ({n} configured address(es) must each be a verified identity)")
        });
        return Check::warning(
            SES_ACCOUNT,
            format!(
                "the account is in the SES sandbox: email only reaches verified addresses{who}, at most 200 a day"
            ),
            "request production access (SES console → Account dashboard), or verify each recipient",
        );
    }
    Check::ok(SES_ACCOUNT, "SES production access, sending enabled")
}

#[cfg(test)]
#[path = "messaging_tests.rs"]
mod tests;

const VOICE: &str = "voice-number";

/// Voice pages need the stack's voice number; people with voice rules on a
/// stack without one are never rung.
pub(crate) fn voice_check(voice_from: &Setting, config: Option<&OncallConfig>) -> Check {
    let callers: Vec<&str> = config
        .map(|c| {
            c.people
                .values()
                .filter(|p| {
                    [Urgency::High, Urgency::Low]
                        .iter()
                        .any(|u| p.rules(*u).iter().any(|r| r.channel == Channel::Voice))
                })
                .map(|p| p.id.as_str())
                .collect()
        })
        .unwrap_or_default();
    match voice_from {
        Setting::Set(number) => Check::ok(
            VOICE,
            format!(
                "voice pages are called from {} ({} people have voice rules)",
                mask(number),
                callers.len()
            ),
        ),
        Setting::Empty if callers.is_empty() => {
            Check::ok(VOICE, "not used: no voice number and no voice rules")
        }
        Setting::Empty => Check::problem(
            VOICE,
            format!(
                "{} have voice notification rules but the stack has no VoiceFromNumber: their calls are only warnings on the timeline, no phone rings",
                callers.join(", ")
            ),
            "order an Amazon Chime SDK phone number (README: Voice pages) and deploy with VoiceFromNumber=<number>, or change those rules to sms",
        ),
        Setting::Unknown(why) => Check::could_not_check(
            VOICE,
            "the voice number",
            why,
            "check the escalator's KLAXON_VOICE_FROM_NUMBER in the Lambda console",
        ),
    }
}

#[cfg(test)]
mod voice_tests {
    use super::*;
    use crate::doctor::Status;

    fn config(rules: &str) -> OncallConfig {
        OncallConfig::from_yaml(&format!(
            "version: 1\npeople:\n  hana:\n    name: Hana\n    phone: \"+819012340001\"\n    notification_rules:\n      high: [{rules}]\nservices:\n  s: {{escalation_policy: p}}\nescalation_policies:\n  p:\n    levels: [{{targets: [hana], timeout_minutes: 10}}]\nrouting:\n  default: {{service: s, severity: SEV1}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn voice_rules_on_a_stack_without_a_voice_number_are_a_problem() {
        let voice = config("{channel: sms}, {channel: voice, after_minutes: 5}");
        let check = voice_check(&Setting::Empty, Some(&voice));
        assert_eq!(check.status, Status::Problem);
        assert!(
            check
                .message
                .starts_with("hana have voice notification rules"),
            "{check:?}"
        );
        let check = voice_check(&Setting::Set("+12065550100".into()), Some(&voice));
        assert_eq!(check.status, Status::Ok);
        assert!(check.message.contains("+12*****0100"), "{check:?}");
        let sms_only = config("{channel: sms}");
        assert_eq!(
            voice_check(&Setting::Empty, Some(&sms_only)).status,
            Status::Ok
        );
        assert_eq!(
            voice_check(&Setting::Unknown("no access".into()), Some(&voice)).status,
            Status::Warning
        );
    }
}
