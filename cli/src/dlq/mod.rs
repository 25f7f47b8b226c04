//! `klaxon dlq list|show|redrive|delete`: the dead letters of the stack's
//! dead-letter queues, why each failed, sending them through again, and
//! removing the ones dealt with.
//!
//! * `escalation` (`<stack>-escalation-dead-letters`): step messages
//!   `{incident_id, step, task_token}` the escalator failed five times. The
//!   message does not say why (the escalator's logs do); it names the
//!   incident. Redrive sends the body back to `<stack>-escalation-steps`:
//!   the escalator runs the step again (pages still due go out, each once;
//!   a task token the workflow no longer waits for is ignored).
//! * `failed-events` (`<stack>-failed-events`) holds two shapes:
//!   - Lambda's asynchronous-invocation failure records (intake and
//!     sms-reply `OnFailure`): `requestContext.{functionArn, condition,
//!     approximateInvokeCount}`, `responsePayload.{errorType,
//!     errorMessage}` and the original event as `requestPayload`;
//!   - EventBridge rule dead letters: the event itself as the body, the
//!     reason in the message attributes `ERROR_CODE`, `ERROR_MESSAGE`,
//!     `RULE_ARN`, `TARGET_ARN` (and `EXHAUSTED_RETRY_CONDITION`,
//!     `RETRY_ATTEMPTS`).
//!
//!   Redrive invokes the function again, asynchronously, with the original
//!   event, and only a function of this stack (`<stack>-...`).
//! * `undelivered-notifications`: deliveries to Slack, Teams, webhooks,
//!   email lists and Incident Manager that failed for good, one
//!   [`UndeliveredNotification`] each. Never redriven (the incident has
//!   moved on; its next change delivers again, and Slack's message is
//!   rewritten from the incident as it is then): deleted once dealt with.
//! * `unpublished-events`, `unnotified-events` and `status-page`: the
//!   stream batches the event publisher, the notifier and the status page
//!   function gave up on, as Lambda's on-failure
//!   record of a DynamoDB stream (`DDBStreamBatchInfo`: shard and sequence
//!   numbers; the records themselves stay in the stream for 24 hours).
//!   Not redriven by klaxon: deleted once dealt with.
//! * `alarm-topic` and `inbound-sms`: what SNS could not hand to intake or
//!   sms-reply (each subscription's redrive policy), SNS's notification as
//!   the body ([`sns`]). Redrive invokes the function with the event SNS
//!   would have sent.
//!
//! Reading never consumes: messages are received with a visibility timeout
//! and made visible again at once. A message leaves a queue only after its
//! redrive succeeded.

mod sns;
mod sqs;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use klaxon_app::escalator::StepRequest;
use klaxon_core::invocation::{FAILED, INVALID_EVENT, RETRYABLE};
use klaxon_core::phone::mask;
use klaxon_core::time::iso;
use klaxon_ports::UndeliveredNotification;
use serde::Serialize;
use serde_json::Value;

use crate::names::{QueueRole, StackNames, function_name, unqualified};

pub use sqs::{Clients, QueueLetters, delete, list, redrive, show};

/// The dead-letter queues, by the names the commands take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DlqQueue {
    Escalation,
    FailedEvents,
    UndeliveredNotifications,
    UnpublishedEvents,
    UnnotifiedEvents,
    AlarmTopic,
    InboundSms,
    StatusPage,
}

impl DlqQueue {
    pub const ALL: [DlqQueue; 8] = [
        DlqQueue::Escalation,
        DlqQueue::FailedEvents,
        DlqQueue::UndeliveredNotifications,
        DlqQueue::UnpublishedEvents,
        DlqQueue::UnnotifiedEvents,
        DlqQueue::AlarmTopic,
        DlqQueue::InboundSms,
        DlqQueue::StatusPage,
    ];

