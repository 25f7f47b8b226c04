//! Property-based fuzzing of every parser Klaxon exposes to the outside
//! (alarm events of the three routes, the SNS envelope, SMS replies, the
//! configuration), on the stable toolchain. Each property: no panic on any
//! input, and a rejection is an error, never a partial result.
//!
//! `make test` runs a short round (proptest's default case count, or
//! `PROPTEST_CASES`); `make fuzz` runs many more cases per parser.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::alarm_event::{parse_alarm_bytes, parse_alarm_event};
use super::sns::sns_messages;
use crate::config::OncallConfig;
use crate::core::reply::{ReplyCommand, parse_reply};

/// Any JSON value, nested a few levels, with awkward strings.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("ALARM")),
        Just(json!("OK")),
        Just(json!("2026-11-21T06:00:00.000+0000")),
        Just(json!("CloudWatch Alarm State Change")),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names the parsers look for, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Records".to_string()),
        Just("Sns".to_string()),
        Just("Message".to_string()),
        Just("detail".to_string()),
        Just("detail-type".to_string()),
        Just("state".to_string()),
        Just("value".to_string()),
        Just("alarmName".to_string()),
        Just("alarmArn".to_string()),
        Just("alarmData".to_string()),
        Just("NewStateValue".to_string()),
        Just("AlarmName".to_string()),
        Just("resources".to_string()),
        Just("timestamp".to_string()),
        "[a-zA-Z]{1,12}",
    ]
}

/// A real EventBridge alarm event with one field replaced by any value.
fn mutated_event() -> impl Strategy<Value = Value> {
    let base: Value = serde_json::from_str(include_str!("../../../events/eventbridge-alarm.json"))
        .unwrap_or(Value::Null);
    let paths = [
        "/detail/alarmName",
        "/detail/state/value",
        "/detail/state/timestamp",
        "/detail/state/reason",
        "/detail/configuration",
        "/detail/configuration/metrics",
        "/resources",
        "/account",
        "/region",
        "/detail-type",
        "/detail",
    ];
    (0..paths.len(), any_json()).prop_map(move |(i, v)| {
        let mut event = base.clone();
        if let Some(slot) = event.pointer_mut(paths[i]) {
            *slot = v;
        }
        event
    })
}

proptest! {
    #[test]
    fn alarm_events_of_any_shape_never_panic(event in any_json()) {
        let _ = parse_alarm_event(&event);
    }

    #[test]
    fn a_real_alarm_event_with_any_field_replaced_is_parsed_or_rejected(event in mutated_event()) {
        if let Ok(changes) = parse_alarm_event(&event) {
            prop_assert_eq!(changes.len(), 1);
            prop_assert!(!changes[0].alarm_name.is_empty());
        }
    }

    #[test]
    fn any_bytes_are_parsed_or_rejected(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_alarm_bytes(&bytes);
    }

    #[test]
    fn sns_envelopes_of_any_shape_never_panic(event in any_json()) {
        if let Ok(messages) = sns_messages(&event) {
            prop_assert!(messages.count() > 0);
        }
    }

    #[test]
    fn an_sns_envelope_around_any_message_never_panics(message in ".{0,200}") {
        let event = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m", "Message": message}}]});
        let _ = parse_alarm_event(&event);
    }

    #[test]
    fn any_reply_text_is_understood_or_not_never_a_panic(body in "\\PC{0,80}") {
        let _ = parse_reply(&body);
    }

    #[test]
    fn an_ack_survives_any_surrounding_whitespace_and_case(
        code in 0u32..10_000,
        lead in "[ \t\u{3000}]{0,3}",
        trail in "[ \t.!]{0,3}",
        upper in any::<bool>(),
    ) {
        let word = if upper { "ACK" } else { "ack" };
        let body = format!("{lead}{word} {code:04}{trail}");
        prop_assert_eq!(
            parse_reply(&body),
            ReplyCommand::Acknowledge(crate::core::incident::AckCode::from_number(code))
        );
    }

    #[test]
    fn any_text_as_a_configuration_is_loaded_or_rejected(text in "\\PC{0,300}") {
        let _ = OncallConfig::from_yaml(&text);
    }

    #[test]
    fn the_example_configuration_with_a_line_dropped_is_loaded_or_rejected(line in 0usize..200) {
        let text: String = crate::testing::CONFIG
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != line)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let _ = OncallConfig::from_yaml(&text);
    }
}
