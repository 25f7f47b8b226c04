//! Whether each delivery channel can reach a person, decided from what the
//! account says about it: SNS's SMS sandbox, spend and origination number,
//! SES's account and sender identity, the Chime SDK voice number.
//!
//! `klaxon doctor` shows every finding; the scheduled self-test fails when
//! one is a [`Health::Problem`] or could not be read ([`Health::Unchecked`]),
//! so a channel that breaks raises the self-test alarm before a page is
//! lost. Every decision here is pure: the reads are the `DeliveryChannels`
//! port's, and which numbers and addresses are configured is the caller's.

use serde::Serialize;

use super::phone::mask;

/// How a channel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    /// Works today, but a risk an operator should remove.
    Warning,
    /// Pages on this channel fail (or some people get none).
    Problem,
    /// The account could not be asked: nobody knows whether pages go out.
    Unchecked,
}

/// One finding about one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable, kebab-case: `sms-sandbox`, `email-sender`, ...
    pub check: &'static str,
    pub health: Health,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: &'static str, message: impl Into<String>) -> Self {
        Self {
            check,
            health: Health::Ok,
            message: message.into(),
            fix: None,
        }
    }

    pub fn warning(
        check: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            check,
            health: Health::Warning,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn problem(
        check: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            check,
            health: Health::Problem,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// The account did not answer: `what` names the read, `error` says why.
    pub fn unchecked(check: &'static str, what: &str, error: &str, fix: impl Into<String>) -> Self {
        Self {
            check,
            health: Health::Unchecked,
            message: format!("could not check {what}: {error}"),
            fix: Some(fix.into()),
        }
    }

    /// Whether pages on the channel may be failing (the self-test fails).
    pub fn is_broken(&self) -> bool {
        matches!(self.health, Health::Problem | Health::Unchecked)
    }
}

pub const ORIGINATION: &str = "sms-origination-number";
pub const SANDBOX: &str = "sms-sandbox";
pub const SPEND: &str = "sms-spend-limit";
pub const SENDER: &str = "email-sender";
pub const SES_ACCOUNT: &str = "ses-account";
pub const VOICE: &str = "voice-number";

/// One origination number of the account, as SNS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origination {
    pub number: String,
    pub status: String,
    pub capabilities: Vec<String>,
}

/// The stack's origination number against the account's numbers.
pub fn origination(number: &str, listed: &[Origination]) -> Finding {
    let masked = mask(number);
    let Some(found) = listed.iter().find(|o| o.number == number) else {
        return Finding::problem(
            ORIGINATION,
            format!(
                "{masked} is not among this account's {} origination number(s) in this region (SNS ListOriginationNumbers): SMS from it will fail",
                listed.len()
            ),
            "use a number this account owns in this region (AWS End User Messaging SMS → Phone numbers) as SmsOriginationNumber",
        );
    };
    if !found.status.eq_ignore_ascii_case("ACTIVE") {
        return Finding::problem(
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
        return Finding::problem(
            ORIGINATION,
            format!(
                "{masked} cannot send SMS (capabilities: {})",
                found.capabilities.join(", ")
            ),
            "use a number with the SMS capability as SmsOriginationNumber",
        );
    }
    Finding::ok(
        ORIGINATION,
        format!(
            "{masked} is an ACTIVE origination number that sends SMS (whether its two-way SMS reaches the InboundSmsTopic cannot be read from SNS: see End User Messaging)"
        ),
    )
}

/// The stack has no origination number: SNS picks one, and replies are lost.
pub fn no_origination() -> Finding {
    Finding::warning(
        ORIGINATION,
        "the stack has no SmsOriginationNumber: SNS sends pages from a number it picks, and replies (ACK) cannot reach Klaxon",
        "get a phone number in AWS End User Messaging SMS, give it two-way SMS with the InboundSmsTopicArn output as destination, and deploy with SmsOriginationNumber=<number>",
    )
}

/// A configured SMS number: whose it is, and the number (E.164).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsNumber {
    pub person: String,
    pub number: String,
}

const EXIT_SANDBOX: &str =
    "request production access (SNS console → Text messaging (SMS) → Exit SMS sandbox)";

/// In the SMS sandbox only verified numbers receive SMS: every configured
/// number must be one. `configured` is `None` when no valid configuration
/// could be read to compare with.
pub fn sms_sandbox(
    in_sandbox: bool,
    verified: &[String],
    configured: Option<&[SmsNumber]>,
) -> Finding {
    if !in_sandbox {
        return Finding::ok(SANDBOX, "the account is out of the SMS sandbox");
    }
    let Some(configured) = configured else {
        return Finding::warning(
            SANDBOX,
            format!(
                "the account is in the SMS sandbox: only its {} verified number(s) receive SMS (no valid applied configuration to compare with)",
                verified.len()
            ),
            EXIT_SANDBOX,
        );
    };
    let unverified: Vec<&SmsNumber> = configured
        .iter()
        .filter(|n| !verified.contains(&n.number))
        .collect();
    if unverified.is_empty() {
        return Finding::warning(
            SANDBOX,
            format!(
                "the account is in the SMS sandbox: all {} configured number(s) are verified, but a number added later gets no SMS until it is",
                configured.len()
            ),
            EXIT_SANDBOX,
        );
    }
    let mut message = format!(
        "the account is in the SMS sandbox: only verified numbers receive SMS, and {} configured number(s) are not verified:",
        unverified.len()
    );
    for n in unverified {
        message.push_str(&format!("\n{} {}", n.person, mask(&n.number)));
    }
    Finding::problem(
        SANDBOX,
        message,
        format!(
            "{EXIT_SANDBOX}, or verify each number (aws sns create-sms-sandbox-phone-number --phone-number <number>, then verify-sms-sandbox-phone-number)"
        ),
    )
}