    pub fn role(self) -> QueueRole {
        match self {
            DlqQueue::Escalation => QueueRole::EscalationDeadLetters,
            DlqQueue::FailedEvents => QueueRole::FailedEvents,
            DlqQueue::UndeliveredNotifications => QueueRole::UndeliveredNotifications,
            DlqQueue::UnpublishedEvents => QueueRole::UnpublishedEvents,
            DlqQueue::UnnotifiedEvents => QueueRole::UnnotifiedEvents,
            DlqQueue::AlarmTopic => QueueRole::AlarmTopicDeadLetters,
            DlqQueue::InboundSms => QueueRole::InboundSmsDeadLetters,
            DlqQueue::StatusPage => QueueRole::StatusPageFailedBatches,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DlqQueue::Escalation => "escalation",
            DlqQueue::FailedEvents => "failed-events",
            DlqQueue::UndeliveredNotifications => "undelivered-notifications",
            DlqQueue::UnpublishedEvents => "unpublished-events",
            DlqQueue::UnnotifiedEvents => "unnotified-events",
            DlqQueue::AlarmTopic => "alarm-topic",
            DlqQueue::InboundSms => "inbound-sms",
            DlqQueue::StatusPage => "status-page",
        }
    }
}

/// One dead letter, read without consuming it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub queue: DlqQueue,
    pub message_id: String,
    /// When it was first sent (kept when SQS moves a message to its
    /// dead-letter queue).
    #[serde(with = "klaxon_core::time::iso_ms_opt")]
    pub sent_at: Option<Timestamp>,
    /// How many times it was received, in the source queue and here
    /// (listing it counts too).
    pub receive_count: Option<u32>,
    /// What it is and why it failed.
    pub letter: Letter,
    /// One line: why it failed.
    pub reason: String,
    /// What to do about it.
    pub next: String,
    /// Message attributes with a string value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(skip)]
    pub body: String,
}

/// What a dead letter is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Letter {
    /// An escalation step the escalator failed five times.
    EscalationStep { incident_id: String, step: u32 },
    /// A Lambda asynchronous invocation that failed every attempt.
    LambdaFailure {
        /// The function ARN without its qualifier.
        function: String,
        condition: Option<String>,
        attempts: Option<u64>,
        error_type: Option<String>,
        error_message: Option<String>,
        failed_at: Option<String>,
        #[serde(skip)]
        payload: Option<String>,
    },
    /// An event an EventBridge rule could not deliver.
    RuleFailure {
        rule: Option<String>,
        target: Option<String>,
        error_code: Option<String>,
        error_message: Option<String>,
        exhausted_retry_condition: Option<String>,
        retry_attempts: Option<String>,
    },
    /// A delivery to a tool that failed for good.
    Undelivered(UndeliveredNotification),
    /// A stream batch the event publisher or the notifier gave up on.
    StreamBatch {
        /// The function ARN without its qualifier.
        function: Option<String>,
        condition: Option<String>,
        attempts: Option<u64>,
        error_type: Option<String>,
        failed_at: Option<String>,
        shard: Option<String>,
        first_sequence: Option<String>,
        last_sequence: Option<String>,
        batch_size: Option<u64>,
        first_arrival: Option<String>,
        stream: Option<String>,
    },
    /// A message SNS could not hand to the function subscribed to a topic.
    SnsDelivery(sns::SnsLetter),
    /// None of these shapes: shown, never redriven.
    Unknown { why: String },
}

