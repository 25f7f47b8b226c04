//! Reading dead letters without consuming them, and redriving them.
//!
//! Messages are received with a visibility timeout ([`HOLD_SECONDS`]), so
//! one pass sees each message once, and made visible again (timeout 0) as
//! soon as the command is done with them. A message is deleted only after
//! its redrive (send or invoke) succeeded.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName};
use serde::Serialize;

use super::{DeadLetter, DlqQueue, Redrive, RedriveOutcome, RedriveResult};
use crate::aws_error::describe;
use crate::names::{QueueRole, StackNames};

/// Seconds a received message stays hidden while a command works on it; if
/// the command dies, the message is visible again after this.
pub const HOLD_SECONDS: i32 = 120;
/// At most this many messages per queue are read in one command.
pub const MAX_MESSAGES: usize = 1000;

/// The clients `klaxon dlq` uses. Public fields, so a caller can point
/// Lambda somewhere else (the tests stand in for it).
#[derive(Debug, Clone)]
pub struct Clients {
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
}

impl Clients {
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
        }
    }
}

/// The dead letters of one queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueLetters {
    pub queue: DlqQueue,
    pub queue_name: String,
    pub letters: Vec<DeadLetter>,
}

/// A received message and the handle to release or delete it.
struct Held {
    letter: DeadLetter,
    receipt: String,
}

async fn queue_url(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, String> {
    deployed_queue_url(sqs, name)
        .await?
        .ok_or_else(|| missing_queue(name))
}

fn missing_queue(name: &str) -> String {
    format!(
        "queue {name} does not exist: is --stack right? (a stack deployed before its queues had fixed names needs one more deploy)"
    )
}

/// The queue's URL, or `None` when the stack has no such queue.
async fn deployed_queue_url(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<Option<String>, String> {
    match sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => out
            .queue_url()
            .map(|u| Some(u.to_string()))
            .ok_or_else(|| format!("queue {name}: no URL returned")),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_queue_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!("queue {name}: {}", describe(&e))),
    }
}

/// Receives every message (up to [`MAX_MESSAGES`]), each once.
async fn receive_all(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    queue: DlqQueue,
) -> Result<Vec<Held>, String> {
    let mut held: Vec<Held> = Vec::new();
    let mut seen = BTreeSet::new();
    while held.len() < MAX_MESSAGES {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(HOLD_SECONDS)
            // Long polling asks every SQS server, so a short queue is not
            // reported empty by chance; it returns as soon as there is one.
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                // Give back what was received before failing.
                release(sqs, url, held.iter().map(|h| h.receipt.clone()).collect()).await;
                return Err(format!("receiving from {url}: {}", describe(&e)));
            }
        };
        let messages = out.messages();
        if messages.is_empty() {
            break;
        }
        let mut new = 0;
        for m in messages {
            let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                continue;
            };
            if !seen.insert(id.to_string()) {
                continue;
            }
            new += 1;
            let system: BTreeMap<String, String> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let attributes: BTreeMap<String, String> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.string_value()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            held.push(Held {
                letter: DeadLetter::new(
                    queue,
                    id.to_string(),
                    m.body().unwrap_or_default().to_string(),
                    &system,
                    attributes,
                ),
                receipt: receipt.to_string(),
            });
        }
        if new == 0 {
            break;
        }
    }
    Ok(held)
}

/// Makes messages visible again at once. Best effort: a message not
/// released becomes visible when its hold ends.
async fn release(sqs: &aws_sdk_sqs::Client, url: &str, receipts: Vec<String>) {
    for chunk in receipts.chunks(10) {
        let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect();
        let sent = sqs
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await;
        if let Err(e) = sent {
            eprintln!(
                "klaxon: could not make messages visible again ({}); they will be after {HOLD_SECONDS} s",
                describe(&e)
            );
        }
    }
}

/// Reads the dead letters of `queues` without consuming them.
pub async fn list(
    clients: &Clients,
    names: &StackNames,
    queues: &[DlqQueue],
) -> Result<Vec<QueueLetters>, String> {
    let mut out = Vec::new();
    for &queue in queues {
        let queue_name = names.queue(queue.role());
        let url = match deployed_queue_url(&clients.sqs, &queue_name).await? {
            Some(url) => url,
            // Listing every queue: the status page's is left out on a stack
            // without a status page (asked for alone, it is an error).
            None if !queue.role().always_deployed() && queues.len() > 1 => continue,
            None => return Err(missing_queue(&queue_name)),
        };
        let held = receive_all(&clients.sqs, &url, queue).await?;
        let receipts = held.iter().map(|h| h.receipt.clone()).collect();
        release(&clients.sqs, &url, receipts).await;
        out.push(QueueLetters {
            queue,
            queue_name,
            letters: held.into_iter().map(|h| h.letter).collect(),
        });
    }
    Ok(out)
}

/// One dead letter by message id, looked for in `queues`. Returns it with
/// the name of the queue it is in.
pub async fn show(
    clients: &Clients,
    names: &StackNames,
    queues: &[DlqQueue],
    message_id: &str,
) -> Result<Option<(DeadLetter, String)>, String> {
    for q in list(clients, names, queues).await? {
        if let Some(d) = q.letters.into_iter().find(|d| d.message_id == message_id) {
            return Ok(Some((d, q.queue_name)));
        }
    }
    Ok(None)
}