/// The sandbox's verified numbers could not be listed.
pub fn sandbox_unlisted(error: &str) -> Finding {
    Finding::warning(
        SANDBOX,
        format!(
            "the account is in the SMS sandbox (only verified numbers receive SMS), and its verified numbers could not be listed: {error}"
        ),
        "compare the configured numbers with the SNS console's sandbox destination phone numbers, or request production access",
    )
}

/// A new account's SMS spend limit, in USD.
const DEFAULT_SPEND_LIMIT: f64 = 1.0;

/// The account's `MonthlySpendLimit` (as SNS stores it: text, USD) against
/// this month's SMS spend so far (`AWS/SNS SMSMonthToDateSpentUSD`, `None`
/// when CloudWatch has no datapoint yet). At the limit SNS stops sending
/// SMS, pages included.
pub fn sms_spend(limit: Option<&str>, spent_usd: Option<f64>) -> Finding {
    const FIX: &str = "raise the SMS spend quota (Service Quotas, or a support case), then `aws sns set-sms-attributes --attributes MonthlySpendLimit=<USD>`; keep the stack's SmsSpendAlarmUSD below it";
    let limit = limit.map(str::trim).filter(|v| !v.is_empty());
    let usd = match limit.map(|v| (v, v.parse::<f64>())) {
        Some((v, Err(_))) => {
            return Finding::warning(
                SPEND,
                format!("MonthlySpendLimit is '{v}', not a number of USD"),
                FIX,
            );
        }
        Some((v, Ok(usd))) => Some((v, usd)),
        None => None,
    };
    let effective = usd.map_or(DEFAULT_SPEND_LIMIT, |(_, usd)| usd);
    if let Some(spent) = spent_usd
        && spent >= effective
    {
        return Finding::problem(
            SPEND,
            format!(
                "this month's SMS spend ({spent:.2} USD) has reached the monthly limit ({effective} USD): SNS sends no SMS until the month ends, pages included"
            ),
            FIX,
        );
    }
    let spent = spent_usd.map_or(String::new(), |s| format!(", {s:.2} USD spent this month"));
    match usd {
        None => Finding::warning(
            SPEND,
            format!(
                "MonthlySpendLimit is not set: the account's default applies (1 USD for a new account{spent}); at the limit SNS stops sending SMS, pages included"
            ),
            FIX,
        ),
        Some((v, usd)) if usd <= DEFAULT_SPEND_LIMIT => Finding::warning(
            SPEND,
            format!(
                "MonthlySpendLimit is {v} USD{spent}: a few dozen pages can reach it, and then SNS stops sending SMS, pages included"
            ),
            FIX,
        ),
        Some((v, _)) => Finding::ok(SPEND, format!("monthly SMS spend limit: {v} USD{spent}")),
    }
}

/// An SES identity, as `GetEmailIdentity` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub verified_for_sending: bool,
    pub status: Option<String>,
}

/// The names an address can send as: itself, then its domain.
pub fn sender_identities(address: &str) -> Vec<String> {
    let domain = address.rsplit_once('@').map(|(_, d)| d.to_string());
    std::iter::once(address.to_string()).chain(domain).collect()
}

/// The stack's EmailFrom against the SES identities found for it (of the
/// names [`sender_identities`] gives; missing ones left out).
pub fn sender(address: &str, identities: &[Identity]) -> Finding {
    // VerificationStatus SUCCESS is the same fact (moto 5.2.5 sets only that one).
    if let Some(ok) = identities
        .iter()
        .find(|i| i.verified_for_sending || i.status.as_deref() == Some("SUCCESS"))
    {
        return Finding::ok(
            SENDER,
            format!("{address} can send: SES identity {} is verified", ok.name),
        );
    }
    if let Some(pending) = identities.first() {
        return Finding::problem(
            SENDER,
            format!(
                "SES identity {} exists but is not verified for sending (status {}): pages by email fail",
                pending.name,
                pending.status.as_deref().unwrap_or("unknown")
            ),
            "follow the link SES mailed to the address, or publish the domain's DKIM records (SES console → Identities)",
        );
    }
    Finding::problem(
        SENDER,
        format!("no SES identity for {address} or its domain in this region: pages by email fail"),
        format!("aws sesv2 create-email-identity --email-identity {address}, then verify it"),
    )
}

