//! What the store contract cases are built from: a unique run string,
//! times, an incident as intake builds one, and the entries and claims the
//! cases write.

use jiff::{SignedDuration, Timestamp};
use rand::RngExt;

use klaxon_core::incident::{AckCode, Actor, Channel, Incident, TimelineEntry, TimelineEvent};
use klaxon_core::phone::Phone;

use klaxon_ports::{
    AlarmMemory, InboundMessages, Incidents, OpenOutcome, PageClaim, Paging, RateLimits,
};

/// Every store port at once.
pub trait Store: Incidents + Paging + InboundMessages + AlarmMemory + RateLimits {}
impl<T: Incidents + Paging + InboundMessages + AlarmMemory + RateLimits> Store for T {}

pub use klaxon_core::fixtures::{incident, t0};

/// A string unique to this run: ids, keys and codes derive from it.
pub fn unique() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
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

pub(super) fn alarm_entry(state_at: Timestamp, now: Timestamp) -> TimelineEntry {
    let event = TimelineEvent::AlarmState {
        state: klaxon_core::alarm::AlarmState::Alarm,
        reason: "Threshold Crossed again".into(),
        route: "eventbridge".into(),
        changed_at: klaxon_core::time::iso(state_at),
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