/// Reads the dead letters of `queue` and hands each (or only `only`) to
/// `act`, which says what became of it. A message redriven or deleted is
/// gone; one that failed, was skipped or only planned (`--dry-run`) is
/// made visible again at once; one redriven but not deleted stays hidden
/// until its hold ends, so that it is not redriven twice meanwhile.
async fn each_letter(
    clients: &Clients,
    names: &StackNames,
    queue: DlqQueue,
    only: Option<&str>,
    mut act: impl AsyncFnMut(&Held, &Dlq) -> (RedriveResult, String),
) -> Result<Vec<RedriveOutcome>, String> {
    let name = names.queue(queue.role());
    let dlq = Dlq {
        url: queue_url(&clients.sqs, &name).await?,
        name,
    };
    let held = receive_all(&clients.sqs, &dlq.url, queue).await?;
    let mut outcomes = Vec::new();
    let mut keep = Vec::new();
    for h in held {
        if only.is_some_and(|id| id != h.letter.message_id) {
            keep.push(h.receipt);
            continue;
        }
        let (result, detail) = act(&h, &dlq).await;
        if matches!(
            result,
            RedriveResult::WouldRedrive
                | RedriveResult::WouldDelete
                | RedriveResult::Failed
                | RedriveResult::Skipped
        ) {
            keep.push(h.receipt);
        }
        outcomes.push(RedriveOutcome {
            queue,
            message_id: h.letter.message_id,
            result,
            detail,
        });
    }
    release(&clients.sqs, &dlq.url, keep).await;
    if let Some(id) = only
        && outcomes.is_empty()
    {
        return Err(format!("no message {id} in {}", dlq.name));
    }
    Ok(outcomes)
}

/// The dead-letter queue a command works on.
struct Dlq {
    name: String,
    url: String,
}

impl Dlq {
    /// Deletes a message this command holds.
    async fn delete(&self, sqs: &aws_sdk_sqs::Client, held: &Held) -> Result<(), String> {
        sqs.delete_message()
            .queue_url(&self.url)
            .receipt_handle(&held.receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| describe(&e))
    }
}

/// Sends the dead letters of `queue` (or only `only`) through again: the
/// escalation ones back to the escalation queue, the failed events to
/// their function. Each message is deleted only after its redrive
/// succeeded. With `dry_run`, says what it would do and changes nothing.
pub async fn redrive(
    clients: &Clients,
    names: &StackNames,
    queue: DlqQueue,
    only: Option<&str>,
    dry_run: bool,
) -> Result<Vec<RedriveOutcome>, String> {
    let target = match queue {
        DlqQueue::Escalation => {
            let name = names.queue(QueueRole::EscalationSteps);
            Some((queue_url(&clients.sqs, &name).await?, name))
        }
        _ => None,
    };
    each_letter(clients, names, queue, only, async |h, dlq| {
        let d = &h.letter;
        let (action, sent) = match (d.letter.redrive(names, &d.body), &target) {
            (Redrive::Cannot(why), _) => return (RedriveResult::Skipped, why),
            (Redrive::ToQueue, None) => {
                return (
                    RedriveResult::Skipped,
                    "an escalation step outside the escalation dead-letter queue".into(),
                );
            }
            (Redrive::ToQueue, Some((target_url, target_name))) => {
                let action = format!("send to {target_name}");
                if dry_run {
                    return (RedriveResult::WouldRedrive, action);
                }
                let sent = clients
                    .sqs
                    .send_message()
                    .queue_url(target_url)
                    .message_body(&d.body)
                    .send()
                    .await
                    .map(|out| {
                        format!(
                            "sent to {target_name} as {}",
                            out.message_id().unwrap_or("?")
                        )
                    })
                    .map_err(|e| describe(&e));
                (action, sent)
            }
            (Redrive::Invoke { function, payload }, _) => {
                let action = format!("invoke {function} asynchronously with the original event");
                if dry_run {
                    return (RedriveResult::WouldRedrive, action);
                }
                let sent = invoke(&clients.lambda, &function, &payload).await;
                (action, sent)
            }
        };
        match sent {
            Err(e) => (
                RedriveResult::Failed,
                format!("{action}: {e}; the message stays in {}", dlq.name),
            ),
            Ok(done) => match dlq.delete(&clients.sqs, h).await {
                Ok(()) => (
                    RedriveResult::Redriven,
                    format!("{done}; deleted from {}", dlq.name),
                ),
                Err(e) => (
                    RedriveResult::RedrivenNotDeleted,
                    format!(
                        "{done}, but it could not be deleted from {} ({e}): delete it by hand so it is not redriven twice",
                        dlq.name
                    ),
                ),
            },
        }
    })
    .await
}

/// Deletes the dead letters of `queue` that were dealt with: the one with
/// message id `only`, or all of them. With `dry_run`, says what it would
/// delete and changes nothing.
pub async fn delete(
    clients: &Clients,
    names: &StackNames,
    queue: DlqQueue,
    only: Option<&str>,
    dry_run: bool,
) -> Result<Vec<RedriveOutcome>, String> {
    each_letter(clients, names, queue, only, async |h, dlq| {
        let d = &h.letter;
        if dry_run {
            return (
                RedriveResult::WouldDelete,
                format!("delete from {}: {}", dlq.name, d.reason),
            );
        }
        match dlq.delete(&clients.sqs, h).await {
            Ok(()) => (
                RedriveResult::Deleted,
                format!("deleted from {}: {}", dlq.name, d.reason),
            ),
            Err(e) => (
                RedriveResult::Failed,
                format!("could not delete it from {}: {e}", dlq.name),
            ),
        }
    })
    .await
}

/// `lambda:Invoke` with `InvocationType=Event`: Lambda queues the event and
/// answers 202; the function's own retries and `OnFailure` apply again.
async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    payload: &str,
) -> Result<String, String> {
    let out = lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload.as_bytes().to_vec()))
        .send()
        .await
        .map_err(|e| describe(&e))?;
    if out.status_code() == 202 {
        Ok(format!("invoked {function} (accepted)"))
    } else {
        Err(format!(
            "invoking {function}: status {} instead of 202",
            out.status_code()
        ))
    }
}
