//! The template's EventBridge rule, checked in the emulator: the pattern is
//! read from the deployed rule (the template through CloudFormation) and
//! the probe rule targets an SQS queue, since
//! the emulator cannot invoke Lambda.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::ids;

use crate::common::World;

#[tokio::test]
async fn the_rule_routes_alarm_and_ok_and_drops_everything_else() {
    let w = World::new(60, 0).await;
    let sdk = &w.local.sdk;
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let pattern = w
        .local
        .stack
        .rule_pattern(ids::INTAKE, ids::ALARM_RULE_EVENT)
        .unwrap();

    let bus = format!("{}-bus", w.local.stack.name);
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{}-rule-probe", w.local.stack.name))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    events
        .put_rule()
        .name("alarm-state-change")
        .event_bus_name(&bus)
        .event_pattern(&pattern)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("alarm-state-change")
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("probe")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let mut entries = Vec::new();
    for state in ["ALARM", "OK", "INSUFFICIENT_DATA"] {
        let e = alarm(
            Delivery::EventBridge,
            &format!("rule-{state}"),
            state,
            "2026-11-21T06:00:00.000Z",
        )
        .unwrap();
        entries.push((
            e["source"].as_str().unwrap().to_string(),
            e["detail-type"].as_str().unwrap().to_string(),
            e["detail"].to_string(),
        ));
    }
    entries.push((
        "aws.ec2".into(),
        "EC2 Instance State-change Notification".into(),
        r#"{"instance-id":"i-0123","state":"stopped"}"#.into(),
    ));
    entries.push((
        "my.app".into(),
        "CloudWatch Alarm State Change".into(),
        r#"{"alarmName":"spoofed","state":{"value":"ALARM"}}"#.into(),
    ));
    let mut put = events.put_events();
    for (source, detail_type, detail) in &entries {
        put = put.entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(&bus)
                .source(source)
                .detail_type(detail_type)
                .detail(detail)
                .build(),
        );
    }
    let out = put.send().await.unwrap();
    assert_eq!(out.failed_entry_count(), 0);

    let mut routed = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            routed.insert(
                body["detail"]["alarmName"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
            );
        }
    }
    assert_eq!(
        routed,
        BTreeSet::from(["rule-ALARM".to_string(), "rule-OK".to_string()])
    );
}
