//! Checks of the stack's own resources: tables, the applied configuration,
//! the state machine and its recent executions, the queues, the functions.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use klaxon_aws::dynamo::{DynamoConfig, DynamoStore, StoredConfig};
use klaxon_config::OncallConfig;
use klaxon_core::incident::Status as IncidentStatus;
use klaxon_core::time::iso;
use klaxon_ports::Incidents;

use super::{Check, Clients, Setting};
use crate::aws_error::describe;
use crate::names::{FUNCTIONS, QueueRole, StackNames};
use crate::validation::validate_document;

const DEPLOY: &str =
    "deploy the stack (`sam build --beta-features && sam deploy`), or name it with --stack";

/// A table exists and is ACTIVE.
pub(super) async fn table(clients: &Clients, name: &str, table: &str) -> Check {
    match clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => table_check(
            name,
            table,
            Some(
                out.table()
                    .and_then(|t| t.table_status())
                    .map_or("UNKNOWN", |s| s.as_str()),
            ),
        ),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            table_check(name, table, None)
        }
        Err(e) => Check::could_not_check(
            name,
            &format!("table {table}"),
            &describe(&e),
            "make sure your credentials may call dynamodb:DescribeTable",
        ),
    }
}

/// `status` is `None` when the table does not exist.
pub(crate) fn table_check(name: &str, table: &str, status: Option<&str>) -> Check {
    match status {
        Some("ACTIVE") => Check::ok(name, format!("{table} is ACTIVE")),
        Some(other) => Check::warning(
            name,
            format!("{table} is {other}, not ACTIVE: reads and writes may fail until it is"),
            "wait for the table's update to finish (DynamoDB console), then run doctor again",
        ),
        None => Check::problem(
            name,
            format!("table {table} does not exist: Klaxon cannot record or page incidents"),
            DEPLOY,
        ),
    }
}

/// The applied configuration exists and passes `klaxon config validate`.
/// Returns it, when valid, for the checks that compare with it.
pub(super) async fn configuration(
    clients: &Clients,
    names: &StackNames,
) -> (Check, Option<OncallConfig>) {
    const NAME: &str = "configuration";
    let store = DynamoConfig::new(
        clients.dynamodb.clone(),
        names.config_table.clone(),
        Duration::ZERO,
    );
    match store.load().await {
        Ok(Some(stored)) => configuration_check(&names.config_table, &stored),
        Ok(None) => (
            Check::problem(
                NAME,
                format!(
                    "no configuration applied to {}: alarms cannot be routed and nobody is paged",
                    names.config_table
                ),
                "klaxon config validate oncall.yaml && klaxon config apply oncall.yaml",
            ),
            None,
        ),
        Err(e) => (
            Check::could_not_check(
                NAME,
                "the applied configuration",
                &e.message,
                "make sure the config table exists and your credentials may call dynamodb:GetItem",
            ),
            None,
        ),
    }
}

pub(crate) fn configuration_check(
    table: &str,
    stored: &StoredConfig,
) -> (Check, Option<OncallConfig>) {
    const NAME: &str = "configuration";
    let what = format!(
        "revision {} in {table} (applied {} by {})",
        stored.revision, stored.applied_at, stored.applied_by
    );
    match validate_document(&stored.yaml) {
        Err(e) => {
            let mut message = format!(
                "{what} is invalid, {} problem(s); the functions may refuse it or fail to page:",
                e.issues.len()
            );
            for issue in &e.issues {
                message.push_str(&format!("\n{issue}"));
            }
            (
                Check::problem(
                    NAME,
                    message,
                    "fix the file, check it with `klaxon config validate <file>`, then `klaxon config apply <file>`",
                ),
                None,
            )
        }
        Ok(config) if !config.warnings.is_empty() => {
            let mut message = format!(
                "{what} is valid, with {} warning(s):",
                config.warnings.len()
            );
            for w in &config.warnings {
                message.push_str(&format!("\n{w}"));
            }
            (
                Check::warning(
                    NAME,
                    message,
                    "`klaxon config validate <file>` shows each with its file and line",
                ),
                Some(config),
            )
        }
        Ok(config) => (
            Check::ok(
                NAME,
                format!(
                    "{what} is valid: {} people, {} services, {} schedules, {} escalation policies",
                    config.raw.people.len(),
                    config.raw.services.len(),
                    config.raw.schedules.len(),
                    config.raw.escalation_policies.len()
                ),
            ),
            Some(config),
        ),
    }
}

