//! The public status page: each listed service's state, its active
//! incidents and those resolved in the last [`RECENT_DAYS`] days, with the
//! status updates operators posted (`klaxon incidents update`). Rendered
//! as a static HTML page ([`html::render`]) and a JSON feed
//! ([`StatusPage::to_json`]).
//!
//! Pure: the caller reads the incidents and their timelines and passes
//! `now`. The page is public, so only what is meant for the public reaches
//! it: an incident's id, title (its alarm's name), impact and times, and the
//! message, status and time of each status update. Never who was paged or
//! by what number, who acted, the alarm's ARN or reason, or any other
//! timeline entry.
//!
//! # The JSON feed (`status.json`, version 1)
//!
//! ```json
//! {
//!   "version": 1,
//!   "title": "Acme status",
//!   "updated_at": "2026-12-01T09:30:00.000Z",
//!   "state": "major_outage",
//!   "services": [{
//!     "id": "checkout", "name": "Checkout", "state": "major_outage",
//!     "active_incidents": [{
//!       "id": "20261201-K7Q2XM", "title": "checkout-5xx", "impact": "major_outage",
//!       "opened_at": "2026-12-01T09:00:00.000Z", "resolved_at": null,
//!       "updates": [{"at": "2026-12-01T09:20:00.000Z", "status": "identified",
//!                    "message": "A bad deploy; rolling back."}]
//!     }],
//!     "recent_incidents": []
//!   }]
//! }
//! ```
//!
//! `state` and `impact` are `operational`, `degraded` or `major_outage`;
//! `status` is `investigating`, `identified`, `monitoring` or `resolved`.
//! Times are UTC, ISO 8601 with milliseconds. Updates are newest first;
//! active incidents by opening time and recent ones by resolution time,
//! newest first. Fields are only ever added within a version.

pub mod html;

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::classify::Severity;
use super::incident::{Incident, TimelineEntry, TimelineEvent};
use super::status_update::UpdateStatus;

/// The version of the JSON feed's shape.
pub const FEED_VERSION: u32 = 1;
/// How long a resolved incident stays on the page.
pub const RECENT_DAYS: i64 = 7;
/// At most this many resolved incidents per service.
pub const MAX_RECENT: usize = 10;

/// How a service is doing, as the public sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    Operational,
    /// An open incident of severity SEV2 to SEV4.
    Degraded,
    /// An open SEV1 incident.
    MajorOutage,
}

impl ServiceState {
    /// The impact of an open incident of `severity`.
    pub fn of(severity: Severity) -> Self {
        match severity {
            Severity::Sev1 => Self::MajorOutage,
            Severity::Sev2 | Severity::Sev3 | Severity::Sev4 => Self::Degraded,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::Degraded => "degraded",
            Self::MajorOutage => "major_outage",
        }
    }

    /// The words a visitor reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::Degraded => "Degraded performance",
            Self::MajorOutage => "Major outage",
        }
    }
}

/// A status update as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicUpdate {
    #[serde(with = "super::time::iso_ms")]
    pub at: Timestamp,
    pub status: UpdateStatus,
    pub message: String,
}

/// An incident as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIncident {
    pub id: String,
    pub title: String,
    /// What the incident does to its service while open.
    pub impact: ServiceState,
    #[serde(with = "super::time::iso_ms")]
    pub opened_at: Timestamp,
    #[serde(with = "super::time::iso_ms_opt")]
    pub resolved_at: Option<Timestamp>,
    /// Newest first.
    pub updates: Vec<PublicUpdate>,
}

/// One service on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub id: String,
    pub name: String,
    pub state: ServiceState,
    /// Open incidents, newest first.
    pub active_incidents: Vec<PublicIncident>,
    /// Incidents resolved in the last [`RECENT_DAYS`] days, newest first.
    pub recent_incidents: Vec<PublicIncident>,
}

/// The whole page; serialized as is, it is the JSON feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPage {
    pub version: u32,
    pub title: String,
    #[serde(with = "super::time::iso_ms")]
    pub updated_at: Timestamp,
    /// The worst state of any service.
    pub state: ServiceState,
    pub services: Vec<ServiceStatus>,
}

