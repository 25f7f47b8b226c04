//! The event publisher's own work per stream record: decode the Lambda
//! event of the incidents table's stream (DynamoDB JSON, as AWS delivers
//! it), read each timeline entry, build its bus event with the incident,
//! hand the batch to the bus. The incident store and the bus are the
//! in-memory fakes, so what is measured is Klaxon's code, not DynamoDB or
//! EventBridge. Budget: ≤ 50 µs per record (`publish/*`).
//!
//!     cargo bench -p klaxon-app --features testing --bench publish

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event;
use criterion::{Criterion, criterion_group, criterion_main};
use klaxon_app::publisher::Publisher;
use klaxon_aws::dynamo::{items::timeline_item, stream};
use klaxon_core::incident::TimelineEntry;
use klaxon_testing::contract::{incident, t0};
use klaxon_testing::events::sample_entries;
use klaxon_testing::{FakeBus, MemoryStore};
use serde_json::{Value, json};

/// The stream's Lambda event for these entries of one incident, as the
/// event source mapping hands it over (one INSERT per entry).
fn stream_event(incident_id: &str, entries: &[TimelineEntry]) -> String {
    let records: Vec<Value> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let item: serde_dynamo::Item = timeline_item(incident_id, entry).expect("item").into();
            let image = serde_json::to_value(item).expect("image");
            json!({
                "eventID": format!("e{i}"),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/klaxon-incidents/stream/2026-12-01T00:00:00.000",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1764576000.0,
                    "Keys": {"pk": image["pk"].clone(), "sk": image["sk"].clone()},
                    "NewImage": image,
                    "SequenceNumber": format!("{}", 4_000_000_000_u64 + i as u64),
                    "SizeBytes": 420,
                    "StreamViewType": "NEW_IMAGE"
                }
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

fn publish(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = MemoryStore::new();
    let i = incident("abcdef", "checkout-5xx", t0());
    store.with(|s| s.incidents.insert(i.id.clone(), i.clone()));
    let entries = sample_entries(t0());
    let one = stream_event(&i.id, &entries[..1]);
    let all = stream_event(&i.id, &entries);
    let per_batch = entries.len() as u32;

    // Decode + publish, on a new bus each time (the fake keeps what it is
    // given); the bus's creation is outside the measured time.
    let run = |text: &str, iters: u64| -> Duration {
        let mut spent = Duration::ZERO;
        for _ in 0..iters {
            let bus = FakeBus::new();
            let metrics = klaxon_testing::FakeMetricLog::default();
            let publisher = Publisher {
                incidents: &store,
                bus: &bus,
                metrics: &metrics,
            };
            let started = Instant::now();
            let event: Event = serde_json::from_str(black_box(text)).expect("event");
            let report = rt.block_on(publisher.handle(&stream::records(&event)));
            spent += started.elapsed();
            assert!(report.failed_at.is_none(), "{report:?}");
        }
        spent
    };

    let mut group = c.benchmark_group("publish");
    // One record: the opening entry of an incident.
    group.bench_function("one_record", |b| b.iter_custom(|iters| run(&one, iters)));
    // A batch with one entry of each detail-type (23 records, one incident
    // read), divided by its length: the work per record in a busy batch.
    group.bench_function("per_record_in_a_batch", |b| {
        b.iter_custom(|iters| run(&all, iters) / per_batch)
    });
    group.finish();
}

criterion_group!(benches, publish);
criterion_main!(benches);