impl Letter {
    /// Reads a message of `queue`.
    pub fn parse(queue: DlqQueue, body: &str, attributes: &BTreeMap<String, String>) -> Letter {
        match queue {
            DlqQueue::Escalation => match serde_json::from_str::<StepRequest>(body) {
                Ok(step) => Letter::EscalationStep {
                    incident_id: step.incident_id,
                    step: step.step,
                },
                Err(e) => Letter::Unknown {
                    why: format!("not an escalation step message: {e}"),
                },
            },
            DlqQueue::UndeliveredNotifications => {
                match serde_json::from_str::<UndeliveredNotification>(body) {
                    Ok(n) => Letter::Undelivered(n),
                    Err(e) => Letter::Unknown {
                        why: format!("not an undelivered notification: {e}"),
                    },
                }
            }
            DlqQueue::UnpublishedEvents | DlqQueue::UnnotifiedEvents | DlqQueue::StatusPage => {
                stream_batch(body)
            }
            DlqQueue::AlarmTopic => sns::letter("alarm-intake", body),
            DlqQueue::InboundSms => sns::letter("sms-reply", body),
            DlqQueue::FailedEvents => {
                let attr = |k: &str| attributes.get(k).cloned();
                if ["ERROR_CODE", "RULE_ARN", "TARGET_ARN"]
                    .iter()
                    .any(|k| attributes.contains_key(*k))
                {
                    return Letter::RuleFailure {
                        rule: attr("RULE_ARN"),
                        target: attr("TARGET_ARN"),
                        error_code: attr("ERROR_CODE"),
                        error_message: attr("ERROR_MESSAGE"),
                        exhausted_retry_condition: attr("EXHAUSTED_RETRY_CONDITION"),
                        retry_attempts: attr("RETRY_ATTEMPTS"),
                    };
                }
                let record: Value = match serde_json::from_str(body) {
                    Ok(v) => v,
                    Err(e) => {
                        return Letter::Unknown {
                            why: format!(
                                "neither a Lambda failure record nor an EventBridge dead letter (not JSON: {e})"
                            ),
                        };
                    }
                };
                let text = |v: &Value| v.as_str().map(str::to_string);
                let context = &record["requestContext"];
                let Some(function) = context["functionArn"].as_str() else {
                    return Letter::Unknown {
                        why: "neither a Lambda failure record (no requestContext.functionArn) nor an EventBridge dead letter (no ERROR_CODE attribute)".into(),
                    };
                };
                let payload = match record.get("requestPayload") {
                    None | Some(Value::Null) => None,
                    Some(p) => serde_json::to_string(p).ok(),
                };
                Letter::LambdaFailure {
                    function: unqualified(function),
                    condition: text(&context["condition"]),
                    attempts: context["approximateInvokeCount"].as_u64(),
                    error_type: text(&record["responsePayload"]["errorType"])
                        .or_else(|| text(&record["responseContext"]["functionError"])),
                    error_message: text(&record["responsePayload"]["errorMessage"]),
                    failed_at: text(&record["timestamp"]),
                    payload,
                }
            }
        }
    }

    /// Why it failed, in one line.
    pub fn reason(&self) -> String {
        match self {
            Letter::EscalationStep { incident_id, step } => format!(
                "escalation step {step} of incident {incident_id} failed five times in the escalator (the message does not say why; the escalator's logs do)"
            ),
            Letter::LambdaFailure {
                function,
                condition,
                attempts,
                error_type,
                error_message,
                ..
            } => {
                let why = match condition.as_deref() {
                    Some("RetriesExhausted") => "failed every retry".to_string(),
                    Some("EventAgeExceeded") => {
                        "did not run before the event's maximum age (throttled?)".to_string()
                    }
                    Some(other) => format!("gave up ({other})"),
                    None => "gave up".to_string(),
                };
                let tries = attempts.map_or(String::new(), |n| format!(" after {n} attempt(s)"));
                let error = match (error_type, error_message) {
                    (Some(t), Some(m)) => format!(": {t}: {m}"),
                    (Some(t), None) => format!(": {t}"),
                    (None, Some(m)) => format!(": {m}"),
                    (None, None) => String::new(),
                };
                format!("{} {why}{tries}{error}", function_name(function))
            }
            Letter::RuleFailure {
                rule,
                target,
                error_code,
                error_message,
                exhausted_retry_condition,
                ..
            } => {
                let last = |arn: &Option<String>| {
                    arn.as_deref()
                        .map(|a| a.rsplit(['/', ':']).next().unwrap_or(a).to_string())
                        .unwrap_or_else(|| "?".into())
                };
                let mut out = format!(
                    "EventBridge rule {} could not deliver the event to {}: {}",
                    last(rule),
                    target.as_deref().map_or("?", function_name),
                    error_code.as_deref().unwrap_or("unknown error")
                );
                if let Some(m) = error_message {
                    out.push_str(&format!(": {m}"));
                }
                if let Some(c) = exhausted_retry_condition {
                    out.push_str(&format!(" ({c} reached)"));
                }
                out
            }
            Letter::Undelivered(n) => {
                let status = n.status.map_or(String::new(), |s| format!(", status {s}"));
                format!(
                    "{} of incident {} was not delivered to {} ({}) after {} attempt(s){status}: {}",
                    n.detail_type,
                    n.incident_id,
                    n.target,
                    n.destination.as_str(),
                    n.attempts,
                    n.error
                )
            }
            Letter::StreamBatch {
                function,
                condition,
                attempts,
                error_type,
                shard,
                first_sequence,
                last_sequence,
                batch_size,
                first_arrival,
                ..
            } => {
                let who = function.as_deref().map_or("?", function_name);
                let size = batch_size.map_or(String::new(), |n| format!(" of {n} record(s)"));
                let range = match (first_sequence, last_sequence) {
                    (Some(a), Some(b)) if a == b => format!(" (sequence {a}"),
                    (Some(a), Some(b)) => format!(" (sequence {a} to {b}"),
                    _ => " (sequence unknown".to_string(),
                };
                let shard = shard.as_deref().map_or(String::new(), |s| format!(", {s}"));
                let first = first_arrival
                    .as_deref()
                    .map_or(String::new(), |t| format!(", written from {t}"));
                let why = match condition.as_deref() {
                    Some("RetryAttemptsExhausted") => "failed every retry".to_string(),
                    Some("RecordAgeExceeded") => {
                        "did not handle it before its maximum record age".to_string()
                    }
                    Some(other) => format!("gave up ({other})"),
                    None => "gave up".to_string(),
                };
                let tries = attempts.map_or(String::new(), |n| format!(" after {n} attempt(s)"));
                let error = error_type
                    .as_deref()
                    .map_or(String::new(), |t| format!(": {t}"));
                format!("{who} {why} on a stream batch{size}{range}{shard}{first}){tries}{error}")
            }
            Letter::SnsDelivery(letter) => letter.reason(),
            Letter::Unknown { why } => why.clone(),
        }
    }