/// The state machine `<stack>-escalation` exists and is ACTIVE. Returns its ARN.
pub(super) async fn state_machine(
    clients: &Clients,
    names: &StackNames,
) -> (Check, Option<String>) {
    const NAME: &str = "state-machine";
    let wanted = names.state_machine();
    let mut machines = clients
        .sfn
        .list_state_machines()
        .into_paginator()
        .items()
        .send();
    let arn = loop {
        match machines.next().await {
            Some(Ok(m)) if m.name() == wanted => break Some(m.state_machine_arn().to_string()),
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                let check = Check::could_not_check(
                    NAME,
                    &format!("state machine {wanted}"),
                    &describe(&e),
                    "make sure your credentials may call states:ListStateMachines",
                );
                return (check, None);
            }
            None => break None,
        }
    };
    let Some(arn) = arn else {
        let check = Check::problem(
            NAME,
            format!("state machine {wanted} does not exist: no incident is escalated"),
            DEPLOY,
        );
        return (check, None);
    };
    let check = match clients
        .sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
    {
        Ok(out) => match out.status().map(|s| s.as_str()) {
            Some("ACTIVE") | None => Check::ok(NAME, format!("{wanted} is ACTIVE")),
            Some(other) => Check::problem(
                NAME,
                format!("{wanted} is {other}: no new escalation can start"),
                DEPLOY,
            ),
        },
        Err(e) => Check::could_not_check(
            NAME,
            &format!("state machine {wanted}"),
            &describe(&e),
            "make sure your credentials may call states:DescribeStateMachine",
        ),
    };
    (check, Some(arn))
}

/// An execution that ended without finishing its escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    /// The execution name: the incident id.
    pub name: String,
    pub status: String,
    pub stopped: Timestamp,
}

/// How far back executions are read, and how many pages at most per status.
const RECENT: SignedDuration = SignedDuration::from_hours(24);
const MAX_PAGES: usize = 10;

/// Failed, timed-out and aborted executions that ended in the last 24 h.
/// Klaxon aborts an execution on every acknowledgement and resolve, so an
/// aborted one counts only when its incident is still triggered.
pub(super) async fn recent_escalations(
    clients: &Clients,
    names: &StackNames,
    state_machine: Option<&str>,
    now: Timestamp,
) -> Check {
    const NAME: &str = "recent-escalations";
    let Some(arn) = state_machine else {
        return Check::warning(
            NAME,
            "not checked: the state machine was not found",
            "fix the state-machine check first",
        );
    };
    let since = now - RECENT;
    let mut failed = Vec::new();
    let mut aborted = Vec::new();
    for status in [
        aws_sdk_sfn::types::ExecutionStatus::Failed,
        aws_sdk_sfn::types::ExecutionStatus::TimedOut,
        aws_sdk_sfn::types::ExecutionStatus::Aborted,
    ] {
        let mut pages = clients
            .sfn
            .list_executions()
            .state_machine_arn(arn)
            .status_filter(status.clone())
            .into_paginator()
            .send();
        for _ in 0..MAX_PAGES {
            let out = match pages.next().await {
                None => break,
                Some(Ok(out)) => out,
                Some(Err(e)) => {
                    return Check::could_not_check(
                        NAME,
                        "recent escalations",
                        &describe(&e),
                        "make sure your credentials may call states:ListExecutions",
                    );
                }
            };
            let mut older = false;
            for x in out.executions() {
                let stopped = x.stop_date().and_then(to_timestamp);
                let started = to_timestamp(x.start_date());
                if started.is_some_and(|s| s < since - SignedDuration::from_hours(24 * 6)) {
                    older = true;
                }
                let Some(stopped) = stopped.filter(|s| *s >= since) else {
                    continue;
                };
                let ended = Ended {
                    name: x.name().to_string(),
                    status: x.status().as_str().to_string(),
                    stopped,
                };
                if status == aws_sdk_sfn::types::ExecutionStatus::Aborted {
                    aborted.push(ended);
                } else {
                    failed.push(ended);
                }
            }
            if older {
                break;
            }
        }
    }
    // An abort with the incident still triggered stopped paging for it.
    let store = DynamoStore::new(clients.dynamodb.clone(), names.incidents_table.clone());
    let mut stopped_triggered = Vec::new();
    let mut normal_aborts = 0;
    for a in aborted {
        match store.get(&a.name).await {
            Ok(Some(incident)) if incident.status == IncidentStatus::Triggered => {
                stopped_triggered.push(a);
            }
            Ok(Some(_)) => normal_aborts += 1,
            Ok(None) => stopped_triggered.push(a),
            Err(e) => {
                return Check::could_not_check(
                    NAME,
                    &format!("the incident of the stopped escalation {}", a.name),
                    &e.message,
                    "make sure your credentials may call dynamodb:GetItem on the incidents table",
                );
            }
        }
    }
    escalations_check(&failed, &stopped_triggered, normal_aborts)
}

