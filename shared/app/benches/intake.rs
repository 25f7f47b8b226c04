//! Intake hot path: parse an alarm event, classify it, and build the
//! DynamoDB transaction that opens the incident. Budget: ≤ 50 µs per event
//! for the whole thing (`intake/full/*`).
//!
//!     cargo bench -p klaxon-app --bench intake

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use klaxon_app::alarm_event::parse_alarm_bytes;
use klaxon_app::intake::new_incident;
use klaxon_aws::dynamo::open_transaction;
use klaxon_config::OncallConfig;
use klaxon_core::alarm::AlarmStateChange;
use klaxon_ports::IdSource;
use klaxon_system::RandomIds;

const TABLE: &str = "klaxon-incidents";

/// A realistic small team: 5 people, 2 policies, 10 routing rules. The
/// sample alarm (`checkout-5xx-prod`) matches rule 8, so classification
/// tries seven patterns that miss before the one that hits.
const CONFIG: &str = r#"
version: 1
people:
  alice: {name: Alice Tanaka, phone: "+819012345678", email: alice@example.com}
  bob: {name: Bob Smith, phone: "+14155550123", email: bob@example.com}
  carol: {name: Carol Jones, phone: "+447700900123"}
  dave: {name: Dave Brown, phone: "+61412345678", email: dave@example.com}
  erin: {name: Erin Lee, email: erin@example.com}
services:
  general: {escalation_policy: default}
  database: {escalation_policy: dba}
  messaging: {escalation_policy: default}
  search: {escalation_policy: default}
  checkout: {escalation_policy: default}
  payments: {escalation_policy: default}
  platform: {escalation_policy: default, urgency: low}
escalation_policies:
  default:
    repeat: 2
    levels:
      - {targets: [alice], timeout_minutes: 5}
      - {targets: [bob, carol], timeout_minutes: 10}
      - {targets: [dave, erin], timeout_minutes: 15}
  dba:
    repeat: 1
    levels:
      - {targets: [carol], timeout_minutes: 3}
      - {targets: [dave, alice], timeout_minutes: 10}
routing:
  default: {service: general, severity: SEV3}
  insufficient_data: ignore
  rules:
    - {name: rds, match: {alarm_name: "rds-*"}, service: database, severity: SEV2}
    - {name: aurora, match: {alarm_name: "aurora-{writer,reader}-*"}, service: database}
    - {name: dynamodb-throttle, match: {alarm_name: "ddb-*-throttl*"}, service: database, severity: SEV3}
    - {name: queue-age, match: {alarm_name: "sqs-*-age"}, service: messaging, severity: SEV3}
    - {name: dlq, match: {alarm_name: "*-dlq-*"}, service: messaging, severity: SEV2}
    - {name: staging, match: {alarm_name: "*-staging"}, severity: SEV4}
    - {name: search, match: {alarm_name: "search-?xx-prod"}, service: search}
    - {name: checkout, match: {alarm_name: "checkout-[45]xx-prod"}, service: checkout, severity: SEV2}
    - {name: payments, match: {alarm_name: "payments-*"}, service: payments, severity: SEV1}
    - {name: catch-prod, match: {alarm_name: "*-prod"}, service: platform}
"#;

fn event(name: &str) -> Vec<u8> {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn only_change(bytes: &[u8]) -> AlarmStateChange {
    let mut changes = parse_alarm_bytes(bytes).expect("sample event parses");
    assert_eq!(changes.len(), 1);
    changes.pop().unwrap()
}

/// The whole intake decision for one event, as the handler does it before
/// any I/O: parse, classify (inside `new_incident`), build the transaction.
fn intake_once(config: &OncallConfig, bytes: &[u8], now: Timestamp) -> usize {
    let changes = parse_alarm_bytes(bytes).expect("sample event parses");
    let mut items = 0;
    for change in &changes {
        let (incident, entries) = new_incident(
            config,
            change,
            None,
            now,
            RandomIds.incident_id(now),
            &RandomIds.ack_code(),
        );
        let tx = open_transaction(TABLE, &incident, &entries).expect("transaction builds");
        items += tx.len();
    }
    items
}

fn benches(c: &mut Criterion) {
    let config = OncallConfig::from_yaml(CONFIG).expect("bench config is valid");
    let now: Timestamp = "2026-11-21T06:00:02Z".parse().unwrap();
    let formats = [
        ("eventbridge", event("eventbridge-alarm.json")),
        ("sns", event("sns-alarm.json")),
        ("alarm-action", event("alarm-action.json")),
    ];

    // Sanity: the sample alarm is decided by the intended rule, and the
    // transaction has its 3 pointer/incident items, 3 timeline entries and
    // the once marker of the entry that has one (the alarm state change).
    let change = only_change(&formats[0].1);
    assert_eq!(
        config.decide(&change, None).classification.rule.as_deref(),
        Some("checkout")
    );
    assert_eq!(intake_once(&config, &formats[0].1, now), 7);

    for (name, bytes) in &formats {
        c.bench_function(&format!("intake/full/{name}"), |b| {
            b.iter(|| intake_once(&config, black_box(bytes), black_box(now)))
        });
    }
    for (name, bytes) in &formats {
        c.bench_function(&format!("intake/parse/{name}"), |b| {
            b.iter(|| parse_alarm_bytes(black_box(bytes)).unwrap())
        });
    }
    c.bench_function("intake/classify", |b| {
        b.iter(|| config.decide(black_box(&change), None))
    });
    c.bench_function("intake/build", |b| {
        b.iter(|| {
            let (incident, entries) = new_incident(
                &config,
                black_box(&change),
                None,
                black_box(now),
                RandomIds.incident_id(now),
                &RandomIds.ack_code(),
            );
            open_transaction(TABLE, &incident, &entries).unwrap()
        })
    });
    let (incident, entries) = new_incident(
        &config,
        &change,
        None,
        now,
        RandomIds.incident_id(now),
        &RandomIds.ack_code(),
    );
    c.bench_function("intake/transaction", |b| {
        b.iter(|| open_transaction(TABLE, black_box(&incident), black_box(&entries)).unwrap())
    });
}

criterion_group! {
    name = intake;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(intake);
