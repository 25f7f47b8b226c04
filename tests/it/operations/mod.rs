//! The operator commands `klaxon dlq` and `klaxon doctor`, run through the
//! CLI's own library against a local stack: dead letters in the shapes AWS
//! writes them, real escalations, and a stand-in for the Lambda API
//! ([`lambda`]) where moto cannot run functions.

mod dlq;
mod doctor;
mod lambda;

use std::collections::BTreeMap;

use aws_sdk_sqs::types::MessageAttributeValue;
use klaxon_cli::names::StackNames;
use serde_json::Value;

use crate::common::World;

/// The template's logical ids of the queues.
pub const FAILED_EVENTS: &str = "FailedEventsQueue";
pub const ESCALATION_DLQ: &str = "EscalationDeadLetterQueue";
pub const ESCALATION_QUEUE: &str = "EscalationQueue";
pub const UNDELIVERED: &str = "UndeliveredNotificationsQueue";
pub const UNNOTIFIED_EVENTS: &str = "UnnotifiedEventsQueue";
pub const UNPUBLISHED_EVENTS: &str = "UnpublishedEventsQueue";

pub fn names(w: &World) -> StackNames {
    StackNames::new(&w.local.stack.name)
}

/// A function ARN of this stack, as Lambda and EventBridge write it.
pub fn function_arn(w: &World, suffix: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{}-{suffix}",
        w.local.stack.region,
        klaxon_local::stack::LOCAL_ACCOUNT,
        w.local.stack.name
    )
}

/// Sends a message to one of the stack's queues, with string attributes;
/// returns its message id.
pub async fn put(w: &World, queue: &str, body: &str, attributes: &[(&str, &str)]) -> String {
    let url = w.local.stack.physical(queue).expect("queue");
    let mut send = w.local.sqs.send_message().queue_url(url).message_body(body);
    for (k, v) in attributes {
        send = send.message_attributes(
            *k,
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*v)
                .build()
                .expect("attribute"),
        );
    }
    let out = send.send().await.expect("send message");
    out.message_id().expect("message id").to_string()
}

/// Every message body in a queue, consuming them (for queues the test
/// owns, after the command under test is done).
pub async fn drain(w: &World, queue: &str) -> Vec<String> {
    let url = w.local.stack.physical(queue).expect("queue");
    let mut bodies = Vec::new();
    loop {
        let out = w
            .local
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = out.messages();
        if messages.is_empty() {
            return bodies;
        }
        for m in messages {
            bodies.push(m.body().unwrap_or_default().to_string());
            w.local
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}

/// How many messages a queue holds, visible or not.
pub async fn depth(w: &World, queue: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let url = w.local.stack.physical(queue).expect("queue");
    let out = w
        .local
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    let attrs = out.attributes().cloned().unwrap_or_default();
    let get = |a: A| {
        attrs
            .get(&a)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(A::ApproximateNumberOfMessages) + get(A::ApproximateNumberOfMessagesNotVisible)
}

/// How many messages a queue shows now (not hidden by a receive).
pub async fn visible(w: &World, queue: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let url = w.local.stack.physical(queue).expect("queue");
    let out = w
        .local
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("queue attributes");
    out.attributes()
        .and_then(|a| a.get(&A::ApproximateNumberOfMessages))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Lambda's OnFailure record for a failed asynchronous invocation of this
/// stack's sms-reply (events/lambda-failure-record.json, function renamed).
pub fn lambda_failure_record(w: &World) -> Value {
    let mut record = klaxon_local::events::sample("lambda-failure-record.json").expect("sample");
    record["requestContext"]["functionArn"] =
        format!("{}:$LATEST", function_arn(w, "sms-reply")).into();
    record
}

/// The attributes EventBridge puts on a dead letter for this stack's intake.
pub fn rule_dead_letter_attributes(w: &World) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("ERROR_CODE", "SDK_CLIENT_ERROR".to_string()),
        (
            "ERROR_MESSAGE",
            "Unable to invoke Lambda function: Rate Exceeded.".to_string(),
        ),
        (
            "RULE_ARN",
            format!(
                "arn:aws:events:{}:{}:rule/{}-AlarmIntakeFunctionAlarmStateChange-1X2Y",
                w.local.stack.region,
                klaxon_local::stack::LOCAL_ACCOUNT,
                w.local.stack.name
            ),
        ),
        ("TARGET_ARN", function_arn(w, "alarm-intake")),
        (
            "EXHAUSTED_RETRY_CONDITION",
            "MaximumRetryAttempts".to_string(),
        ),
        ("RETRY_ATTEMPTS", "8".to_string()),
    ])
}

#[tokio::test]
async fn the_names_the_operator_commands_use_are_the_ones_the_template_gives() {
    use klaxon_cli::names::{FUNCTIONS, QueueRole};
    let w = World::bare().await;
    let stack = &w.local.stack;
    let n = names(&w);
    let queue = |id: &str| stack.queue_name(id).unwrap().to_string();
    assert_eq!(
        queue("EscalationQueue"),
        n.queue(QueueRole::EscalationSteps)
    );
    assert_eq!(
        queue("EscalationDeadLetterQueue"),
        n.queue(QueueRole::EscalationDeadLetters)
    );
    assert_eq!(queue("FailedEventsQueue"), n.queue(QueueRole::FailedEvents));
    let state_machine = stack.physical("EscalationStateMachine").unwrap();
    assert_eq!(state_machine.rsplit(':').next().unwrap(), n.state_machine());
    assert_eq!(stack.physical("IncidentsTable").unwrap(), n.incidents_table);
    assert_eq!(stack.physical("ConfigTable").unwrap(), n.config_table);
    let deployed: Vec<String> = stack
        .resources()
        .values()
        .filter(|r| r.kind == "AWS::Lambda::Function")
        .filter_map(|r| r.physical.clone())
        .collect();
    for suffix in FUNCTIONS {
        assert!(deployed.contains(&n.function(suffix)), "{deployed:?}");
    }
}
