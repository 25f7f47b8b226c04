use super::*;
use klaxon_core::classify::Severity;
use klaxon_core::incident::{Channel, Status, TimelineEvent};
use klaxon_core::status_page::ServiceState;
use klaxon_core::status_update::UpdateStatus;
use klaxon_testing::contract::incident;
use klaxon_testing::status_page::status_update;
use klaxon_testing::{FakeStatusPages, MemoryStore, Op, transient};

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

/// The status page function on fakes: a stack whose oncall.yaml asks for a
/// page of the checkout service, and incidents opened by the real intake.
mod function {
    use super::super::StatusPageRefresh;
    use super::*;
    use crate::operator::change_status;
    use crate::world::World;
    use klaxon_core::notifications::DestinationKind;
    use klaxon_ports::StreamRecord;
    use klaxon_ports::{Clock, Transition};
    use klaxon_testing::{CONFIG, StaticConfig};

    const PAGE: &str = "status_page: {title: Acme status, services: [checkout]}\n";

    struct Given {
        w: World,
        pages: FakeStatusPages,
        /// How many records were handed over so far (their sequence numbers).
        handed: std::sync::Mutex<usize>,
    }

    fn given(config: &str) -> Given {
        Given {
            w: World::new(config),
            pages: FakeStatusPages::new(),
            handed: std::sync::Mutex::new(0),
        }
    }

    type Refresh<'a> = StatusPageRefresh<'a, MemoryStore, StaticConfig, FakeStatusPages>;

    impl Given {
        fn function(&self) -> Refresh<'_> {
            StatusPageRefresh {
                incidents: &self.w.store,
                config: &self.w.config,
                pages: &self.pages,
                clock: &self.w.clock,
            }
        }

        /// The stream records of `entries` of incident `id`, numbered on.
        fn records(&self, id: &str, entries: Vec<TimelineEntry>) -> Vec<StreamRecord> {
            let mut handed = self.handed.lock().unwrap();
            entries
                .into_iter()
                .map(|entry| {
                    *handed += 1;
                    StreamRecord::Entry {
                        sequence: format!("{:06}", *handed),
                        incident_id: id.to_string(),
                        entry,
                    }
                })
                .collect()
        }

        async fn all_records(&self, id: &str) -> Vec<StreamRecord> {
            let timeline = self.w.timeline(id).await;
            self.records(id, timeline)
        }

        fn delivered(&self) -> TimelineEntry {
            TimelineEntry::new(
                self.w.clock.now(),
                "notified",
                TimelineEvent::NotificationDelivered {
                    target: "ops-slack".into(),
                    destination: DestinationKind::Slack,
                    event: "TL#1".into(),
                    status: Some(200),
                    attempts: 1,
                    reference: None,
                },
            )
        }

        fn state(&self) -> serde_json::Value {
            let page = self.pages.last().expect("a page was published");
            let feed: serde_json::Value = serde_json::from_str(&page.json).unwrap();
            feed["services"][0]["state"].clone()
        }
    }

    #[tokio::test]
    async fn an_alarm_and_its_resolve_each_publish_the_page_again() {
        // GIVEN a stack with a status page
        let g = given(&format!("{CONFIG}{PAGE}"));
        // WHEN an alarm opens an incident and its entries reach the function
        let id = g.w.open_incident("checkout-5xx", g.w.clock.now()).await;
        let report = g.function().handle(&g.all_records(&id).await).await;
        // THEN the page shows the service degraded
        assert_eq!(
            report,
            RefreshReport {
                published: true,
                failed_at: None
            }
        );
        assert_eq!(g.pages.publishes(), 1, "once per batch");
        assert_eq!(g.state(), "degraded");
        // WHEN the incident is resolved
        g.w.clock.advance(60);
        change_status(
            &g.w.store,
            &g.w.escalations,
            &g.w.clock,
            &id,
            Transition::Resolve,
            "hana",
        )
        .await
        .unwrap();
        let resolved = g.w.timeline(&id).await;
        let last = resolved.last().cloned().into_iter().collect();
        g.function().handle(&g.records(&id, last)).await;
        // THEN it shows the service operational again
        assert_eq!(g.state(), "operational");
    }

    #[tokio::test]
    async fn delivery_outcomes_and_other_records_change_nothing_shown() {
        let g = given(&format!("{CONFIG}{PAGE}"));
        let id = g.w.open_incident("checkout-5xx", g.w.clock.now()).await;
        let mut records = g.records(&id, vec![g.delivered()]);
        records.push(StreamRecord::Other {
            sequence: "999999".into(),
        });
        let report = g.function().handle(&records).await;
        assert_eq!(report, RefreshReport::default());
        assert_eq!(g.pages.publishes(), 0);
    }

    #[tokio::test]
    async fn a_configuration_without_a_status_page_publishes_nothing() {
        let g = given(CONFIG);
        let id = g.w.open_incident("checkout-5xx", g.w.clock.now()).await;
        let report = g.function().handle(&g.all_records(&id).await).await;
        assert_eq!(report, RefreshReport::default());
        assert_eq!(g.pages.publishes(), 0);
    }

    #[tokio::test]
    async fn a_page_that_cannot_be_published_retries_the_batch_from_its_last_change() {
        // GIVEN S3 refuses the next write
        let g = given(&format!("{CONFIG}{PAGE}"));
        g.pages.fail_next(transient("PutObject"));
        let id = g.w.open_incident("checkout-5xx", g.w.clock.now()).await;
        // WHEN a batch ending with a delivery outcome reaches the function
        let mut records = g.all_records(&id).await;
        let last_change = records.last().unwrap().sequence().to_string();
        records.extend(g.records(&id, vec![g.delivered()]));
        let report = g.function().handle(&records).await;
        // THEN the mapping retries from the last change, not past it
        let (sequence, reason) = report.failed_at.clone().unwrap();
        assert_eq!(sequence, last_change);
        assert!(reason.contains("PutObject"), "{reason}");
        assert_eq!(report.response().batch_item_failures.len(), 1);
        // AND the retry, from there, publishes the page
        let at = records
            .iter()
            .position(|r| r.sequence() == sequence)
            .unwrap();
        let again = g.function().handle(&records[at..]).await;
        assert!(again.published && again.failed_at.is_none());
        assert_eq!(g.state(), "degraded");
    }

    #[tokio::test]
    async fn a_configuration_that_cannot_be_read_retries_the_batch() {
        let g = given(&format!("{CONFIG}{PAGE}"));
        let id = g.w.open_incident("checkout-5xx", g.w.clock.now()).await;
        let records = g.all_records(&id).await;
        let missing = StaticConfig::missing();
        let function = StatusPageRefresh {
            config: &missing,
            ..g.function()
        };
        let report = function.handle(&records).await;
        assert!(report.failed_at.is_some(), "{report:?}");
        assert_eq!(g.pages.publishes(), 0);
    }
}