    /// What to do about it.
    pub fn next(&self, queue: DlqQueue, message_id: &str) -> String {
        let redrive = format!(
            "klaxon dlq redrive --queue {} --id {message_id}",
            queue.as_str()
        );
        match self {
            Letter::EscalationStep { incident_id, .. } => format!(
                "`klaxon incidents show {incident_id}`; page by hand if it is still open; after fixing the escalator, `{redrive}`"
            ),
            Letter::LambdaFailure { error_type, .. } => match error_type.as_deref() {
                Some(INVALID_EVENT) => format!(
                    "Klaxon cannot read this event: a redrive fails the same way unless the function changed; `klaxon dlq show {message_id}` shows it"
                ),
                Some(RETRYABLE) => format!(
                    "a transient failure (throttling, an AWS error) outlasted the retries: `{redrive}`"
                ),
                Some(FAILED) => format!(
                    "fix the cause first (often the applied configuration: `klaxon doctor`), then `{redrive}`"
                ),
                _ => format!(
                    "read the function's logs around the failure time, fix it, then `{redrive}`"
                ),
            },
            Letter::RuleFailure { .. } => format!(
                "fix what stopped delivery (the function, or EventBridge's permission to invoke it), then `{redrive}`"
            ),
            Letter::Undelivered(n) => format!(
                "fix the destination `{}` or its secret (`klaxon config validate --stack`); the incident's next change delivers again (`klaxon incidents show {}` has the timeline); then `klaxon dlq delete --queue {} --id {message_id}`",
                n.target,
                n.incident_id,
                queue.as_str()
            ),
            Letter::StreamBatch { function, .. } => format!(
                "read {}'s logs around the failure; the changes themselves are committed (`klaxon incidents list`), only their {} missed them; then `klaxon dlq delete --queue {} --id {message_id}`",
                function.as_deref().map_or("the function", function_name),
                match queue {
                    DlqQueue::UnnotifiedEvents =>
                        "deliveries to Slack, Teams, webhooks and Incident Manager",
                    DlqQueue::StatusPage => "status page",
                    _ => "events on the bus",
                },
                queue.as_str()
            ),
            Letter::SnsDelivery(_) => format!(
                "fix what stopped SNS's delivery (the function, its permission for sns.amazonaws.com, its concurrency), then `{redrive}`"
            ),
            Letter::Unknown { .. } => {
                format!("`klaxon dlq show {message_id}`; this message cannot be redriven by klaxon")
            }
        }
    }

