//! `klaxon test-notify <person> --channel sms|email|voice`: a clearly
//! marked test notification through the real path (the stack's SMS
//! origination number, SES sender or voice number and SIP media
//! application), so a team can rehearse before the night it matters. It
//! opens no incident; a test call asks for 4 to confirm and acts on
//! nothing.

use klaxon_config::OncallConfig;
use klaxon_core::incident::Channel;
use klaxon_core::phone::Phone;
use klaxon_ports::{CallArguments, CallPurpose, EmailSender, PhoneCalls, SmsSender};
use klaxon_runtime::Settings;

use crate::aws_error::describe;
use crate::names::StackNames;

/// What was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSent {
    pub person: String,
    pub channel: Channel,
    /// The masked address.
    pub to: String,
    /// The provider's message id, or the call's transaction id.
    pub id: String,
}

/// The text of a test SMS or email.
pub fn test_text(name: &str) -> String {
    format!(
        "Klaxon TEST for {name}: a test notification sent with klaxon test-notify. No incident, no action needed."
    )
}

/// Sends one test notification to `person`'s first contact method of
/// `channel`. The senders are the stack's; `None` where the stack has none.
pub async fn test_notify<P: SmsSender, M: EmailSender, V: PhoneCalls>(
    config: &OncallConfig,
    person: &str,
    channel: Channel,
    sms: &P,
    email: Option<&M>,
    calls: Option<&V>,
) -> Result<TestSent, String> {
    let profile = config
        .person(person)
        .ok_or_else(|| format!("no person '{person}' in the configuration"))?;
    let contact = profile
        .contacts
        .iter()
        .find(|c| c.channel == channel)
        .ok_or_else(|| format!("{person} has no {channel} contact method"))?;
    let phone = || Phone::parse(&contact.address).map_err(|e| format!("{person}: {e}"));
    let (to, id) = match channel {
        Channel::Sms => {
            let to = phone()?;
            let id = sms
                .send_sms(&to, &test_text(&profile.name))
                .await
                .map_err(|e| e.to_string())?;
            (to.masked(), id)
        }
        Channel::Email => {
            let sender = email.ok_or("the stack sends no email (its EmailFrom is empty)")?;
            let id = sender
                .send_email(
                    &contact.address,
                    "[Klaxon TEST] test notification",
                    &test_text(&profile.name),
                )
                .await
                .map_err(|e| e.to_string())?;
            (klaxon_app::escalator::mask_email(&contact.address), id)
        }
        Channel::Voice => {
            let calls = calls.ok_or("the stack places no calls (its VoiceFromNumber is empty)")?;
            let to = phone()?;
            let arguments = CallArguments {
                person: person.to_string(),
                purpose: CallPurpose::Test,
            };
            let id = calls
                .place_call(&to, &arguments)
                .await
                .map_err(|e| e.to_string())?;
            (to.masked(), id)
        }
        Channel::SelfTest => return Err("self_test is not a channel people have".into()),
    };
    Ok(TestSent {
        person: profile.name.clone(),
        channel,
        to,
        id,
    })
}

/// The escalator's settings (its environment), which say how this stack
/// sends: the same senders its pages use. `None` where the stack has no
/// functions (a local emulator's).
pub async fn stack_settings(
    lambda: &aws_sdk_lambda::Client,
    names: &StackNames,
) -> Result<Option<Settings>, String> {
    let function = names.function("escalator");
    let out = match lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("reading {function}: {}", describe(&e))),
    };
    let env = out
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    Settings::from_lookup(|k| env.get(k).cloned())
        .map(Some)
        .map_err(|e| format!("{function}: {e}"))
}