/// Whether `incident` can appear on a page listing `services` at `now`:
/// one of those services, not a self-test, and open or resolved in the
/// last [`RECENT_DAYS`] days. Callers read timelines only for these.
pub fn is_shown(incident: &Incident, services: &[(String, String)], now: Timestamp) -> bool {
    !incident.self_test
        && services.iter().any(|(id, _)| *id == incident.service)
        && match incident.resolved_at {
            None => incident.status.is_open(),
            Some(at) => !incident.status.is_open() && at >= recent_since(now),
        }
}

fn recent_since(now: Timestamp) -> Timestamp {
    now - SignedDuration::from_hours(24 * RECENT_DAYS)
}

/// The public side of one incident: its status updates, newest first.
fn public_incident(incident: &Incident, timeline: &[TimelineEntry]) -> PublicIncident {
    let mut updates: Vec<PublicUpdate> = timeline
        .iter()
        .filter_map(|entry| match &entry.event {
            TimelineEvent::StatusUpdate {
                status, message, ..
            } => Some(PublicUpdate {
                at: entry.at,
                status: *status,
                message: message.clone(),
            }),
            _ => None,
        })
        .collect();
    updates.sort_by_key(|u| std::cmp::Reverse(u.at));
    PublicIncident {
        id: incident.id.clone(),
        title: incident.title.clone(),
        impact: ServiceState::of(incident.severity),
        opened_at: incident.opened_at,
        resolved_at: incident.resolved_at.filter(|_| !incident.status.is_open()),
        updates,
    }
}

impl StatusPage {
    /// The page titled `title` for `services` (id, display name), in that
    /// order, from `incidents` with their timelines, as of `now`. Incidents
    /// that are not shown ([`is_shown`]) and repeats of an id are ignored.
    pub fn build(
        title: &str,
        services: &[(String, String)],
        incidents: &[(Incident, Vec<TimelineEntry>)],
        now: Timestamp,
    ) -> Self {
        let mut seen = BTreeSet::new();
        let shown: Vec<&(Incident, Vec<TimelineEntry>)> = incidents
            .iter()
            .filter(|(i, _)| is_shown(i, services, now) && seen.insert(i.id.as_str()))
            .collect();
        let services: Vec<ServiceStatus> = services
            .iter()
            .map(|(id, name)| {
                let mine = || shown.iter().filter(|(i, _)| i.service == *id);
                let mut active: Vec<PublicIncident> = mine()
                    .filter(|(i, _)| i.status.is_open())
                    .map(|(i, t)| public_incident(i, t))
                    .collect();
                active.sort_by_key(|i| std::cmp::Reverse((i.opened_at, i.id.clone())));
                let mut recent: Vec<PublicIncident> = mine()
                    .filter(|(i, _)| !i.status.is_open())
                    .map(|(i, t)| public_incident(i, t))
                    .collect();
                recent.sort_by_key(|i| std::cmp::Reverse((i.resolved_at, i.id.clone())));
                recent.truncate(MAX_RECENT);
                ServiceStatus {
                    id: id.clone(),
                    name: name.clone(),
                    state: active
                        .iter()
                        .map(|i| i.impact)
                        .max()
                        .unwrap_or(ServiceState::Operational),
                    active_incidents: active,
                    recent_incidents: recent,
                }
            })
            .collect();
        Self {
            version: FEED_VERSION,
            title: title.to_string(),
            updated_at: now,
            state: services
                .iter()
                .map(|s| s.state)
                .max()
                .unwrap_or(ServiceState::Operational),
            services,
        }
    }

    /// The JSON feed, pretty-printed.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and enums always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::incident::{AckCode, Status};
    use crate::routing::Urgency;

    pub(super) fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    pub(super) fn now() -> Timestamp {
        at("2026-12-01T10:00:00Z")
    }

    pub(super) fn services() -> Vec<(String, String)> {
        vec![
            ("checkout".into(), "Checkout".into()),
            ("search".into(), "Search".into()),
        ]
    }