    /// How it would be redriven in stack `names`.
    pub fn redrive(&self, names: &StackNames, body: &str) -> Redrive {
        let invoke = |function: &str, payload: String| {
            if !function.contains(":lambda:") && function.starts_with("arn:") {
                Redrive::Cannot(format!("the target {function} is not a Lambda function"))
            } else if names.owns_function(function) {
                Redrive::Invoke {
                    function: unqualified(function),
                    payload,
                }
            } else {
                Redrive::Cannot(format!(
                    "{} is not a function of stack {}",
                    function_name(function),
                    names.stack
                ))
            }
        };
        match self {
            Letter::EscalationStep { .. } => Redrive::ToQueue,
            Letter::LambdaFailure {
                function, payload, ..
            } => match payload {
                Some(p) => invoke(function, p.clone()),
                None => Redrive::Cannot("the record has no requestPayload".into()),
            },
            Letter::RuleFailure { target, .. } => match target {
                Some(t) => invoke(t, body.to_string()),
                None => Redrive::Cannot("the message has no TARGET_ARN attribute".into()),
            },
            Letter::Undelivered(_) => Redrive::Cannot(
                "a delivery is not sent again: the incident's next change delivers again; `klaxon dlq delete` removes it".into(),
            ),
            Letter::StreamBatch { .. } => Redrive::Cannot(
                "a stream batch is not handed over again by klaxon; `klaxon dlq delete` removes it".into(),
            ),
            Letter::SnsDelivery(letter) => {
                invoke(&names.function(letter.function), letter.event().to_string())
            }
            Letter::Unknown { why } => Redrive::Cannot(why.clone()),
        }
    }
}

/// Lambda's on-failure record of a DynamoDB stream batch.
fn stream_batch(body: &str) -> Letter {
    let record: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return Letter::Unknown {
                why: format!("not a stream batch failure record (not JSON: {e})"),
            };
        }
    };
    let info = &record["DDBStreamBatchInfo"];
    if !info.is_object() {
        return Letter::Unknown {
            why: "not a stream batch failure record (no DDBStreamBatchInfo)".into(),
        };
    }
    let text = |v: &Value| v.as_str().map(str::to_string);
    let context = &record["requestContext"];
    Letter::StreamBatch {
        function: text(&context["functionArn"]).map(|f| unqualified(&f)),
        condition: text(&context["condition"]),
        attempts: context["approximateInvokeCount"].as_u64(),
        error_type: text(&record["responseContext"]["functionError"]),
        failed_at: text(&record["timestamp"]),
        shard: text(&info["shardId"]),
        first_sequence: text(&info["startSequenceNumber"]),
        last_sequence: text(&info["endSequenceNumber"]),
        batch_size: info["batchSize"].as_u64(),
        first_arrival: text(&info["approximateArrivalOfFirstRecord"]),
        stream: text(&info["streamArn"]),
    }
}

/// How a dead letter goes through again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrive {
    /// Back to the escalation queue, body unchanged.
    ToQueue,
    /// An asynchronous invocation of the function with the original event.
    Invoke {
        function: String,
        payload: String,
    },
    Cannot(String),
}

impl DeadLetter {
    /// A dead letter from what SQS returned.
    pub fn new(
        queue: DlqQueue,
        message_id: String,
        body: String,
        system: &BTreeMap<String, String>,
        attributes: BTreeMap<String, String>,
    ) -> Self {
        let letter = Letter::parse(queue, &body, &attributes);
        let reason = mask_numbers(&letter.reason());
        let next = letter.next(queue, &message_id);
        Self {
            queue,
            sent_at: system
                .get("SentTimestamp")
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            receive_count: system
                .get("ApproximateReceiveCount")
                .and_then(|v| v.parse().ok()),
            message_id,
            letter,
            reason,
            next,
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (k, mask_numbers(&v)))
                .collect(),
            body,
        }
    }

    /// The body as JSON (or text), phone numbers masked, for showing.
    pub fn shown_body(&self) -> Value {
        let masked = mask_numbers(&self.body);
        match serde_json::from_str::<Value>(&masked) {
            Ok(v) => v,
            Err(_) => Value::String(masked),
        }
    }
}