pub(crate) fn escalations_check(
    failed: &[Ended],
    stopped_triggered: &[Ended],
    normal_aborts: usize,
) -> Check {
    const NAME: &str = "recent-escalations";
    if failed.is_empty() && stopped_triggered.is_empty() {
        return Check::ok(
            NAME,
            format!(
                "no escalation failed, timed out or was stopped while its incident was still triggered in the last 24 h ({normal_aborts} ended by an acknowledgement or resolve)"
            ),
        );
    }
    let mut message = format!(
        "{} escalation(s) in the last 24 h stopped paging an incident that nobody acknowledged:",
        failed.len() + stopped_triggered.len()
    );
    for e in failed {
        message.push_str(&format!("\n{} {} at {}", e.name, e.status, iso(e.stopped)));
    }
    for e in stopped_triggered {
        message.push_str(&format!(
            "\n{} ABORTED at {} while the incident is not acknowledged or resolved (or no longer exists)",
            e.name,
            iso(e.stopped)
        ));
    }
    let first = failed
        .first()
        .or(stopped_triggered.first())
        .map_or("<id>", |e| e.name.as_str());
    Check::problem(
        NAME,
        message,
        format!(
            "`klaxon incidents show {first}` (its escalation_failed entry says why); page the on-call person by hand if it is still open; `klaxon dlq list` shows steps that failed"
        ),
    )
}

fn to_timestamp(t: &aws_sdk_sfn::primitives::DateTime) -> Option<Timestamp> {
    Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).unwrap_or(0)).ok()
}

/// Depth of a queue: visible, in flight, delayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Depth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl Depth {
    fn total(self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// Each queue exists; the dead-letter queues are empty.
pub(super) async fn queues(clients: &Clients, names: &StackNames) -> Vec<Check> {
    let mut checks = Vec::new();
    for role in QueueRole::ALL {
        let queue = names.queue(role);
        let url = match clients.sqs.get_queue_url().queue_name(&queue).send().await {
            Ok(out) => out.queue_url().map(str::to_string),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_queue_does_not_exist()) =>
            {
                None
            }
            Err(e) => {
                checks.push(Check::could_not_check(
                    queue_check_name(role),
                    &format!("queue {queue}"),
                    &describe(&e),
                    "make sure your credentials may call sqs:GetQueueUrl",
                ));
                continue;
            }
        };
        let Some(url) = url else {
            checks.push(queue_check(role, &queue, None));
            continue;
        };
        use aws_sdk_sqs::types::QueueAttributeName as A;
        match clients
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
        {
            Ok(out) => {
                let get = |a: A| {
                    out.attributes()
                        .and_then(|m| m.get(&a))
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let depth = Depth {
                    visible: get(A::ApproximateNumberOfMessages),
                    in_flight: get(A::ApproximateNumberOfMessagesNotVisible),
                    delayed: get(A::ApproximateNumberOfMessagesDelayed),
                };
                checks.push(queue_check(role, &queue, Some(depth)));
            }
            Err(e) => checks.push(Check::could_not_check(
                queue_check_name(role),
                &format!("the depth of {queue}"),
                &describe(&e),
                "make sure your credentials may call sqs:GetQueueAttributes",
            )),
        }
    }
    checks
}

pub(crate) fn queue_check_name(role: QueueRole) -> &'static str {
    match role {
        QueueRole::EscalationSteps => "escalation-queue",
        QueueRole::EscalationDeadLetters => "escalation-dead-letters",
        QueueRole::FailedEvents => "failed-events",
        QueueRole::UndeliveredNotifications => "undelivered-notifications",
        QueueRole::UnpublishedEvents => "unpublished-events",
        QueueRole::UnnotifiedEvents => "unnotified-events",
        QueueRole::AlarmTopicDeadLetters => "alarm-topic-dead-letters",
        QueueRole::InboundSmsDeadLetters => "inbound-sms-dead-letters",
        QueueRole::StatusPageFailedBatches => "status-page-failed-batches",
    }
}

