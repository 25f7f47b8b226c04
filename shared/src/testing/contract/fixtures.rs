//! What the store contract cases are built from: a unique run string,
//! times, an incident as intake builds one, and the entries and claims the
//! cases write.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use rand::RngExt;

use crate::core::classify::Severity;
use crate::core::incident::{
    AckCode, Actor, Channel, Incident, Status, TimelineEntry, TimelineEvent,
};
use crate::core::phone::Phone;
use crate::core::routing::Urgency;

use crate::ports::{
    AlarmMemory, InboundMessages, Incidents, OpenOutcome, PageClaim, Paging, RateLimits,
};

/// Every store port at once.
pub trait Store: Incidents + Paging + InboundMessages + AlarmMemory + RateLimits {}
impl<T: Incidents + Paging + InboundMessages + AlarmMemory + RateLimits> Store for T {}

/// A string unique to this run: ids, keys and codes derive from it.
pub fn unique() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// The base time of the cases.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A time `secs` after the store cases' base: an hour before the run
/// started. Not [`t0`]: some items carry a DynamoDB TTL (a self-test's
/// incident: 7 days; an alarm's last OK: 2 days) counted from these times,
/// and DynamoDB Local deletes expired items in the background, so items
/// written at a fixed date long past would vanish mid-case, as in AWS.
pub(super) fn at(secs: i64) -> Timestamp {
    static BASE: std::sync::OnceLock<Timestamp> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let now = Timestamp::now().as_second();
        Timestamp::from_second(now - now % 60 - 3600).unwrap_or_else(|_| t0())
    });
    *base + SignedDuration::from_secs(secs)
}

/// A four-digit code unlikely to collide with another run's.
pub(super) fn code(u: &str, salt: u32) -> String {
    let n = u
        .bytes()
        .fold(salt, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    AckCode::from_number(n).0
}

/// A triggered incident, as intake builds one.
pub fn incident(u: &str, name: &str, opened_at: Timestamp) -> Incident {
    let salt = name.bytes().map(u32::from).sum();
    Incident {
        id: format!("20261121-{}{name}", &u[..6]).to_uppercase(),
        title: format!("alarm {name}"),
        status: Status::Triggered,
        severity: Severity::Sev2,
        urgency: Urgency::High,
        service: "checkout".into(),
        policy: "default".into(),
        decided_by: "default".into(),
        severity_from: "default".into(),
        matched: vec!["alarm_name ~ *".into()],
        alarm_name: format!("alarm-{name}"),
        alarm_arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{u}-{name}"),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        dedup_key: format!("123456789012|us-east-1|{u}-{name}"),
        description: Some("severity:SEV2".into()),
        reason: "Threshold Crossed".into(),
        opened_at,
        last_alarm_at: opened_at,
        alarm_state_at: opened_at - SignedDuration::from_secs(5),
        alarm_count: 1,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        ack_code: code(u, salt),
        paged_numbers: BTreeSet::new(),
        escalation_execution: None,
        self_test: false,
    }
}

pub(super) fn alarm_entry(state_at: Timestamp, now: Timestamp) -> TimelineEntry {
    let event = TimelineEvent::AlarmState {
        state: crate::core::alarm::AlarmState::Alarm,
        reason: "Threshold Crossed again".into(),
        route: "eventbridge".into(),
        changed_at: crate::core::time::iso(state_at),
        repeat: true,
    };
    let key = event.once_key().unwrap_or_default();
    TimelineEntry::new(now, key, event)
}

pub(super) fn opened(i: &Incident) -> Vec<TimelineEntry> {
    vec![
        alarm_entry(i.alarm_state_at, i.opened_at),
        TimelineEntry::new(i.opened_at, "opened", TimelineEvent::Opened),
    ]
}

/// Opens `i`; a code another open incident holds (the table is shared
/// with other tests) is replaced, as intake does.
pub(super) async fn open<S: Store>(s: &S, i: &mut Incident) {
    for salt in 0..50 {
        match s.open(i, &opened(i)).await.unwrap() {
            OpenOutcome::Opened => return,
            OpenOutcome::CodeTaken => i.ack_code = AckCode::from_number(salt * 7919 + 17).0,
            other => panic!("{other:?}"),
        }
    }
    panic!("no free code");
}

pub(super) fn resolve_entry(now: Timestamp) -> TimelineEntry {
    TimelineEntry::new(
        now,
        "resolved",
        TimelineEvent::Resolved {
            by: "ops".into(),
            via: "cli".into(),
        },
    )
}

pub(super) fn cli() -> Actor {
    Actor::Cli { user: "ops".into() }
}

pub(super) fn phone(u: &str) -> Phone {
    let digits: String = u
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .take(8)
        .collect();
    Phone::parse(&format!("+8190{digits}")).unwrap()
}

pub(super) fn claim(step: u32, person: &str, numbers: Vec<Phone>) -> PageClaim {
    PageClaim {
        step,
        person: person.into(),
        channel: Channel::Sms,
        contact: "mobile".into(),
        ack_numbers: numbers,
    }
}
