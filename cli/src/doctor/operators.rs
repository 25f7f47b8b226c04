//! Who hears Klaxon's alarms on itself: the stack's operator alerts topic
//! (`<stack>-operator-alerts`) must have a confirmed subscription. SNS
//! lists one still waiting for its confirmation with the subscription ARN
//! `PendingConfirmation`; such a subscriber hears nothing yet.

use crate::aws_error::describe;
use crate::names::StackNames;

use super::{Check, Clients};

const NAME: &str = "operator-alerts";

/// One subscription of the topic, as SNS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscriber {
    pub protocol: String,
    /// `PendingConfirmation` until the subscriber confirms.
    pub arn: String,
}

impl Subscriber {
    fn confirmed(&self) -> bool {
        self.arn.starts_with("arn:")
    }
}

pub(super) async fn check(clients: &Clients, names: &StackNames) -> Check {
    let topic_name = names.operator_alerts_topic();
    let topic = match find_topic(&clients.sns, &topic_name).await {
        Ok(topic) => topic,
        Err(e) => {
            return Check::could_not_check(
                NAME,
                &format!("the topic {topic_name}"),
                &e,
                "make sure your credentials may call sns:ListTopics (the stack's OperatorPolicy allows it)",
            );
        }
    };
    let Some(topic) = topic else {
        return subscribers_check(&topic_name, None);
    };
    match subscribers(&clients.sns, &topic).await {
        Ok(subs) => subscribers_check(&topic_name, Some(&subs)),
        Err(e) => Check::could_not_check(
            NAME,
            &format!("the subscriptions of {topic_name}"),
            &e,
            "make sure your credentials may call sns:ListSubscriptionsByTopic on the topic (the stack's OperatorPolicy allows it)",
        ),
    }
}

async fn find_topic(client: &aws_sdk_sns::Client, name: &str) -> Result<Option<String>, String> {
    let suffix = format!(":{name}");
    let mut pages = client.list_topics().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe(&e))?;
        if let Some(arn) = page
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn())
            .find(|arn| arn.ends_with(&suffix))
        {
            return Ok(Some(arn.to_string()));
        }
    }
    Ok(None)
}

async fn subscribers(client: &aws_sdk_sns::Client, topic: &str) -> Result<Vec<Subscriber>, String> {
    let mut out = Vec::new();
    let mut pages = client
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe(&e))?;
        out.extend(page.subscriptions().iter().map(|s| Subscriber {
            protocol: s.protocol().unwrap_or_default().to_string(),
            arn: s.subscription_arn().unwrap_or_default().to_string(),
        }));
    }
    Ok(out)
}

/// The check from what SNS listed (`None`: no such topic).
pub(crate) fn subscribers_check(topic: &str, subscribers: Option<&[Subscriber]>) -> Check {
    const SUBSCRIBE: &str = "deploy with OperatorEmail=<address> (or subscribe someone to the topic) and confirm the email SNS sends";
    let Some(subscribers) = subscribers else {
        return Check::problem(
            NAME,
            format!(
                "no topic {topic}: Klaxon's alarms on itself (pages given up, escalations exhausted, dead letters) reach nobody"
            ),
            "deploy the stack's template: it creates the topic and its subscriptions",
        );
    };
    let (confirmed, pending): (Vec<&Subscriber>, Vec<&Subscriber>) =
        subscribers.iter().partition(|s| s.confirmed());
    let by_protocol = |subs: &[&Subscriber]| {
        let mut protocols: Vec<&str> = subs.iter().map(|s| s.protocol.as_str()).collect();
        protocols.sort_unstable();
        protocols.join(", ")
    };
    if confirmed.is_empty() {
        let waiting = if pending.is_empty() {
            "it has no subscription".to_string()
        } else {
            format!(
                "its {} subscription(s) ({}) are not confirmed yet",
                pending.len(),
                by_protocol(&pending)
            )
        };
        return Check::problem(
            NAME,
            format!(
                "nobody hears Klaxon's alarms on itself (pages given up, escalations exhausted, dead letters): {topic} has no confirmed subscriber, {waiting}"
            ),
            SUBSCRIBE,
        );
    }
    let heard = format!(
        "{} confirmed subscriber(s) of {topic} ({})",
        confirmed.len(),
        by_protocol(&confirmed)
    );
    if confirmed.iter().all(|s| s.protocol == "sms") {
        return Check::warning(
            NAME,
            format!(
                "{heard}: only by SMS, which shares SNS SMS (sandbox, spend limit) with the pages, so an SMS outage silences both"
            ),
            SUBSCRIBE,
        );
    }
    Check::ok(NAME, heard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn sub(protocol: &str, arn: &str) -> Subscriber {
        Subscriber {
            protocol: protocol.into(),
            arn: arn.into(),
        }
    }

    const TOPIC: &str = "prod-operator-alerts";
    const ARN: &str = "arn:aws:sns:us-east-1:123456789012:prod-operator-alerts:1f2e";

    #[test]
    fn a_confirmed_email_subscriber_hears_the_alarms() {
        let c = subscribers_check(TOPIC, Some(&[sub("email", ARN)]));
        assert_eq!(c.status, Status::Ok, "{c:?}");
        assert!(c.message.contains("1 confirmed subscriber(s)"), "{c:?}");
    }

    #[test]
    fn a_topic_with_no_subscriber_or_none_confirmed_is_a_problem() {
        let none = subscribers_check(TOPIC, Some(&[]));
        assert_eq!(none.status, Status::Problem);
        assert!(none.message.contains("no subscription"), "{none:?}");
        let pending = subscribers_check(TOPIC, Some(&[sub("email", "PendingConfirmation")]));
        assert_eq!(pending.status, Status::Problem);
        assert!(pending.message.contains("not confirmed yet"), "{pending:?}");
        assert!(pending.fix.unwrap().contains("confirm"));
        let missing = subscribers_check(TOPIC, None);
        assert_eq!(missing.status, Status::Problem);
    }

    #[test]
    fn only_sms_subscribers_are_a_warning_as_sms_may_be_what_broke() {
        let c = subscribers_check(
            TOPIC,
            Some(&[sub("sms", ARN), sub("email", "PendingConfirmation")]),
        );
        assert_eq!(c.status, Status::Warning, "{c:?}");
    }
}