/// `depth` is `None` when the queue does not exist.
pub(crate) fn queue_check(role: QueueRole, queue: &str, depth: Option<Depth>) -> Check {
    let name = queue_check_name(role);
    let Some(depth) = depth else {
        if !role.always_deployed() {
            return Check::ok(
                name,
                format!("no queue {queue}: the stack has no status page (StatusPage=disabled)"),
            );
        }
        return Check::problem(
            name,
            format!("queue {queue} does not exist"),
            format!(
                "{DEPLOY} (a stack deployed before queues had fixed names has them under generated names: deploy it again)"
            ),
        );
    };
    let n = depth.total();
    match role {
        QueueRole::EscalationSteps => Check::ok(
            name,
            format!(
                "{queue} exists ({} waiting, {} being handled, {} delayed)",
                depth.visible, depth.in_flight, depth.delayed
            ),
        ),
        _ if n == 0 => Check::ok(name, format!("{queue} is empty")),
        QueueRole::EscalationDeadLetters => Check::problem(
            name,
            format!(
                "{n} escalation step(s) failed five times and wait in {queue}: their pages may not have gone out"
            ),
            "`klaxon dlq list --queue escalation` shows the incidents; fix the cause (the escalator's logs), then `klaxon dlq redrive --queue escalation`",
        ),
        QueueRole::StatusPageFailedBatches => Check::problem(
            name,
            format!(
                "{n} stream batch(es) the status page function gave up on wait in {queue}: the public status page missed those changes until the next one (paging is not affected)"
            ),
            "`klaxon dlq list --queue status-page`; read the status page function's logs around the failure, then `klaxon dlq delete --queue status-page`",
        ),
        QueueRole::AlarmTopicDeadLetters => Check::problem(
            name,
            format!(
                "{n} alarm(s) SNS could not hand to alarm-intake wait in {queue}: they opened no incident and paged nobody"
            ),
            "`klaxon dlq list --queue alarm-topic`; fix what stopped delivery (the function, its permission for sns.amazonaws.com, its concurrency), then `klaxon dlq redrive --queue alarm-topic`",
        ),
        QueueRole::InboundSmsDeadLetters => Check::problem(
            name,
            format!(
                "{n} SMS reply(ies) SNS could not hand to sms-reply wait in {queue}: an ACK may not have counted"
            ),
            "`klaxon dlq list --queue inbound-sms`; fix what stopped delivery, then `klaxon dlq redrive --queue inbound-sms`",
        ),
        QueueRole::FailedEvents => Check::problem(
            name,
            format!(
                "{n} event(s) wait in {queue}: an alarm may not have opened an incident, or a reply may not have counted"
            ),
            "`klaxon dlq list --queue failed-events` says why each failed; after the fix, `klaxon dlq redrive --queue failed-events`",
        ),
        QueueRole::UndeliveredNotifications => Check::problem(
            name,
            format!(
                "{n} delivery(ies) to Slack, Teams, a webhook, an email list or Incident Manager failed for good and wait in {queue} (paging is not affected)"
            ),
            "`klaxon dlq list --queue undelivered-notifications` names the incident, the event, the destination and the error of each (also on the incident's timeline); fix the destination or its secret (`klaxon config validate --stack`), then `klaxon dlq delete --queue undelivered-notifications`",
        ),
        QueueRole::UnpublishedEvents => Check::problem(
            name,
            format!(
                "{n} batch(es) of the incidents table's stream were never published on the event bus and wait in {queue}: rules on the bus (tickets, archives) missed those events (paging is not affected)"
            ),
            "`klaxon dlq list --queue unpublished-events` gives each batch's stream position and why; the event-publisher's logs say more",
        ),
        QueueRole::UnnotifiedEvents => Check::problem(
            name,
            format!(
                "{n} batch(es) of the incidents table's stream never reached the notifier or the status page function and wait in {queue}: Slack, Teams, webhooks, Incident Manager or the status page missed those changes (paging is not affected)"
            ),
            "`klaxon dlq list --queue unnotified-events` gives each batch's function, stream position and why; that function's logs say more",
        ),
    }
}

/// What the functions' configuration tells the other checks.
#[derive(Debug, Clone)]
pub(super) struct FunctionFacts {
    pub origination_number: Setting,
    pub email_from: Setting,
    pub voice_from: Setting,
}

/// What doctor learned about one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FunctionState {
    /// Found: its state and the outcome of its last update, when given.
    Found {
        state: Option<String>,
        last_update: Option<String>,
    },
    Missing,
    Unreadable(String),
}

/// The three functions exist and are active; the escalator's environment
/// gives the origination number and the email sender.
/// A deployed function's configuration; `None` when it does not exist.
pub(super) async fn function_configuration(
    clients: &Clients,
    function: &str,
) -> Result<
    Option<aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput>,
    String,
