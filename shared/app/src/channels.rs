//! The delivery-channel checks `klaxon doctor` shows and the self-test
//! fails on: each of the stack's channels read from the account (never
//! sending) and judged by [`klaxon_core::channels`] against the applied
//! configuration.

use jiff::Timestamp;

use klaxon_config::OncallConfig;
use klaxon_core::channels::{self as ch, Finding, SmsNumber};
use klaxon_core::incident::Channel;
use klaxon_core::notifications::DestinationKind;
use klaxon_core::routing::Urgency;
use klaxon_ports::DeliveryChannels;

/// A setting of the deployed functions (their environment), as far as the
/// reader could learn it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Set(String),
    /// Deployed empty (the template parameter's default).
    Empty,
    /// Not known, and why.
    Unknown(String),
}

impl Setting {
    /// An environment variable's value: empty or blank is [`Setting::Empty`].
    pub fn from_env(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if !v.is_empty() => Setting::Set(v.to_string()),
            _ => Setting::Empty,
        }
    }
}

/// The stack's channel settings (its template parameters, as the
/// functions' environment holds them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackChannels {
    /// `SmsOriginationNumber`.
    pub origination: Setting,
    /// `EmailFrom`.
    pub email_from: Setting,
    /// `VoiceFromNumber`.
    pub voice_from: Setting,
}

/// Every channel finding, in a fixed order: origination number, SMS
/// sandbox, SMS spend, email sender, SES account, voice number. `config`
/// is the applied configuration (`None` when none valid could be read).
pub async fn check<C: DeliveryChannels>(
    channels: &C,
    stack: &StackChannels,
    config: Option<&OncallConfig>,
    now: Timestamp,
) -> Vec<Finding> {
    vec![
        origination(channels, &stack.origination).await,
        sms_sandbox(channels, config).await,
        sms_spend(channels, now).await,
        email_sender(channels, &stack.email_from, config).await,
        ses_account(channels, &stack.email_from, config).await,
        voice(channels, &stack.voice_from, config).await,
    ]
}

async fn origination<C: DeliveryChannels>(channels: &C, setting: &Setting) -> Finding {
    let number = match setting {
        Setting::Set(n) => n,
        Setting::Empty => return ch::no_origination(),
        Setting::Unknown(why) => {
            return Finding::warning(
                ch::ORIGINATION,
                format!("could not learn the stack's SMS origination number: {why}"),
                "pass --origination-number <E.164 number> to check it",
            );
        }
    };
    match channels.origination_numbers().await {
        Ok(listed) => ch::origination(number, &listed),
        Err(e) => Finding::unchecked(
            ch::ORIGINATION,
            &format!(
                "whether {} is an origination number of this account (SNS ListOriginationNumbers)",
                klaxon_core::phone::mask(number)
            ),
            &e.message,
            "check it in the AWS End User Messaging SMS console (Phone numbers)",
        ),
    }
}

async fn sms_sandbox<C: DeliveryChannels>(channels: &C, config: Option<&OncallConfig>) -> Finding {
    let in_sandbox = match channels.sms_in_sandbox().await {
        Ok(in_sandbox) => in_sandbox,
        Err(e) => {
            return Finding::unchecked(
                ch::SANDBOX,
                "the SMS sandbox status (SNS GetSMSSandboxAccountStatus)",
                &e.message,
                "check it in the SNS console (Mobile → Text messaging (SMS) → Account information)",
            );
        }
    };
    let verified = if in_sandbox {
        match channels.sms_sandbox_verified().await {
            Ok(verified) => verified,
            Err(e) => return ch::sandbox_unlisted(&e.message),
        }
    } else {
        Vec::new()
    };
    let configured = config.map(sms_numbers);
    ch::sms_sandbox(in_sandbox, &verified, configured.as_deref())
}

async fn sms_spend<C: DeliveryChannels>(channels: &C, now: Timestamp) -> Finding {
    let limit = match channels.sms_spend_limit().await {
        Ok(limit) => limit,
        Err(e) => {
            return Finding::unchecked(
                ch::SPEND,
                "the monthly SMS spend limit (SNS GetSMSAttributes)",
                &e.message,
                "check it in the SNS console (Text messaging (SMS) → Text messaging preferences)",
            );
        }
    };
    match channels.sms_spent_this_month(now).await {
        Ok(spent) => ch::sms_spend(limit.as_deref(), spent),
        Err(e) => Finding::unchecked(
            ch::SPEND,
            "this month's SMS spend (CloudWatch AWS/SNS SMSMonthToDateSpentUSD)",
            &e.message,
            "check the SNS console's SMS spend, or CloudWatch's AWS/SNS metrics",
        ),
    }
}

