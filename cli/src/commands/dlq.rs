//! `klaxon dlq list|show|redrive|delete`: arguments and printing; the work
//! is in the library (`klaxon_cli::dlq`).

use clap::{Subcommand, ValueEnum};
use klaxon_cli::dlq::{self, DlqQueue};
use klaxon_cli::names::StackNames;

use super::names;
use crate::{Failure, StackArgs, print_json, say};

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

fn queues(queue: Option<QueueArg>) -> Vec<DlqQueue> {
    match queue {
        Some(q) => vec![q.into()],
        None => DlqQueue::ALL.to_vec(),
    }
}

pub async fn run(stack: &StackArgs, cmd: DlqCommand) -> Result<(), Failure> {
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
