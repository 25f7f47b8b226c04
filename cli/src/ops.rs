//! `klaxon doctor` and `klaxon dlq`: argument parsing and printing; the
//! work is in the library (`klaxon_cli::doctor`, `klaxon_cli::dlq`).

use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use klaxon_cli::dlq::{self, DlqQueue};
use klaxon_cli::doctor::{self, DoctorOptions};
use klaxon_cli::names::StackNames;

use crate::{Failure, StackArgs, print_json, say};

#[derive(Args)]
pub struct DoctorArgs {
    /// Print the checks as a JSON array of {name, status, message, fix}.
    #[arg(long)]
    json: bool,
    /// The self-test's last success may be at most this many minutes old.
    #[arg(long, default_value_t = 30, value_name = "MINUTES")]
    self_test_max_age: u32,
    /// This stack runs no scheduled self-test (a local stack, say): a
    /// missing or old self-test success is then a warning, not a problem.
    #[arg(long)]
    no_self_test: bool,
    /// Check this SMS origination number instead of the one deployed with
    /// the escalator function.
    #[arg(long, value_name = "E164")]
    origination_number: Option<String>,
    /// Check this SES sender instead of the one deployed with the escalator.
    #[arg(long, value_name = "ADDRESS")]
    email_from: Option<String>,
}