async fn email_sender<C: DeliveryChannels>(
    channels: &C,
    setting: &Setting,
    config: Option<&OncallConfig>,
) -> Finding {
    let address = match setting {
        Setting::Set(a) => a,
        Setting::Empty => return ch::no_sender(&email_lists(config)),
        Setting::Unknown(why) => {
            return Finding::warning(
                ch::SENDER,
                format!("could not learn the stack's email sender: {why}"),
                "pass --email-from <address> to check it",
            );
        }
    };
    let mut identities = Vec::new();
    for name in ch::sender_identities(address) {
        match channels.email_identity(&name).await {
            Ok(Some(identity)) => identities.push(identity),
            Ok(None) => {}
            Err(e) => {
                return Finding::unchecked(
                    ch::SENDER,
                    &format!("the SES identity of {name} (SESv2 GetEmailIdentity)"),
                    &e.message,
                    "check it in the SES console (Configuration → Identities)",
                );
            }
        }
    }
    ch::sender(address, &identities)
}

async fn ses_account<C: DeliveryChannels>(
    channels: &C,
    email_from: &Setting,
    config: Option<&OncallConfig>,
) -> Finding {
    if *email_from == Setting::Empty {
        return ch::ses_unused();
    }
    match channels.ses_account().await {
        Ok(account) => ch::ses_account(&account, config.map(email_count)),
        Err(e) => Finding::unchecked(
            ch::SES_ACCOUNT,
            "the SES account (SESv2 GetAccount)",
            &e.message,
            "check it in the SES console (Account dashboard)",
        ),
    }
}

async fn voice<C: DeliveryChannels>(
    channels: &C,
    voice_from: &Setting,
    config: Option<&OncallConfig>,
) -> Finding {
    let callers = config.map(voice_callers).unwrap_or_default();
    match voice_from {
        Setting::Empty => ch::voice(&callers, None),
        Setting::Set(number) => match channels.voice_number(number).await {
            Ok(found) => ch::voice(&callers, Some((number, found.as_ref()))),
            Err(e) => Finding::unchecked(
                ch::VOICE,
                &format!(
                    "the voice number {} (Chime SDK Voice GetPhoneNumber)",
                    klaxon_core::phone::mask(number)
                ),
                &e.message,
                "check it in the Chime SDK console (Phone numbers)",
            ),
        },
        Setting::Unknown(why) => Finding::unchecked(
            ch::VOICE,
            "the voice number",
            why,
            "check the escalator's KLAXON_VOICE_FROM_NUMBER in the Lambda console",
        ),
    }
}

/// The configured SMS numbers, in the configuration's order.
pub fn sms_numbers(config: &OncallConfig) -> Vec<SmsNumber> {
    let mut out = Vec::new();
    for (id, person) in &config.people {
        for phone in person.ack_numbers() {
            out.push(SmsNumber {
                person: id.clone(),
                number: phone.as_str().to_string(),
            });
        }
    }
    out
}

/// The notification lists that send email.
fn email_lists(config: Option<&OncallConfig>) -> Vec<String> {
    config
        .map(|c| {
            c.raw
                .notifications
                .iter()
                .filter(|(_, spec)| spec.kind == DestinationKind::Email)
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// How many email contacts people have.
fn email_count(config: &OncallConfig) -> usize {
    config
        .people
        .values()
        .flat_map(|p| p.contacts.iter())
        .filter(|c| c.channel == Channel::Email)
        .count()
}

/// The people with a voice rule at either urgency.
fn voice_callers(config: &OncallConfig) -> Vec<String> {
    config
        .people
        .values()
        .filter(|p| {
            [Urgency::High, Urgency::Low]
                .iter()
                .any(|u| p.rules(*u).iter().any(|r| r.channel == Channel::Voice))
        })
        .map(|p| p.id.clone())
        .collect()
}

#[cfg(test)]
mod tests;
