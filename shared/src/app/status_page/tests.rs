use super::*;
use crate::core::classify::Severity;
use crate::core::incident::{Channel, Status, TimelineEvent};
use crate::core::status_page::ServiceState;
use crate::core::status_update::UpdateStatus;
use crate::testing::contract::incident;
use crate::testing::status_page::status_update;
use crate::testing::{FakeStatusPages, MemoryStore, Op, transient};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn services() -> Vec<(String, String)> {
    vec![
        ("checkout".into(), "Checkout".into()),
        ("search".into(), "Search".into()),
    ]
}

fn update(when: &str, status: UpdateStatus, message: &str) -> TimelineEntry {
    status_update(when, status, message, "Alice Operator")
}

/// GIVEN a store holding `incidents`, each with its timeline.
async fn given(incidents: Vec<(Incident, Vec<TimelineEntry>)>) -> (MemoryStore, FakeStatusPages) {
    let store = MemoryStore::new();
    for (i, timeline) in incidents {
        store.with(|s| s.incidents.insert(i.id.clone(), i.clone()));
        for entry in timeline {
            assert!(store.append(&i.id, &entry).await.unwrap());
        }
    }
    (store, FakeStatusPages::new())
}

fn sev1_outage() -> (Incident, Vec<TimelineEntry>) {
    let mut i = incident("a1b2c3d4", "OUT", at("2026-12-01T09:00:00Z"));
    i.severity = Severity::Sev1;
    let paged = TimelineEntry::new(
        at("2026-12-01T09:01:00Z"),
        "paged",
        TimelineEvent::Paged {
            step: 0,
            pass: 1,
            level: 1,
            person: "aiko".into(),
            channel: Channel::Sms,
            to: "+819012345678".into(),
            message_id: "m-1".into(),
        },
    );
    let timeline = vec![
        paged,
        update(
            "2026-12-01T09:10:00Z",
            UpdateStatus::Investigating,
            "Checkout errors are up; we are on it.",
        ),
        update(
            "2026-12-01T09:30:00Z",
            UpdateStatus::Identified,
            "A bad deploy; rolling back.",
        ),
    ];
    (i, timeline)
}

#[tokio::test]
async fn an_open_sev1_is_published_as_a_major_outage_with_its_updates_and_nothing_private() {
    let (store, pages) = given(vec![sev1_outage()]).await;
    let writer = StatusPageWriter {
        incidents: &store,
        pages: &pages,
    };

    let page = writer
        .refresh("Acme status", &services(), at("2026-12-01T10:00:00Z"))
        .await
        .unwrap();

    assert_eq!(page.services[0].state, ServiceState::MajorOutage);
    assert_eq!(page.services[1].state, ServiceState::Operational);
    let published = pages.last().expect("a page was published");
    assert_eq!(published.json, page.to_json());
    assert_eq!(published.html, html::render(&page));
    let feed: serde_json::Value = serde_json::from_str(&published.json).unwrap();
    let updates = &feed["services"][0]["active_incidents"][0]["updates"];
    assert_eq!(updates[0]["message"], "A bad deploy; rolling back.");
    assert_eq!(
        updates[1]["message"],
        "Checkout errors are up; we are on it."
    );
    for text in [&published.html, &published.json] {
        for private in ["+819012345678", "aiko", "Alice Operator", "arn:aws"] {
            assert!(!text.contains(private), "{private} is on the page");
        }
    }
}

#[tokio::test]
async fn an_incident_resolved_last_month_within_seven_days_is_shown_as_recent() {
    let mut recent = incident("a1b2c3d4", "REC", at("2026-11-29T08:00:00Z"));
    recent.service = "search".into();
    recent.status = Status::Resolved;
    recent.resolved_at = Some(at("2026-11-30T08:00:00Z"));
    let mut old = incident("a1b2c3d4", "OLD", at("2026-11-20T08:00:00Z"));
    old.status = Status::Resolved;
    old.resolved_at = Some(at("2026-11-21T08:00:00Z"));
    let (store, pages) = given(vec![(recent, vec![]), (old, vec![])]).await;
    let writer = StatusPageWriter {
        incidents: &store,
        pages: &pages,
    };

    let page = writer
        .refresh("Acme status", &services(), at("2026-12-02T10:00:00Z"))
        .await
        .unwrap();

    assert!(page.services[0].recent_incidents.is_empty(), "too old");
    let search = &page.services[1];
    assert_eq!(search.state, ServiceState::Operational);
    assert_eq!(search.recent_incidents.len(), 1);
    assert!(search.recent_incidents[0].id.ends_with("REC"));
    assert_eq!(pages.publishes(), 1);
}

#[tokio::test]
async fn a_failed_publish_is_reported_as_retryable() {
    let (store, pages) = given(vec![sev1_outage()]).await;
    pages.fail_next(transient("PutObject"));
    let writer = StatusPageWriter {
        incidents: &store,
        pages: &pages,
    };

    let err = writer
        .refresh("Acme status", &services(), at("2026-12-01T10:00:00Z"))
        .await
        .unwrap_err();

    assert!(err.retryable(), "{err}");
    assert_eq!(pages.publishes(), 0);
}

#[tokio::test]
async fn a_failed_read_publishes_nothing() {
    let (store, pages) = given(vec![sev1_outage()]).await;
    store.fail_next(Op::Timeline, transient("Query"));
    let writer = StatusPageWriter {
        incidents: &store,
        pages: &pages,
    };

    let err = writer
        .refresh("Acme status", &services(), at("2026-12-01T10:00:00Z"))
        .await
        .unwrap_err();

    assert!(err.retryable(), "{err}");
    assert_eq!(pages.last(), None, "no page without the incidents' updates");
}

#[test]
fn the_months_read_are_this_and_the_previous_utc_month() {
    assert_eq!(months(at("2026-12-01T00:00:00Z")), ["2026-12", "2026-11"]);
    assert_eq!(months(at("2027-01-31T23:59:59Z")), ["2027-01", "2026-12"]);
    assert_eq!(months(at("2026-03-31T12:00:00Z")), ["2026-03", "2026-02"]);
}