/// The stack has no EmailFrom: a warning, unless notification lists send
/// email (`lists` names them), whose deliveries then all fail.
pub fn no_sender(lists: &[String]) -> Finding {
    const FIX: &str = "verify a sender in SES (aws sesv2 create-email-identity --email-identity pages@example.com) and deploy with EmailFrom=<address>";
    if lists.is_empty() {
        return Finding::warning(
            SENDER,
            "the stack has no EmailFrom: email notification rules leave a warning on the timeline and send nothing",
            FIX,
        );
    }
    Finding::problem(
        SENDER,
        format!(
            "the stack has no EmailFrom, but notifications {} send email: every delivery to them fails (notification_failed on the timeline, and the undelivered-notifications queue)",
            lists.join(", ")
        ),
        FIX,
    )
}

/// The SES account, as `GetAccount` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesAccount {
    pub sending_enabled: bool,
    pub production_access: bool,
    pub enforcement: Option<String>,
}

/// Whether SES sends for this account; `configured_emails` counts the
/// configured addresses (when a configuration was read).
pub fn ses_account(account: &SesAccount, configured_emails: Option<usize>) -> Finding {
    if !account.sending_enabled {
        return Finding::problem(
            SES_ACCOUNT,
            format!(
                "SES sending is paused for this account in this region (enforcement status {}): no page goes out by email",
                account.enforcement.as_deref().unwrap_or("unknown")
            ),
            "SES console → Account dashboard: resolve the review, then resume sending",
        );
    }
    if !account.production_access {
        let who = configured_emails.map_or(String::new(), |n| {
            format!(" ({n} configured address(es) must each be a verified identity)")
        });
        return Finding::warning(
            SES_ACCOUNT,
            format!(
                "the account is in the SES sandbox: email only reaches verified addresses{who}, at most 200 a day"
            ),
            "request production access (SES console → Account dashboard), or verify each recipient",
        );
    }
    Finding::ok(SES_ACCOUNT, "SES production access, sending enabled")
}

/// The stack sends no email: nothing to ask SES.
pub fn ses_unused() -> Finding {
    Finding::ok(SES_ACCOUNT, "not used: the stack sends no email")
}

/// The voice number, as the Chime SDK describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceNumber {
    /// `Assigned`, `Unassigned`, `AcquireInProgress`, `ReleaseInProgress`, ...
    pub status: String,
    /// `None` when the Chime SDK does not say.
    pub outbound_call: Option<bool>,
}

const VOICE_FIX: &str = "order an Amazon Chime SDK phone number (README: Voice pages) and deploy with VoiceFromNumber=<number>, or change those rules to sms";

/// Voice pages need the stack's voice number, and the number must be one
/// the Chime SDK can call from. `callers` are the people with voice rules;
/// `number` is the stack's VoiceFromNumber and what the Chime SDK said of
/// it (`None`: not in this account).
pub fn voice(callers: &[String], number: Option<(&str, Option<&VoiceNumber>)>) -> Finding {
    let Some((number, found)) = number else {
        if callers.is_empty() {
            return Finding::ok(VOICE, "not used: no voice number and no voice rules");
        }
        return Finding::problem(
            VOICE,
            format!(
                "{} have voice notification rules but the stack has no VoiceFromNumber: their calls are only warnings on the timeline, no phone rings",
                callers.join(", ")
            ),
            VOICE_FIX,
        );
    };
    let masked = mask(number);
    let Some(found) = found else {
        return Finding::problem(
            VOICE,
            format!(
                "{masked} is not a Chime SDK phone number of this account in this region: every call fails"
            ),
            VOICE_FIX,
        );
    };
    const GONE: [&str; 6] = [
        "AcquireFailed",
        "Cancelled",
        "DeleteFailed",
        "DeleteInProgress",
        "ReleaseFailed",
        "ReleaseInProgress",
    ];
    if GONE.iter().any(|s| s.eq_ignore_ascii_case(&found.status)) {
        return Finding::problem(
            VOICE,
            format!("{masked} is {}: calls from it fail", found.status),
            VOICE_FIX,
        );
    }
    if found.outbound_call == Some(false) {
        return Finding::problem(
            VOICE,
            format!("{masked} cannot place outbound calls"),
            "use a Chime SDK number with outbound calling (product type SipMediaApplicationDialIn) as VoiceFromNumber",
        );
    }
    if !["Assigned", "Unassigned"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&found.status))
    {
        return Finding::warning(
            VOICE,
            format!(
                "{masked} is {}: calls may fail until it is ready",
                found.status
            ),
            "wait for the order or port to finish (Chime SDK console → Phone numbers)",
        );
    }
    Finding::ok(
        VOICE,
        format!(
            "voice pages are called from {masked} ({}; {} people have voice rules)",
            found.status,
            callers.len()
        ),
    )
}

#[cfg(test)]
#[path = "channels_tests.rs"]
mod tests;
