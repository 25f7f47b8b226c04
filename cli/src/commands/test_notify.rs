//! `klaxon test-notify`: a clearly marked test notification through the
//! stack's real senders; the settings it reads are in the library
//! (`klaxon_cli::test_notify`).

use clap::{Args, ValueEnum};

use super::names;
use crate::{Failure, StackArgs, say};

/// The channel of a test notification.
#[derive(Clone, Copy, ValueEnum)]
pub enum ChannelArg {
    Sms,
    Email,
    Voice,
}

#[derive(Args)]
pub struct TestNotifyArgs {
    /// The person (their id in the configuration).
    person: String,
    #[arg(long, value_enum)]
    channel: ChannelArg,
    #[command(flatten)]
    from: crate::ConfigFrom,
}

/// `klaxon test-notify`: through the stack's own senders, as its
/// escalator's environment names them.
pub async fn run(stack: &StackArgs, args: TestNotifyArgs) -> Result<(), Failure> {
    use klaxon_aws::{chime::ChimeCalls, ses::SesEmail, sns::SnsSms};
    use klaxon_core::incident::Channel;
    let sdk = klaxon_aws::sdk_config().await;
    let config = super::config::current(stack, &args.from).await?;
    let settings = klaxon_cli::test_notify::stack_settings(
        &aws_sdk_lambda::Client::new(&sdk),
        &names(stack),
    )
    .await?
    .ok_or_else(|| Failure {
        message: format!(
            "{}-escalator does not exist: test-notify sends through a deployed stack's senders",
            stack.name()
        ),
        code: 1,
    })?;
    let sms = SnsSms::from_sdk(&sdk, settings.sms_origination_number.clone());
    let email = settings
        .email_from
        .as_deref()
        .map(|from| SesEmail::from_sdk(&sdk, from));
    let calls = settings
        .voice
        .as_ref()
        .map(|v| ChimeCalls::from_sdk(&sdk, &v.sip_media_application_id, v.from.clone()));
    let channel = match args.channel {
        ChannelArg::Sms => Channel::Sms,
        ChannelArg::Email => Channel::Email,
        ChannelArg::Voice => Channel::Voice,
    };
    let sent = klaxon_cli::test_notify::test_notify(
        &config,
        &args.person,
        channel,
        &sms,
        email.as_ref(),
        calls.as_ref(),
    )
    .await
    .map_err(|message| Failure { message, code: 1 })?;
    say!(
        "sent a test {} to {} at {} ({})",
        sent.channel,
        sent.person,
        sent.to,
        sent.id
    );
    if matches!(channel, Channel::Voice) {
        say!("the call asks them to press 4 to confirm; it changes nothing");
    }
    Ok(())
}
