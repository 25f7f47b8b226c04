//! Dead letters of an SNS subscription (its redrive policy): what SNS could
//! not hand to the function subscribed to AlarmTopic or InboundSmsTopic.
//! The body is SNS's notification (`Type`, `MessageId`, `TopicArn`,
//! `Message`, ...), as SNS puts it in `Records[].Sns` of the function's
//! event; a body that is not one (raw delivery) is the message itself. A
//! redrive invokes the function with the event SNS would have sent.

use serde::Serialize;
use serde_json::{Value, json};

use super::Letter;

/// One undelivered SNS message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnsLetter {
    /// The function it was for (the suffix after `<stack>-`).
    pub function: &'static str,
    pub topic: Option<String>,
    pub sns_message_id: Option<String>,
    /// When it was published (`Timestamp`).
    pub published_at: Option<String>,
    /// The notification, as the function's event carries it.
    #[serde(skip)]
    envelope: Value,
}

/// Reads a dead letter meant for `function`.
pub(super) fn letter(function: &'static str, body: &str) -> Letter {
    let envelope = match serde_json::from_str::<Value>(body) {
        Ok(v) if v.get("Message").is_some_and(Value::is_string) => v,
        _ if body.is_empty() => {
            return Letter::Unknown {
                why: "an empty message: nothing to hand over".into(),
            };
        }
        _ => json!({"Type": "Notification", "Message": body}),
    };
    let text = |k: &str| envelope.get(k).and_then(Value::as_str).map(str::to_string);
    Letter::SnsDelivery(SnsLetter {
        function,
        topic: text("TopicArn"),
        sns_message_id: text("MessageId"),
        published_at: text("Timestamp"),
        envelope,
    })
}

impl SnsLetter {
    pub fn reason(&self) -> String {
        let what = match self.function {
            "alarm-intake" => "an alarm",
            "sms-reply" => "an SMS reply",
            _ => "a message",
        };
        let id = self
            .sns_message_id
            .as_deref()
            .map_or(String::new(), |id| format!(" (SNS message {id})"));
        let when = self
            .published_at
            .as_deref()
            .map_or(String::new(), |t| format!(", published {t}"));
        format!(
            "SNS could not hand {what}{id}{when} to {} (the function, its permission or its concurrency)",
            self.function
        )
    }

    /// The event SNS would have invoked the function with.
    pub fn event(&self) -> Value {
        json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "Sns": self.envelope,
        }]})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTIFICATION: &str = r#"{"Type":"Notification","MessageId":"5e1c","TopicArn":"arn:aws:sns:us-east-1:123456789012:prod-alarms","Message":"{\"AlarmName\":\"api-5xx\"}","Timestamp":"2026-12-07T06:00:00.000Z"}"#;

    #[test]
    fn an_undelivered_notification_is_handed_over_as_the_event_sns_would_send() {
        let Letter::SnsDelivery(l) = letter("alarm-intake", NOTIFICATION) else {
            panic!("an SNS letter");
        };
        assert_eq!(l.sns_message_id.as_deref(), Some("5e1c"));
        assert!(
            l.reason()
                .starts_with("SNS could not hand an alarm (SNS message 5e1c)")
        );
        let event = l.event();
        let messages: Vec<_> = klaxon_app::sns::sns_messages(&event)
            .unwrap()
            .map(|m| m.unwrap().message.to_string())
            .collect();
        assert_eq!(messages, vec![r#"{"AlarmName":"api-5xx"}"#.to_string()]);
        assert_eq!(event["Records"][0]["Sns"]["TopicArn"], l.topic.unwrap());
    }

    #[test]
    fn a_raw_body_is_the_message_itself_and_an_empty_one_is_not_handed_over() {
        let Letter::SnsDelivery(l) = letter("sms-reply", "ACK 1234") else {
            panic!("an SNS letter");
        };
        assert_eq!(l.event()["Records"][0]["Sns"]["Message"], "ACK 1234");
        assert!(l.reason().contains("an SMS reply"));
        assert!(matches!(letter("sms-reply", ""), Letter::Unknown { .. }));
    }
}