    pub(super) fn incident(id: &str, service: &str, severity: Severity, opened: &str) -> Incident {
        Incident {
            id: id.into(),
            title: format!("{service}-5xx"),
            status: Status::Triggered,
            severity,
            urgency: Urgency::High,
            service: service.into(),
            policy: "default".into(),
            decided_by: "default".into(),
            severity_from: "default".into(),
            matched: vec![],
            alarm_name: format!("{service}-5xx"),
            alarm_arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{service}-5xx"),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            dedup_key: id.into(),
            description: None,
            reason: "Threshold Crossed".into(),
            opened_at: at(opened),
            last_alarm_at: at(opened),
            alarm_state_at: at(opened),
            alarm_count: 1,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            ack_code: AckCode::from_number(1).0,
            paged_numbers: BTreeSet::new(),
            escalation_execution: None,
            self_test: false,
        }
    }

    pub(super) fn resolved(mut i: Incident, when: &str) -> Incident {
        i.status = Status::Resolved;
        i.resolved_at = Some(at(when));
        i.resolved_by = Some("alice".into());
        i
    }

    pub(super) fn update(when: &str, status: UpdateStatus, message: &str) -> TimelineEntry {
        TimelineEntry::new(
            at(when),
            format!("update-{when}"),
            TimelineEvent::StatusUpdate {
                status,
                message: message.into(),
                by: "Alice Operator".into(),
            },
        )
    }

    pub(super) fn paged(when: &str) -> TimelineEntry {
        TimelineEntry::new(
            at(when),
            format!("paged-{when}"),
            TimelineEvent::Paged {
                step: 0,
                pass: 1,
                level: 1,
                person: "alice".into(),
                channel: crate::incident::Channel::Sms,
                to: "+819012345678".into(),
                message_id: "m-1".into(),
            },
        )
    }

    fn page(incidents: Vec<(Incident, Vec<TimelineEntry>)>) -> StatusPage {
        StatusPage::build("Acme status", &services(), &incidents, now())
    }

    #[test]
    fn services_with_no_open_incident_are_operational_in_the_configured_order() {
        let p = page(vec![]);
        assert_eq!(p.state, ServiceState::Operational);
        let names: Vec<_> = p.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Checkout", "Search"]);
        assert!(
            p.services
                .iter()
                .all(|s| s.state == ServiceState::Operational)
        );
        assert_eq!(p.updated_at, now());
    }

    #[test]
    fn an_open_sev1_is_a_major_outage_and_lower_severities_degrade() {
        let p = page(vec![
            (
                incident("A", "checkout", Severity::Sev3, "2026-12-01T09:00:00Z"),
                vec![],
            ),
            (
                incident("B", "checkout", Severity::Sev1, "2026-12-01T09:05:00Z"),
                vec![],
            ),
            (
                incident("C", "search", Severity::Sev4, "2026-12-01T09:10:00Z"),
                vec![],
            ),
        ]);
        assert_eq!(p.services[0].state, ServiceState::MajorOutage);
        assert_eq!(p.services[1].state, ServiceState::Degraded);
        assert_eq!(p.state, ServiceState::MajorOutage, "the worst service");
        let ids: Vec<_> = p.services[0]
            .active_incidents
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(ids, ["B", "A"], "newest first");
        assert_eq!(ServiceState::of(Severity::Sev2), ServiceState::Degraded);
    }

    #[test]
    fn a_resolved_incident_is_recent_for_seven_days_and_no_longer_degrades() {
        let kept = resolved(
            incident("R1", "checkout", Severity::Sev1, "2026-11-25T09:00:00Z"),
            "2026-11-24T10:00:01Z",
        );
        let gone = resolved(
            incident("R2", "checkout", Severity::Sev1, "2026-11-20T09:00:00Z"),
            "2026-11-24T09:59:59Z",
        );
        let p = page(vec![(kept, vec![]), (gone, vec![])]);
        let checkout = &p.services[0];
        assert_eq!(checkout.state, ServiceState::Operational);
        assert!(checkout.active_incidents.is_empty());
        let ids: Vec<_> = checkout
            .recent_incidents
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(ids, ["R1"]);
        assert_eq!(
            checkout.recent_incidents[0].resolved_at,
            Some(at("2026-11-24T10:00:01Z"))
        );
    }

