use super::*;
use klaxon_core::events::DetailType;
use klaxon_core::incident::TimelineEvent;
use klaxon_core::metrics::Metric;
use klaxon_testing::contract::{incident, t0};
use klaxon_testing::events::sample_entries;
use klaxon_testing::{FakeBus, FakeMetricLog, MemoryStore, Op, transient};

/// GIVEN a store holding one incident, and the stream records of its
/// timeline (sequence numbers 100, 101, ...).
fn given() -> (MemoryStore, FakeBus, Incident, Vec<StreamRecord>) {
    let store = MemoryStore::new();
    let i = incident("abcdef", "A", t0());
    store.with(|s| s.incidents.insert(i.id.clone(), i.clone()));
    let records = sample_entries(t0())
        .into_iter()
        .enumerate()
        .map(|(n, entry)| StreamRecord::Entry {
            sequence: (100 + n).to_string(),
            incident_id: i.id.clone(),
            entry,
        })
        .collect();
    (store, FakeBus::new(), i, records)
}

#[tokio::test]
async fn every_entry_is_published_in_stream_order_with_its_incident() {
    let (store, bus, i, mut records) = given();
    records.insert(
        1,
        StreamRecord::Other {
            sequence: "099".into(),
        },
    );
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &FakeMetricLog::default(),
    };
    let report = p.handle(&records).await;
    assert_eq!(report.failed_at, None);
    assert_eq!(report.published, DetailType::ALL.len());
    assert_eq!(report.skipped, 1);
    let published = bus.published();
    let types: Vec<_> = published.iter().map(|e| e.detail_type).collect();
    assert_eq!(types, DetailType::ALL.to_vec());
    for e in &published {
        assert_eq!(e.detail.incident.as_ref().unwrap().id, i.id);
    }
}

#[tokio::test]
async fn a_redelivered_batch_publishes_the_same_event_ids_again() {
    let (store, bus, _, records) = given();
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &FakeMetricLog::default(),
    };
    p.handle(&records).await;
    p.handle(&records).await;
    let ids: Vec<_> = bus
        .published()
        .iter()
        .map(|e| e.event_id().to_string())
        .collect();
    let (first, second) = ids.split_at(ids.len() / 2);
    assert_eq!(first, second, "consumers dedup on detail.event_id");
}

#[tokio::test]
async fn a_rejected_event_stops_the_batch_at_its_record_and_a_retry_from_there_finishes() {
    let (store, bus, i, records) = given();
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &FakeMetricLog::default(),
    };
    let StreamRecord::Entry { entry, .. } = &records[5] else {
        unreachable!()
    };
    let rejected = klaxon_core::events::event_id(&i.id, entry);
    bus.reject(&rejected, transient("PutEvents"));
    let report = p.handle(&records).await;
    let (sequence, reason) = report.failed_at.clone().unwrap();
    assert_eq!(sequence, "105");
    assert!(reason.contains("injected transient failure"), "{reason}");
    assert_eq!(report.published, 5);

    // WHEN Lambda retries from the reported record
    bus.accept_all();
    let report = p.handle(&records[5..]).await;
    assert_eq!(report.failed_at, None);
    let ids: Vec<_> = bus
        .published()
        .iter()
        .map(|e| e.event_id().to_string())
        .collect();
    assert_eq!(ids.len(), records.len(), "each event published once");
}

#[tokio::test]
async fn an_incident_that_cannot_be_read_stops_the_batch_there() {
    let (store, bus, _, mut records) = given();
    let other = incident("abcdef", "B", t0());
    store.with(|s| s.incidents.insert(other.id.clone(), other.clone()));
    records.truncate(3);
    records.push(StreamRecord::Entry {
        sequence: "200".into(),
        incident_id: other.id.clone(),
        entry: klaxon_core::incident::TimelineEntry::new(t0(), "o", TimelineEvent::Opened),
    });
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &FakeMetricLog::default(),
    };
    // The first incident is read once for its three entries; the second
    // read fails.
    store.before(Op::Get, |_| {});
    store.fail_next(Op::Get, transient("GetItem"));
    let report = p.handle(&records).await;
    assert_eq!(report.published, 3);
    assert_eq!(report.failed_at.unwrap().0, "200");
}

#[tokio::test]
async fn an_unreadable_entry_is_reported_after_what_came_before_it() {
    let (store, bus, _, mut records) = given();
    records.truncate(2);
    records.push(StreamRecord::Unreadable {
        sequence: "300".into(),
        reason: "timeline data: expected value".into(),
    });
    records.push(StreamRecord::Other {
        sequence: "301".into(),
    });
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &FakeMetricLog::default(),
    };
    let report = p.handle(&records).await;
    assert_eq!(report.published, 2);
    let (sequence, reason) = report.failed_at.unwrap();
    assert_eq!(sequence, "300");
    assert!(reason.contains("unreadable"), "{reason}");
}

#[tokio::test]
async fn entries_of_self_test_incidents_are_left_out() {
    let (store, bus, _, _) = given();
    let mut st = incident("abcdef", "S", t0());
    st.id = klaxon_core::self_test::incident_id("abc123");
    st.self_test = true;
    store.with(|s| s.incidents.insert(st.id.clone(), st.clone()));
    let records = vec![StreamRecord::Entry {
        sequence: "1".into(),
        incident_id: st.id.clone(),
        entry: klaxon_core::incident::TimelineEntry::new(t0(), "o", TimelineEvent::Opened),
    }];
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &FakeMetricLog::default(),
    };
    let report = p.handle(&records).await;
    assert_eq!((report.published, report.skipped), (0, 1));
    assert!(bus.published().is_empty());
}

#[tokio::test]
async fn pages_and_escalation_ends_are_counted_once_even_when_the_batch_is_retried() {
    // GIVEN the stream of an incident's timeline, and a bus that fails
    // once at the fourth event
    let (store, bus, i, records) = given();
    let expected: Vec<Metric> = records
        .iter()
        .filter_map(|r| match r {
            StreamRecord::Entry { entry, .. } => Metric::of_event(&entry.event),
            _ => None,
        })
        .collect();
    assert!(
        expected.iter().any(|m| matches!(m, Metric::PageSent(_))),
        "the sample has a page: {expected:?}"
    );
    let StreamRecord::Entry { entry, .. } = &records[3] else {
        unreachable!("the sample is all entries")
    };
    bus.reject(
        &klaxon_core::events::event_id(&i.id, entry),
        transient("PutEvents"),
    );
    let metrics = FakeMetricLog::default();
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &metrics,
    };
    // WHEN the batch fails, and the mapping retries from the failed record
    let first = p.handle(&records).await;
    let (sequence, _) = first.failed_at.clone().expect("failed");
    let from = records
        .iter()
        .position(|r| r.sequence() == sequence)
        .unwrap();
    bus.accept_all();
    let again = p.handle(&records[from..]).await;
    assert_eq!(again.failed_at, None);
    // THEN each entry was counted once
    assert_eq!(metrics.recorded(), expected);
}

#[tokio::test]
async fn a_self_tests_entries_are_not_counted() {
    let (store, bus, i, records) = given();
    store.with(|s| {
        if let Some(stored) = s.incidents.get_mut(&i.id) {
            stored.self_test = true;
        }
    });
    let metrics = FakeMetricLog::default();
    let p = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &metrics,
    };
    p.handle(&records).await;
    assert!(metrics.recorded().is_empty());
}
