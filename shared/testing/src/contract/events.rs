//! The event bus contract: the same case against [`crate::FakeBus`]
//! (below) and against EventBridge in the emulator (`tests/it/contract.rs`,
//! read back through a rule with an SQS target).

use std::collections::BTreeMap;
use std::future::Future;

use serde_json::Value;

use super::fixtures::{incident, t0};
use crate::events::sample_entries;
use klaxon_core::events::{SOURCE, bus_event};
use klaxon_core::incident::TimelineEntry;
use klaxon_ports::EventBus;

/// More events than fit in one call are all published, each with source
/// `klaxon`, its detail-type and its detail as built. `read_back` returns
/// the events delivered so far, as EventBridge delivers them (`source`,
/// `detail-type`, `detail`, ...).
pub async fn every_event_is_published_with_its_type_and_detail<B, R, F>(
    bus: &B,
    u: &str,
    read_back: R,
) where
    B: EventBus,
    R: Fn() -> F,
    F: Future<Output = Vec<Value>>,
{
    let i = incident(u, "E", t0());
    let samples = sample_entries(t0());
    let events: Vec<_> = (0..25)
        .map(|k| {
            let mut entry: TimelineEntry = samples[k % samples.len()].clone();
            entry.key = format!("{u}-{k}");
            bus_event(&i.id, Some(&i), &entry).unwrap()
        })
        .collect();
    bus.publish(&events).await.unwrap();
    let delivered: BTreeMap<String, Value> = read_back()
        .await
        .into_iter()
        .filter(|e| e["detail"]["incident_id"] == i.id.as_str())
        .map(|e| {
            (
                e["detail"]["event_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e,
            )
        })
        .collect();
    assert_eq!(delivered.len(), events.len(), "every event, each once");
    for event in &events {
        let got = &delivered[event.event_id()];
        assert_eq!(got["source"], SOURCE);
        assert_eq!(got["detail-type"], event.detail_type.as_str());
        assert_eq!(got["detail"], serde_json::to_value(&event.detail).unwrap());
    }
}

#[cfg(test)]
mod tests {
    use crate::FakeBus;

    #[tokio::test]
    async fn every_event_is_published_with_its_type_and_detail() {
        let bus = FakeBus::new();
        super::every_event_is_published_with_its_type_and_detail(
            &bus,
            "0123456789abcdef",
            || async { bus.delivered() },
        )
        .await;
    }
}