    #[test]
    fn only_status_updates_reach_the_page_newest_first() {
        let timeline = vec![
            paged("2026-12-01T09:01:00Z"),
            update(
                "2026-12-01T09:10:00Z",
                UpdateStatus::Investigating,
                "Checking.",
            ),
            update(
                "2026-12-01T09:30:00Z",
                UpdateStatus::Identified,
                "Bad deploy.",
            ),
        ];
        let p = page(vec![(
            incident("A", "checkout", Severity::Sev1, "2026-12-01T09:00:00Z"),
            timeline,
        )]);
        let updates = &p.services[0].active_incidents[0].updates;
        let got: Vec<_> = updates
            .iter()
            .map(|u| (u.status, u.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (UpdateStatus::Identified, "Bad deploy."),
                (UpdateStatus::Investigating, "Checking.")
            ]
        );
        let json = p.to_json();
        for secret in [
            "+819012345678",
            "Alice Operator",
            "arn:aws",
            "alice",
            "Threshold",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
    }

    #[test]
    fn self_tests_other_services_and_repeated_ids_are_left_out() {
        let mut st = incident("S", "checkout", Severity::Sev1, "2026-12-01T09:00:00Z");
        st.self_test = true;
        let other = incident("O", "billing", Severity::Sev1, "2026-12-01T09:00:00Z");
        let a = incident("A", "search", Severity::Sev2, "2026-12-01T09:00:00Z");
        let p = page(vec![
            (st, vec![]),
            (other, vec![]),
            (a.clone(), vec![]),
            (a, vec![]),
        ]);
        assert_eq!(p.services[0].state, ServiceState::Operational);
        assert_eq!(p.services[1].active_incidents.len(), 1);
    }

    #[test]
    fn at_most_ten_recent_incidents_per_service_are_kept() {
        let many: Vec<_> = (0..15)
            .map(|n| {
                let i = incident(
                    &format!("R{n:02}"),
                    "search",
                    Severity::Sev2,
                    "2026-11-30T00:00:00Z",
                );
                (
                    resolved(i, &format!("2026-11-30T{n:02}:00:00Z")),
                    Vec::new(),
                )
            })
            .collect();
        let p = page(many);
        let recent = &p.services[1].recent_incidents;
        assert_eq!(recent.len(), MAX_RECENT);
        assert_eq!(recent[0].id, "R14", "the latest resolved first");
    }

    #[test]
    fn the_feed_has_stable_field_names_and_reads_back() {
        let p = page(vec![(
            incident("A", "checkout", Severity::Sev1, "2026-12-01T09:00:00Z"),
            vec![update(
                "2026-12-01T09:10:00Z",
                UpdateStatus::Investigating,
                "Looking.",
            )],
        )]);
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["title"], "Acme status");
        assert_eq!(v["updated_at"], "2026-12-01T10:00:00.000Z");
        assert_eq!(v["state"], "major_outage");
        let s = &v["services"][0];
        assert_eq!(
            (s["id"].as_str(), s["name"].as_str(), s["state"].as_str()),
            (Some("checkout"), Some("Checkout"), Some("major_outage"))
        );
        let i = &s["active_incidents"][0];
        assert_eq!(i["impact"], "major_outage");
        assert_eq!(i["opened_at"], "2026-12-01T09:00:00.000Z");
        assert_eq!(i["resolved_at"], serde_json::Value::Null);
        assert_eq!(i["updates"][0]["status"], "investigating");
        assert_eq!(i["updates"][0]["message"], "Looking.");
        assert_eq!(i["updates"][0]["at"], "2026-12-01T09:10:00.000Z");
        assert_eq!(v["services"][1]["recent_incidents"], serde_json::json!([]));
        let back: StatusPage = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(back, p);
    }
}
