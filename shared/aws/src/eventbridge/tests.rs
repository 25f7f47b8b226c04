use std::sync::{Arc, Mutex};

use aws_sdk_eventbridge::operation::put_events::{PutEventsError, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use serde_json::Value;

use super::*;
use klaxon_core::events::bus_event;
use klaxon_core::incident::TimelineEntry;
use klaxon_testing::contract::{incident, t0};
use klaxon_testing::events::sample_entries;

fn events(n: usize) -> Vec<BusEvent> {
    let i = incident("abcdef", "A", t0());
    let samples = sample_entries(t0());
    (0..n)
        .map(|k| {
            let mut entry: TimelineEntry = samples[k % samples.len()].clone();
            entry.key = format!("k{k}");
            bus_event(&i.id, Some(&i), &entry).unwrap()
        })
        .collect()
}

type Seen = Arc<Mutex<Vec<Vec<PutEventsRequestEntry>>>>;

/// A bus that accepts every entry except those whose detail contains
/// `reject` (answered with `code`), recording each call's entries.
fn mock_bus(reject: Option<(&'static str, &'static str)>) -> (EventBridgeBus, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|_| true)
        .then_compute_output(move |r| {
            record.lock().unwrap().push(r.entries().to_vec());
            let mut failed = 0;
            let results = r
                .entries()
                .iter()
                .map(|e| match reject {
                    Some((needle, code)) if e.detail().unwrap_or_default().contains(needle) => {
                        failed += 1;
                        PutEventsResultEntry::builder()
                            .error_code(code)
                            .error_message("rejected by the test")
                            .build()
                    }
                    _ => PutEventsResultEntry::builder().event_id("id").build(),
                })
                .collect();
            PutEventsOutput::builder()
                .failed_entry_count(failed)
                .set_entries(Some(results))
                .build()
        });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&rule]);
    (EventBridgeBus::new(client, "prod-klaxon-events"), seen)
}

#[tokio::test]
async fn events_go_out_in_order_ten_per_call_on_klaxons_bus() {
    let (bus, seen) = mock_bus(None);
    let sent = events(25);
    bus.publish(&sent).await.unwrap();
    let calls = seen.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
    let all: Vec<_> = calls.into_iter().flatten().collect();
    for (entry, event) in all.iter().zip(&sent) {
        assert_eq!(entry.source(), Some("klaxon"));
        assert_eq!(entry.event_bus_name(), Some("prod-klaxon-events"));
        assert_eq!(entry.detail_type(), Some(event.detail_type.as_str()));
        let detail: Value = serde_json::from_str(entry.detail().unwrap()).unwrap();
        assert_eq!(detail["event_id"], event.event_id());
        assert_eq!(
            entry.resources(),
            [event.detail.incident.as_ref().unwrap().alarm_arn.clone()]
        );
        assert_eq!(
            entry.time().unwrap().to_millis().unwrap(),
            event.time.as_millisecond()
        );
    }
}

#[tokio::test]
async fn large_events_are_split_to_stay_under_the_request_size() {
    let (bus, seen) = mock_bus(None);
    let mut sent = events(3);
    for e in &mut sent {
        e.detail.summary = "x".repeat(100 * 1024);
    }
    bus.publish(&sent).await.unwrap();
    let sizes: Vec<_> = seen.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 1]);
}

#[tokio::test]
async fn a_rejected_entry_stops_publishing_there_and_says_whether_to_retry() {
    let sent = events(25);
    let target = sent[13].event_id().to_string();
    let needle: &'static str = Box::leak(target.into_boxed_str());
    let (bus, seen) = mock_bus(Some((needle, "ThrottlingException")));
    let err = bus.publish(&sent).await.unwrap_err();
    assert_eq!(err.first_unpublished, 13);
    assert!(err.error.retryable);
    assert!(err.error.message.contains("ThrottlingException"));
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "nothing after the failed call"
    );

    let (bus, _) = mock_bus(Some((needle, "MalformedDetail")));
    let err = bus.publish(&sent).await.unwrap_err();
    assert!(!err.error.retryable, "{err}");
}

#[tokio::test]
async fn a_failed_call_publishes_nothing_from_its_first_event_on() {
    let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_response(|_| {
        MockResponse::Error(PutEventsError::unhandled("connection reset"))
    });
    let client = mock_client!(aws_sdk_eventbridge, [&rule]);
    let err = EventBridgeBus::new(client, "b")
        .publish(&events(4))
        .await
        .unwrap_err();
    assert_eq!(err.first_unpublished, 0);
}
