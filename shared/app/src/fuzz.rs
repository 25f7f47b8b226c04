//! Property-based fuzzing of every parser Klaxon exposes to the outside
//! (alarm events of the three routes, raw event bytes, the SNS envelope, SMS
//! replies, the configuration), on the stable toolchain, with proptest's
//! [`TestRunner`]. Each property: no panic on any input, and a rejection is
//! an error, never a partial result.
//!
//! `make test` runs each property once, with proptest's default case count
//! (256, or `PROPTEST_CASES`). `make fuzz` runs the ignored
//! [`every_parser_fuzzed_for_a_set_time`]: each parser's properties round
//! after round, each round with a fresh random seed, until `FUZZ_SECONDS`
//! (default 600) per parser are spent, then prints the executions and the
//! failing rounds of each parser.

use std::cell::Cell;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use super::alarm_event::{parse_alarm_bytes, parse_alarm_event};
use super::sns::sns_messages;
use klaxon_config::OncallConfig;
use klaxon_core::reply::{ReplyCommand, parse_reply};

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

/// A property: runs cases of its strategy on `runner`, counting every
/// execution (shrinking included) in `runs`; the error names the minimal
/// failing input.
type Property = fn(&mut TestRunner, &Cell<u64>) -> Result<(), String>;

/// The parsers, each with its properties.
const PARSERS: &[(&str, &[Property])] = &[
    (
        "alarm events",
        &[
            alarm_events_of_any_shape,
            real_alarm_events_with_a_field_replaced,
            sns_envelopes_around_any_message,
        ],
    ),
    ("raw event bytes", &[any_bytes]),
    ("SNS envelope", &[sns_envelopes_of_any_shape]),
    (
        "SMS replies",
        &[any_reply_text, acks_in_any_surrounding_whitespace_and_case],
    ),
    (
        "configuration",
        &[
            any_configuration_text,
            the_example_configuration_less_a_line,
        ],
    ),
];

fn run<S>(
    runner: &mut TestRunner,
    runs: &Cell<u64>,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> Result<(), String>
where
    S: Strategy,
    S::Value: Debug,
{
    runner
        .run(&strategy, |input| {
            runs.set(runs.get() + 1);
            check(input)
        })
        .map_err(|e| e.to_string())
}

fn alarm_events_of_any_shape(runner: &mut TestRunner, runs: &Cell<u64>) -> Result<(), String> {
    run(runner, runs, any_json(), |event| {
        let _ = parse_alarm_event(&event);
        Ok(())
    })
}

fn real_alarm_events_with_a_field_replaced(
    runner: &mut TestRunner,
    runs: &Cell<u64>,
) -> Result<(), String> {
    run(runner, runs, mutated_event(), |event| {
        if let Ok(changes) = parse_alarm_event(&event) {
            prop_assert_eq!(changes.len(), 1);
            prop_assert!(!changes[0].alarm_name.is_empty());
        }
        Ok(())
    })
}

fn sns_envelopes_around_any_message(
    runner: &mut TestRunner,
    runs: &Cell<u64>,
) -> Result<(), String> {
    run(runner, runs, ".{0,200}", |message| {
        let event = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m", "Message": message}}]});
        let _ = parse_alarm_event(&event);
        Ok(())
    })
}

fn any_bytes(runner: &mut TestRunner, runs: &Cell<u64>) -> Result<(), String> {
    run(
        runner,
        runs,
        prop::collection::vec(any::<u8>(), 0..512),
        |bytes| {
            let _ = parse_alarm_bytes(&bytes);
            Ok(())
        },
    )
}

fn sns_envelopes_of_any_shape(runner: &mut TestRunner, runs: &Cell<u64>) -> Result<(), String> {
    run(runner, runs, any_json(), |event| {
        if let Ok(messages) = sns_messages(&event) {
            prop_assert!(messages.count() > 0);
        }
        Ok(())
    })
}

fn any_reply_text(runner: &mut TestRunner, runs: &Cell<u64>) -> Result<(), String> {
    run(runner, runs, "\\PC{0,80}", |body| {
        let _ = parse_reply(&body);
        Ok(())
    })
}

fn acks_in_any_surrounding_whitespace_and_case(
    runner: &mut TestRunner,
    runs: &Cell<u64>,
) -> Result<(), String> {
    let strategy = (
        0u32..10_000,
        "[ \t\u{3000}]{0,3}",
        "[ \t.!]{0,3}",
        any::<bool>(),
    );
    run(runner, runs, strategy, |(code, lead, trail, upper)| {
        let word = if upper { "ACK" } else { "ack" };
        let body = format!("{lead}{word} {code:04}{trail}");
        prop_assert_eq!(
            parse_reply(&body),
            ReplyCommand::Acknowledge(klaxon_core::incident::AckCode::from_number(code))
        );
        Ok(())
    })
}

fn any_configuration_text(runner: &mut TestRunner, runs: &Cell<u64>) -> Result<(), String> {
    run(runner, runs, "\\PC{0,300}", |text| {
        let _ = OncallConfig::from_yaml(&text);
        Ok(())
    })
}

fn the_example_configuration_less_a_line(
    runner: &mut TestRunner,
    runs: &Cell<u64>,
) -> Result<(), String> {
    run(runner, runs, 0usize..200, |line| {
        let text: String = klaxon_testing::CONFIG
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != line)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let _ = OncallConfig::from_yaml(&text);
        Ok(())
    })
}