#[derive(Subcommand)]
pub enum DlqCommand {
    /// The dead letters of every dead-letter queue (or one), with why each
    /// failed.
    /// Reading does not consume them.
    List {
        #[arg(long, value_enum)]
        queue: Option<QueueArg>,
        #[arg(long)]
        json: bool,
    },
    /// One dead letter in full: reason, attributes and body (phone numbers
    /// masked).
    Show {
        /// The SQS message id, as `list` prints it.
        id: String,
        #[arg(long, value_enum)]
        queue: Option<QueueArg>,
        #[arg(long)]
        json: bool,
    },
    /// Send dead letters through again after a fix: escalation steps back
    /// to the escalation queue, failed events to their function
    /// (asynchronous invoke with the original event). Each message is
    /// deleted only once that succeeded.
    Redrive {
        #[arg(long, value_enum)]
        queue: QueueArg,
        /// Only this message.
        #[arg(long)]
        id: Option<String>,
        /// Say what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove dead letters that were dealt with (undelivered notifications
    /// and stream batches are never redriven): one by `--id`, or `--all`.
    Delete {
        #[arg(long, value_enum)]
        queue: QueueArg,
        /// Only this message.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every message in the queue.
        #[arg(long)]
        all: bool,
        /// Say what would be deleted; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum QueueArg {
    /// <stack>-escalation-dead-letters
    Escalation,
    /// <stack>-failed-events
    FailedEvents,
    /// <stack>-undelivered-notifications
    UndeliveredNotifications,
    /// <stack>-unpublished-events
    UnpublishedEvents,
    /// <stack>-unnotified-events
    UnnotifiedEvents,
    /// <stack>-alarm-topic-dead-letters (alarms SNS could not hand to intake)
    AlarmTopic,
    /// <stack>-inbound-sms-dead-letters (replies SNS could not hand to sms-reply)
    InboundSms,
    /// <stack>-status-page-failed-batches (with StatusPage=enabled)
    StatusPage,
}

impl From<QueueArg> for DlqQueue {
    fn from(q: QueueArg) -> Self {
        match q {
            QueueArg::Escalation => DlqQueue::Escalation,
            QueueArg::FailedEvents => DlqQueue::FailedEvents,
            QueueArg::UndeliveredNotifications => DlqQueue::UndeliveredNotifications,
            QueueArg::UnpublishedEvents => DlqQueue::UnpublishedEvents,
            QueueArg::UnnotifiedEvents => DlqQueue::UnnotifiedEvents,
            QueueArg::AlarmTopic => DlqQueue::AlarmTopic,
            QueueArg::InboundSms => DlqQueue::InboundSms,
            QueueArg::StatusPage => DlqQueue::StatusPage,
        }
    }
}

fn names(stack: &StackArgs) -> StackNames {
    StackNames {
        incidents_table: stack.incidents(),
        config_table: stack.config(),
        ..StackNames::new(stack.name())
    }
}

fn queues(queue: Option<QueueArg>) -> Vec<DlqQueue> {
    match queue {
        Some(q) => vec![q.into()],
        None => DlqQueue::ALL.to_vec(),
    }
}

pub async fn doctor(stack: &StackArgs, args: DoctorArgs) -> Result<(), Failure> {
    let sdk = klaxon_aws::sdk_config().await;
    let options = DoctorOptions {
        self_test_max_age_minutes: args.self_test_max_age,
        self_test_expected: !args.no_self_test,
        origination_number: args.origination_number,
        email_from: args.email_from,
    };
    let names = names(stack);
    let checks = doctor::run(
        &doctor::Clients::from_sdk(&sdk),
        &names,
        &options,
        Timestamp::now(),
    )
    .await;
    if args.json {
        print_json(&serde_json::to_value(&checks)?);
    } else {
        say!("{}", doctor::render_text(&names.stack, &checks).trim_end());
    }
    match doctor::exit_code(&checks) {
        0 => Ok(()),
        code => Err(Failure {
            message: "doctor found problems".into(),
            code,
        }),
    }
}

pub async fn dlq(stack: &StackArgs, cmd: DlqCommand) -> Result<(), Failure> {
    let sdk = klaxon_aws::sdk_config().await;
    let clients = dlq::Clients::from_sdk(&sdk);
    let names = names(stack);
    match cmd {
        DlqCommand::List { queue, json } => {
            let found = dlq::list(&clients, &names, &queues(queue)).await?;
            if json {
                let letters: Vec<&dlq::DeadLetter> =
                    found.iter().flat_map(|q| q.letters.iter()).collect();
                print_json(&serde_json::to_value(letters)?);
            } else {
                say!("{}", dlq::render_list(&found).trim_end());
            }
            Ok(())
        }
        DlqCommand::Show { id, queue, json } => {
            let (letter, queue_name) = dlq::show(&clients, &names, &queues(queue), &id)
                .await?
                .ok_or_else(|| Failure {
                    message: format!("no dead letter {id}"),
                    code: 1,
                })?;
            if json {
                let mut value = serde_json::to_value(&letter)?;
                value["queue_name"] = queue_name.into();
                value["body"] = letter.shown_body();
                print_json(&value);
            } else {
                say!("{}", dlq::render_show(&letter, &queue_name).trim_end());
            }
            Ok(())
        }
        DlqCommand::Redrive {
            queue,
            id,
            dry_run,
            json,
        } => {
            let queue = DlqQueue::from(queue);
            let outcomes = dlq::redrive(&clients, &names, queue, id.as_deref(), dry_run).await?;
            report_outcomes(&names, queue, &outcomes, json, "redriven")
        }
        DlqCommand::Delete {
            queue,
            id,
            all: _,
            dry_run,
            json,
        } => {
            let queue = DlqQueue::from(queue);
            let outcomes = dlq::delete(&clients, &names, queue, id.as_deref(), dry_run).await?;
            report_outcomes(&names, queue, &outcomes, json, "deleted")
        }
    }
}

/// Prints what `redrive` or `delete` did, one line per message (or JSON);
/// fails with exit status 1 when a message stayed behind.
fn report_outcomes(
    names: &StackNames,
    queue: DlqQueue,
    outcomes: &[dlq::RedriveOutcome],
    json: bool,
    done: &str,
) -> Result<(), Failure> {
    if json {
        print_json(&serde_json::to_value(outcomes)?);
    } else {
        let queue_name = names.queue(queue.role());
        say!("{}", dlq::render_redrive(&queue_name, outcomes).trim_end());
    }
    match dlq::redrive_exit_code(outcomes) {
        0 => Ok(()),
        code => Err(Failure {
            message: format!("some dead letters were not {done}"),
            code,
        }),
    }
}

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
pub async fn test_notify(stack: &StackArgs, args: TestNotifyArgs) -> Result<(), Failure> {
    use klaxon_aws::{chime::ChimeCalls, ses::SesEmail, sns::SnsSms};
    use klaxon_core::incident::Channel;
    let sdk = klaxon_aws::sdk_config().await;
    let config = crate::configuration::current(stack, &args.from).await?;
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