> {
    match clients
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(describe(&e)),
    }
}

pub(super) async fn functions(clients: &Clients, names: &StackNames) -> (Check, FunctionFacts) {
    let mut found = Vec::new();
    let escalator_name = names.function("escalator");
    let mut facts = FunctionFacts {
        origination_number: Setting::Unknown(format!("{escalator_name} was not read")),
        email_from: Setting::Unknown(format!("{escalator_name} was not read")),
        voice_from: Setting::Unknown(format!("{escalator_name} was not read")),
    };
    for suffix in FUNCTIONS {
        let function = names.function(suffix);
        let state = match function_configuration(clients, &function).await {
            Ok(Some(out)) => {
                if function == escalator_name {
                    let env = out.environment().and_then(|e| e.variables());
                    let var = |k: &str| env.and_then(|m| m.get(k)).map(String::as_str);
                    facts.origination_number =
                        Setting::from_env(var("KLAXON_SMS_ORIGINATION_NUMBER"));
                    facts.email_from = Setting::from_env(var("KLAXON_EMAIL_FROM"));
                    facts.voice_from = Setting::from_env(var("KLAXON_VOICE_FROM_NUMBER"));
                }
                FunctionState::Found {
                    state: out.state().map(|s| s.as_str().to_string()),
                    last_update: out.last_update_status().map(|s| s.as_str().to_string()),
                }
            }
            Ok(None) => FunctionState::Missing,
            Err(why) => FunctionState::Unreadable(why),
        };
        if function == escalator_name {
            match &state {
                FunctionState::Missing => {
                    let why = format!("{function} does not exist");
                    facts.origination_number = Setting::Unknown(why.clone());
                    facts.email_from = Setting::Unknown(why.clone());
                    facts.voice_from = Setting::Unknown(why);
                }
                FunctionState::Unreadable(e) => {
                    let why = format!("{function} could not be read: {e}");
                    facts.origination_number = Setting::Unknown(why.clone());
                    facts.email_from = Setting::Unknown(why.clone());
                    facts.voice_from = Setting::Unknown(why);
                }
                FunctionState::Found { .. } => {}
            }
        }
        found.push((function, state));
    }
    (functions_check(&found), facts)
}

pub(crate) fn functions_check(functions: &[(String, FunctionState)]) -> Check {
    const NAME: &str = "functions";
    let missing: Vec<&str> = functions
        .iter()
        .filter(|(_, s)| *s == FunctionState::Missing)
        .map(|(n, _)| n.as_str())
        .collect();
    let broken: Vec<String> = functions
        .iter()
        .filter_map(|(n, s)| match s {
            FunctionState::Found { state, last_update }
                if state.as_deref() == Some("Failed")
                    || last_update.as_deref() == Some("Failed") =>
            {
                Some(format!(
                    "{n} (state {}, last update {})",
                    state.as_deref().unwrap_or("?"),
                    last_update.as_deref().unwrap_or("?")
                ))
            }
            _ => None,
        })
        .collect();
    if !missing.is_empty() || !broken.is_empty() {
        let mut message = String::new();
        if !missing.is_empty() {
            message.push_str(&format!("not found: {}", missing.join(", ")));
        }
        if !broken.is_empty() {
            if !message.is_empty() {
                message.push('\n');
            }
            message.push_str(&format!("failed: {}", broken.join(", ")));
        }
        return Check::problem(NAME, message, DEPLOY);
    }
    let unreadable: Vec<String> = functions
        .iter()
        .filter_map(|(n, s)| match s {
            FunctionState::Unreadable(e) => Some(format!("{n}: {e}")),
            _ => None,
        })
        .collect();
    if !unreadable.is_empty() {
        return Check::could_not_check(
            NAME,
            "the functions",
            &unreadable.join("; "),
            "make sure your credentials may call lambda:GetFunctionConfiguration",
        );
    }
    let not_active: Vec<String> = functions
        .iter()
        .filter_map(|(n, s)| match s {
            FunctionState::Found {
                state: Some(state), ..
            } if state != "Active" => Some(format!("{n} is {state}")),
            _ => None,
        })
        .collect();
    if !not_active.is_empty() {
        return Check::warning(
            NAME,
            not_active.join(", "),
            "an Inactive function wakes on its next invocation, slower; a Pending one is still being deployed: run doctor again in a minute",
        );
    }
    let all: Vec<&str> = functions.iter().map(|(n, _)| n.as_str()).collect();
    Check::ok(NAME, format!("{} are deployed", all.join(", ")))
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