/// Replaces every phone-number-like run in `text` (`+` and 7 to 15 digits)
/// with its masked form, e.g. `+14******0102`.
pub fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '+' && (i == 0 || !chars[i - 1].is_ascii_digit()) {
            let digits = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if (7..=15).contains(&digits) {
                let number: String = chars[i..=i + digits].iter().collect();
                out.push_str(&mask(&number));
                i += digits + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The text of `klaxon dlq list`.
pub fn render_list(queues: &[QueueLetters]) -> String {
    let mut out = String::new();
    for q in queues {
        match q.letters.len() {
            0 => {
                let _ = writeln!(
                    out,
                    "{} ({}): no dead letters",
                    q.queue.as_str(),
                    q.queue_name
                );
            }
            n => {
                let _ = writeln!(
                    out,
                    "{} ({}): {n} dead letter(s)",
                    q.queue.as_str(),
                    q.queue_name
                );
            }
        }
        for d in &q.letters {
            let _ = writeln!(out, "  {}  {}", d.message_id, when(d));
            let _ = writeln!(out, "    why:  {}", d.reason);
            let _ = writeln!(out, "    next: {}", d.next);
        }
    }
    out
}

/// The text of `klaxon dlq show`.
pub fn render_show(d: &DeadLetter, queue_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "message {} in {queue_name}", d.message_id);
    let _ = writeln!(out, "{}", when(d));
    let _ = writeln!(out, "why:  {}", d.reason);
    let _ = writeln!(out, "next: {}", d.next);
    if !d.attributes.is_empty() {
        let _ = writeln!(out, "attributes:");
        for (k, v) in &d.attributes {
            let _ = writeln!(out, "  {k}: {v}");
        }
    }
    let body = serde_json::to_string_pretty(&d.shown_body()).unwrap_or_default();
    let _ = writeln!(out, "body:\n{body}");
    out
}

fn when(d: &DeadLetter) -> String {
    let sent = d.sent_at.map_or_else(
        || "sent at an unknown time".to_string(),
        |t| format!("sent {}", iso(t)),
    );
    match d.receive_count {
        Some(n) => format!("{sent}, received {n} time(s)"),
        None => sent,
    }
}

/// What a redrive did with one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedriveOutcome {
    pub queue: DlqQueue,
    pub message_id: String,
    pub result: RedriveResult,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedriveResult {
    /// Sent again and deleted from the dead-letter queue.
    Redriven,
    /// `--dry-run`: what would be done.
    WouldRedrive,
    /// Sent again, but still in the dead-letter queue: delete it by hand.
    RedrivenNotDeleted,
    /// The send failed; the message stays.
    Failed,
    /// Cannot be redriven; the message stays.
    Skipped,
    /// `klaxon dlq delete`: removed from the queue.
    Deleted,
    /// `klaxon dlq delete --dry-run`: what would be removed.
    WouldDelete,
}

impl RedriveResult {
    fn as_str(self) -> &'static str {
        match self {
            RedriveResult::Redriven => "redriven",
            RedriveResult::WouldRedrive => "would redrive",
            RedriveResult::RedrivenNotDeleted => "redriven, NOT deleted",
            RedriveResult::Failed => "FAILED",
            RedriveResult::Skipped => "skipped",
            RedriveResult::Deleted => "deleted",
            RedriveResult::WouldDelete => "would delete",
        }
    }
}

/// The text of `klaxon dlq redrive`: one line per message.
pub fn render_redrive(queue_name: &str, outcomes: &[RedriveOutcome]) -> String {
    let mut out = String::new();
    if outcomes.is_empty() {
        let _ = writeln!(out, "{queue_name}: no dead letters");
    }
    for o in outcomes {
        let _ = writeln!(out, "{}: {}: {}", o.message_id, o.result.as_str(), o.detail);
    }
    out
}

/// 1 when a message could not be redriven (or deleted after it was), else 0.
pub fn redrive_exit_code(outcomes: &[RedriveOutcome]) -> u8 {
    u8::from(outcomes.iter().any(|o| {
        matches!(
            o.result,
            RedriveResult::Failed | RedriveResult::Skipped | RedriveResult::RedrivenNotDeleted
        )
    }))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
