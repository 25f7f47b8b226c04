//! The voice-call handler's own work per event: read the SIP media
//! application's event, the call's state and arguments, decide, keep the
//! timeline, build the actions. The ports are the in-memory fakes, so what
//! is measured is Klaxon's code, not DynamoDB. Budget: ≤ 50 µs per event
//! (`voice/*`).
//!
//!     cargo bench -p klaxon-app --features testing --bench voice

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use klaxon_app::world::World;
use klaxon_testing::at;
use serde_json::{Value, json};

const CONFIG: &str = r#"
version: 1
people:
  hana:
    name: Hana
    language: ja-JP
    phone: "+819012340001"
    notification_rules:
      high: [{channel: voice}]
services:
  payments: {escalation_policy: default}
escalation_policies:
  default:
    levels:
      - {targets: [hana], timeout_minutes: 5}
routing:
  default: {service: payments, severity: SEV1}
"#;

fn event(name: &str, attributes: &Value, transaction: &str, digits: Option<&str>) -> Value {
    let text = match name {
        "call-answered" => include_str!("../../../events/voice/call-answered.json"),
        "digits-received" => include_str!("../../../events/voice/digits-received.json"),
        _ => include_str!("../../../events/voice/hangup.json"),
    };
    let mut e: Value = serde_json::from_str(text).expect("fixture");
    e["CallDetails"]["TransactionId"] = json!(transaction);
    e["CallDetails"]["TransactionAttributes"] = attributes.clone();
    if let Some(d) = digits {
        e["ActionData"]["ReceivedDigits"] = json!(d);
    }
    e
}

fn voice(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let w = World::new(CONFIG);
    // A call placed for an incident, as the escalator places it.
    let id = rt.block_on(w.open_incident("決済API-5xx", at(0)));
    rt.block_on(w.escalator().run_step(&id, 0)).expect("step");
    let placed = w.calls.placed().pop().expect("a call");
    let mut attributes = json!(placed.arguments.to_map());
    let answered = event("call-answered", &attributes, &placed.transaction_id, None);
    let response = rt.block_on(w.voice().handle(&answered)).expect("answered");
    attributes = response["TransactionAttributes"].clone();

    let mut group = c.benchmark_group("voice");
    group.bench_function("call_answered", |b| {
        b.iter(|| rt.block_on(w.voice().handle(black_box(&answered))))
    });
    let wrong_key = event(
        "digits-received",
        &attributes,
        &placed.transaction_id,
        Some("9"),
    );
    group.bench_function("wrong_key", |b| {
        b.iter(|| rt.block_on(w.voice().handle(black_box(&wrong_key))))
    });
    let hangup = event("hangup", &attributes, &placed.transaction_id, None);
    group.bench_function("hangup", |b| {
        b.iter(|| rt.block_on(w.voice().handle(black_box(&hangup))))
    });
    group.finish();
}

criterion_group!(benches, voice);
criterion_main!(benches);
