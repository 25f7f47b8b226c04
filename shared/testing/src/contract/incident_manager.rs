//! The incident mirror contract. No emulator supports Incident Manager, so
//! it runs against [`crate::FakeIncidentManager`] only (below);
//! the adapter's requests are checked field by field in
//! `aws/incident_manager/tests.rs`. A run against a real account would
//! read records back with `GetIncidentRecord` and `ListTimelineEvents`.

use std::future::Future;

use jiff::Timestamp;

use super::fixtures::{incident, t0};
use crate::events::sample_entries;
use klaxon_core::events::{BusEvent, IncidentSummary, bus_event};
use klaxon_core::incident_manager::{MirrorAction, action, incident_title, timeline_request};
use klaxon_ports::IncidentManager;

/// An incident record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView {
    pub title: String,
    pub impact: i32,
    pub resolved: bool,
    /// Event time and `eventData` of each timeline event Klaxon added, by
    /// event time, oldest first (as `ListTimelineEvents` sorts them).
    pub timeline: Vec<(Timestamp, String)>,
}

/// Starting the same incident again returns the same record; another
/// incident gets another. `read_back` reads a record by ARN.
pub async fn a_start_is_once_per_incident<M, R, F>(m: &M, u: &str, plan: &str, read_back: R)
where
    M: IncidentManager,
    R: Fn(String) -> F,
    F: Future<Output = Option<RecordView>>,
{
    let i = incident(u, "M", t0());
    let summary = IncidentSummary::from(&i);
    let arn = m.start(plan, &summary, &i.alarm_arn).await.unwrap();
    assert_eq!(
        m.start(plan, &summary, &i.alarm_arn).await.unwrap(),
        arn,
        "a retried start"
    );
    let other = incident(u, "N", t0());
    let other_arn = m
        .start(plan, &IncidentSummary::from(&other), &other.alarm_arn)
        .await
        .unwrap();
    assert_ne!(other_arn, arn);
    let view = read_back(arn).await.unwrap();
    assert_eq!(view.title, incident_title(&i));
    assert_eq!(view.impact, 2, "SEV2");
    assert!(!view.resolved);
    assert!(view.timeline.is_empty());
}

/// Events added in any order, some twice, are on the timeline once each,
/// by event time; the record then resolves, and resolving again is fine.
pub async fn a_timeline_is_in_event_order_once_per_event_and_the_record_resolves<M, R, F>(
    m: &M,
    u: &str,
    plan: &str,
    read_back: R,
) where
    M: IncidentManager,
    R: Fn(String) -> F,
    F: Future<Output = Option<RecordView>>,
{
    let i = incident(u, "T", t0());
    let arn = m
        .start(plan, &IncidentSummary::from(&i), &i.alarm_arn)
        .await
        .unwrap();
    let mirrored: Vec<BusEvent> = sample_entries(t0())
        .iter()
        .filter_map(|e| bus_event(&i.id, Some(&i), e))
        .filter(|e| matches!(action(e), MirrorAction::Timeline { .. }))
        .collect();
    assert!(mirrored.len() > 10);
    for event in mirrored.iter().rev() {
        m.add_timeline_event(&arn, event).await.unwrap();
    }
    for event in mirrored.iter().take(3) {
        m.add_timeline_event(&arn, event).await.unwrap();
    }
    let view = read_back(arn.clone()).await.unwrap();
    let expected: Vec<(Timestamp, String)> = mirrored
        .iter()
        .map(|e| (e.time, timeline_request(e).event_data))
        .collect();
    assert_eq!(view.timeline, expected);
    assert!(!view.resolved);

    m.resolve(&arn).await.unwrap();
    m.resolve(&arn).await.unwrap();
    let view = read_back(arn).await.unwrap();
    assert!(view.resolved);
    assert_eq!(view.timeline, expected, "resolving keeps the timeline");
}

#[cfg(test)]
mod tests {
    use super::RecordView;
    use crate::FakeIncidentManager;

    const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/klaxon";

    fn read_back(m: &FakeIncidentManager, arn: &str) -> Option<RecordView> {
        m.record(arn).map(|r| RecordView {
            title: r.start.title.clone(),
            impact: r.start.impact,
            resolved: r.is_resolved(),
            timeline: r
                .timeline_by_time()
                .into_iter()
                .map(|e| (e.event_time, e.event_data))
                .collect(),
        })
    }

    #[tokio::test]
    async fn a_start_is_once_per_incident() {
        let m = FakeIncidentManager::new();
        super::a_start_is_once_per_incident(&m, "0123456789abcdef", PLAN, |arn| {
            let view = read_back(&m, &arn);
            async move { view }
        })
        .await;
    }

    #[tokio::test]
    async fn a_timeline_is_in_event_order_once_per_event_and_the_record_resolves() {
        let m = FakeIncidentManager::new();
        super::a_timeline_is_in_event_order_once_per_event_and_the_record_resolves(
            &m,
            "0123456789abcdef",
            PLAN,
            |arn| {
                let view = read_back(&m, &arn);
                async move { view }
            },
        )
        .await;
    }
}
