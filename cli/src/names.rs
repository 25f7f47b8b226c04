//! Resource names of a stack, as `infra/template.yaml` gives them: every
//! name is the stack name plus a fixed suffix.

/// The queues of a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueRole {
    /// The callback queue between the state machine and the escalator.
    EscalationSteps,
    /// Escalation steps the escalator failed five times.
    EscalationDeadLetters,
    /// Failed async invocations of intake and sms-reply, and events the
    /// EventBridge rule could not deliver.
    FailedEvents,
    /// Deliveries to Slack, Teams, webhooks, email lists and Incident
    /// Manager that failed for good.
    UndeliveredNotifications,
    /// Stream batches the event publisher gave up on.
    UnpublishedEvents,
    /// Stream batches the notifier gave up on.
    UnnotifiedEvents,
    /// Alarms SNS could not hand from AlarmTopic to intake.
    AlarmTopicDeadLetters,
    /// SMS replies SNS could not hand from InboundSmsTopic to sms-reply.
    InboundSmsDeadLetters,
    /// Stream batches the status page function gave up on (only on a stack
    /// with `StatusPage=enabled`).
    StatusPageFailedBatches,
}

impl QueueRole {
    pub const ALL: [QueueRole; 9] = [
        QueueRole::EscalationSteps,
        QueueRole::EscalationDeadLetters,
        QueueRole::FailedEvents,
        QueueRole::UndeliveredNotifications,
        QueueRole::UnpublishedEvents,
        QueueRole::UnnotifiedEvents,
        QueueRole::AlarmTopicDeadLetters,
        QueueRole::InboundSmsDeadLetters,
        QueueRole::StatusPageFailedBatches,
    ];

    /// Whether every stack has it (the status page's is optional).
    pub fn always_deployed(self) -> bool {
        self != QueueRole::StatusPageFailedBatches
    }

    /// The suffix after `<stack>-` (the template's `QueueName`).
    pub fn suffix(self) -> &'static str {
        match self {
            QueueRole::EscalationSteps => "escalation-steps",
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
}

/// The functions of a stack (the template's `FunctionName`s).
pub const FUNCTIONS: [&str; 3] = ["alarm-intake", "sms-reply", "escalator"];

/// The names a stack's resources have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackNames {
    pub stack: String,
    pub incidents_table: String,
    pub config_table: String,
}

impl StackNames {
    /// Every name from the stack name alone.
    pub fn new(stack: &str) -> Self {
        Self {
            stack: stack.to_string(),
            incidents_table: format!("{stack}-incidents"),
            config_table: format!("{stack}-config"),
        }
    }

    /// The escalation state machine.
    pub fn state_machine(&self) -> String {
        format!("{}-escalation", self.stack)
    }

    pub fn queue(&self, role: QueueRole) -> String {
        format!("{}-{}", self.stack, role.suffix())
    }

    /// The topic Klaxon's alarms on itself go to (the template's
    /// `OperatorAlertsTopic`).
    pub fn operator_alerts_topic(&self) -> String {
        format!("{}-operator-alerts", self.stack)
    }

    /// A function by its suffix (`alarm-intake`, `sms-reply`, `escalator`).
    pub fn function(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.stack)
    }

    /// Whether a function name (or ARN) belongs to this stack: its name
    /// starts with `<stack>-`.
    pub fn owns_function(&self, name_or_arn: &str) -> bool {
        function_name(name_or_arn).starts_with(&format!("{}-", self.stack))
    }
}

/// The function name in a Lambda function ARN (qualified or not), or the
/// input itself when it is not an ARN.
pub fn function_name(name_or_arn: &str) -> &str {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    let parts: Vec<&str> = name_or_arn.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[5] == "function" {
        parts[6]
    } else {
        name_or_arn
    }
}

/// The ARN without a version or alias qualifier, so that an invocation
/// runs the function's current code.
pub fn unqualified(name_or_arn: &str) -> String {
    let parts: Vec<&str> = name_or_arn.split(':').collect();
    if parts.len() > 7 && parts[0] == "arn" && parts[5] == "function" {
        parts[..7].join(":")
    } else {
        name_or_arn.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_the_stack_name_plus_the_templates_suffix() {
        let n = StackNames::new("prod");
        assert_eq!(n.incidents_table, "prod-incidents");
        assert_eq!(n.config_table, "prod-config");
        assert_eq!(n.state_machine(), "prod-escalation");
        assert_eq!(
            n.queue(QueueRole::EscalationDeadLetters),
            "prod-escalation-dead-letters"
        );
        assert_eq!(n.queue(QueueRole::FailedEvents), "prod-failed-events");
        assert_eq!(n.function("escalator"), "prod-escalator");
    }

    #[test]
    fn a_qualified_function_arn_loses_its_qualifier_and_keeps_its_name() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:prod-alarm-intake:$LATEST";
        assert_eq!(
            unqualified(arn),
            "arn:aws:lambda:us-east-1:123456789012:function:prod-alarm-intake"
        );
        assert_eq!(function_name(arn), "prod-alarm-intake");
        assert_eq!(unqualified("prod-alarm-intake"), "prod-alarm-intake");
    }

    #[test]
    fn only_functions_named_after_the_stack_belong_to_it() {
        let n = StackNames::new("prod");
        assert!(n.owns_function("arn:aws:lambda:us-east-1:1:function:prod-sms-reply"));
        assert!(!n.owns_function("arn:aws:lambda:us-east-1:1:function:production-x"));
        assert!(!n.owns_function("other-sms-reply"));
    }
}