/// A runner with a fresh random seed; `cases` from `PROPTEST_CASES` (256
/// by default) unless given. Nothing is written to disk.
fn runner(cases: Option<u32>) -> TestRunner {
    let default = Config::default();
    TestRunner::new(Config {
        cases: cases.unwrap_or(default.cases),
        failure_persistence: None,
        ..default
    })
}

/// One round of a property, as `make test` runs it.
fn once(property: Property) {
    if let Err(e) = property(&mut runner(None), &Cell::new(0)) {
        panic!("{e}");
    }
}

#[test]
fn alarm_events_of_any_shape_never_panic() {
    once(alarm_events_of_any_shape);
}

#[test]
fn a_real_alarm_event_with_any_field_replaced_is_parsed_or_rejected() {
    once(real_alarm_events_with_a_field_replaced);
}

#[test]
fn any_bytes_are_parsed_or_rejected() {
    once(any_bytes);
}

#[test]
fn sns_envelopes_of_any_shape_never_panic() {
    once(sns_envelopes_of_any_shape);
}

#[test]
fn an_sns_envelope_around_any_message_never_panics() {
    once(sns_envelopes_around_any_message);
}

#[test]
fn any_reply_text_is_understood_or_not_never_a_panic() {
    once(any_reply_text);
}

#[test]
fn an_ack_survives_any_surrounding_whitespace_and_case() {
    once(acks_in_any_surrounding_whitespace_and_case);
}

#[test]
fn any_text_as_a_configuration_is_loaded_or_rejected() {
    once(any_configuration_text);
}

#[test]
fn the_example_configuration_with_a_line_dropped_is_loaded_or_rejected() {
    once(the_example_configuration_less_a_line);
}

/// Cases per round of the timed run: small, so a parser stops soon after
/// its time is spent.
const ROUND: u32 = 256;

/// Runs each property of a parser round after round, each round with a
/// fresh seed, until `time` is spent; returns the executions and the
/// failing rounds (each printed with its shrunk input).
fn for_a_set_time(parser: &str, properties: &[Property], time: Duration) -> (u64, u32) {
    let deadline = Instant::now() + time;
    let runs = Cell::new(0);
    let mut failures = 0;
    while Instant::now() < deadline {
        for property in properties {
            if let Err(e) = property(&mut runner(Some(ROUND)), &runs) {
                failures += 1;
                eprintln!("fuzz: {parser}: failure: {e}");
            }
        }
    }
    (runs.get(), failures)
}

#[test]
#[ignore = "make fuzz: FUZZ_SECONDS (default 600) per parser"]
fn every_parser_fuzzed_for_a_set_time() {
    let seconds = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(600);
    let started = Instant::now();
    let (mut total, mut failed) = (0, 0);
    for (parser, properties) in PARSERS {
        let t = Instant::now();
        let (runs, failures) = for_a_set_time(parser, properties, Duration::from_secs(seconds));
        println!(
            "fuzz: {parser}: {runs} executions in {:.0} s, {failures} failures",
            t.elapsed().as_secs_f64()
        );
        total += runs;
        failed += failures;
    }
    println!(
        "fuzz: {} parsers, {total} executions in {:.0} s, {failed} failures",
        PARSERS.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(failed, 0, "fuzzing found failing inputs (printed above)");
}
