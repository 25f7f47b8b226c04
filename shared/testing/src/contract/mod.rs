//! The store contract: the same cases run against the in-memory fake (unit
//! tests in this crate) and against DynamoDB in the emulator
//! (`tests/it/contract.rs`), so the two cannot drift apart.
//!
//! Each case takes a store and a string unique to the run, so cases can
//! share one table. [`outbound`] holds the contract of the other ports.

pub mod channels;
pub mod endpoints;
pub mod events;
mod fixtures;
pub mod incident_manager;
pub mod metric_log;
pub mod outbound;
mod rate_limits;
pub mod secrets;
pub mod status_page;
pub mod tags;

pub use rate_limits::a_rate_limit_counts_each_token_once_in_a_sliding_window;

pub use fixtures::{Store, incident, t0, unique};
use fixtures::{alarm_entry, at, claim, cli, open, opened, phone, resolve_entry};

use jiff::{SignedDuration, Timestamp};

use klaxon_core::incident::{AckCode, Actor, Channel, Status, TimelineEntry, TimelineEvent};
use klaxon_core::policy::ResolvedTarget;
use klaxon_ports::{
    ClaimOutcome, ConfirmationClaim, FoldOutcome, InboundClaim, LevelRecord, OpenOutcome,
    PageClaim, Requirement, ResolvedByAlarm, Transition, TransitionOutcome,
};

/// One open incident per dedup key; a taken code is reported as such.
pub async fn open_is_once_per_dedup_key_and_code<S: Store>(s: &S, u: &str) {
    let mut first = incident(u, "A", at(0));
    open(s, &mut first).await;
    let first = first;
    let mut again = incident(u, "B", at(1));
    again.dedup_key = first.dedup_key.clone();
    assert_eq!(
        s.open(&again, &opened(&again)).await.unwrap(),
        OpenOutcome::AlreadyOpen {
            incident_id: first.id.clone()
        }
    );
    let mut same_code = incident(u, "C", at(2));
    same_code.ack_code = first.ack_code.clone();
    assert_eq!(
        s.open(&same_code, &opened(&same_code)).await.unwrap(),
        OpenOutcome::CodeTaken
    );
    assert_eq!(
        s.open_for_dedup_key(&first.dedup_key).await.unwrap(),
        Some(first.id.clone())
    );
    assert_eq!(
        s.incident_for_code(&AckCode(first.ack_code.clone()))
            .await
            .unwrap(),
        Some(first.id.clone())
    );
    assert!(
        s.get(&again.id).await.unwrap().is_none(),
        "nothing half-written"
    );
    let stored = s.get(&first.id).await.unwrap().unwrap();
    assert_eq!(stored, first, "every field reads back as written");
}

/// A repeat state change is counted once, and raises the alarm time only.
pub async fn fold_counts_each_state_change_once<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "F", at(0));
    open(s, &mut i).await;
    let i = i;
    let later = i.alarm_state_at + SignedDuration::from_secs(60);
    let repeat = alarm_entry(later, at(70));
    assert_eq!(
        s.fold_repeat(&i.id, &repeat, later).await.unwrap(),
        FoldOutcome::Folded { alarm_count: 2 }
    );
    let redelivered = alarm_entry(later, at(90));
    assert_eq!(
        s.fold_repeat(&i.id, &redelivered, later).await.unwrap(),
        FoldOutcome::Duplicate
    );
    let older = i.alarm_state_at - SignedDuration::from_secs(60);
    assert_eq!(
        s.fold_repeat(&i.id, &alarm_entry(older, at(95)), older)
            .await
            .unwrap(),
        FoldOutcome::Folded { alarm_count: 3 }
    );
    let stored = s.get(&i.id).await.unwrap().unwrap();
    assert_eq!(stored.alarm_count, 3);
    assert_eq!(stored.alarm_state_at, later, "never lowered");
    assert_eq!(stored.last_alarm_at, at(95), "Klaxon's clock");
    let alarms = s
        .timeline(&i.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.kind() == "alarm_state")
        .count();
    assert_eq!(alarms, 3, "the opening ALARM and two distinct repeats");
}

/// Folding into a resolved incident reports it, changing nothing.
pub async fn fold_into_a_resolved_incident_is_not_open<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "R", at(0));
    open(s, &mut i).await;
    let i = i;
    let done = s
        .transition(
            &i.id,
            Transition::Resolve,
            &cli(),
            Requirement::None,
            &resolve_entry(at(10)),
        )
        .await
        .unwrap();
    assert!(matches!(done, TransitionOutcome::Done(_)), "{done:?}");
    let later = i.alarm_state_at + SignedDuration::from_secs(30);
    assert_eq!(
        s.fold_repeat(&i.id, &alarm_entry(later, at(20)), later)
            .await
            .unwrap(),
        FoldOutcome::NotOpen
    );
    assert_eq!(s.get(&i.id).await.unwrap().unwrap().alarm_count, 1);
}

/// Resolving frees the dedup key and the code; the lists follow.
pub async fn resolve_frees_the_dedup_key_and_the_code<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "Z", at(0));
    open(s, &mut i).await;
    let i = i;
    assert!(s.list_open().await.unwrap().iter().any(|x| x.id == i.id));
    let outcome = s
        .transition(
            &i.id,
            Transition::Resolve,
            &cli(),
            Requirement::None,
            &resolve_entry(at(30)),
        )
        .await
        .unwrap();
    let TransitionOutcome::Done(done) = outcome else {
        panic!("not resolved: {outcome:?}");
    };
    assert_eq!(done.status, Status::Resolved);
    assert_eq!(done.resolved_at, Some(at(30)));
    assert_eq!(done.resolved_by.as_deref(), Some("ops"));
    assert_eq!(s.open_for_dedup_key(&i.dedup_key).await.unwrap(), None);
    assert_eq!(
        s.incident_for_code(&AckCode(i.ack_code.clone()))
            .await
            .unwrap(),
        None
    );
    assert!(!s.list_open().await.unwrap().iter().any(|x| x.id == i.id));
    let month = i.opened_at.strftime("%Y-%m").to_string();
    assert!(
        s.list_month(&month)
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == i.id)
    );
    assert_eq!(
        s.transition(
            &i.id,
            Transition::Resolve,
            &cli(),
            Requirement::None,
            &resolve_entry(at(31))
        )
        .await
        .unwrap(),
        TransitionOutcome::Refused(Status::Resolved)
    );
    assert_eq!(
        s.transition(
            "20000101-NOSUCH",
            Transition::Acknowledge,
            &cli(),
            Requirement::None,
            &resolve_entry(at(32))
        )
        .await
        .unwrap(),
        TransitionOutcome::NotFound
    );
}

/// Only a paged number acknowledges, and only a triggered incident.
pub async fn acknowledgement_needs_a_paged_number<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "K", at(0));
    open(s, &mut i).await;
    let i = i;
    let hana = phone(u);
    let ack = |n: i64| {
        TimelineEntry::new(
            at(n),
            format!("reply#{n}"),
            TimelineEvent::Acknowledged {
                by: "Hana".into(),
                via: "sms".into(),
            },
        )
    };
    let actor = Actor::Sms {
        person: "Hana".into(),
        phone: hana.as_str().into(),
    };
    assert_eq!(
        s.transition(
            &i.id,
            Transition::Acknowledge,
            &actor,
            Requirement::Paged(&hana),
            &ack(5)
        )
        .await
        .unwrap(),
        TransitionOutcome::NotPaged
    );
    assert_eq!(
        s.claim_page(&i.id, &claim(0, "hana", vec![hana.clone()]), at(6), at(66))
            .await
            .unwrap(),
        ClaimOutcome::Claimed
    );
    let outcome = s
        .transition(
            &i.id,
            Transition::Acknowledge,
            &actor,
            Requirement::Paged(&hana),
            &ack(7),
        )
        .await
        .unwrap();
    let TransitionOutcome::Done(done) = outcome else {
        panic!("not acknowledged: {outcome:?}");
    };
    assert_eq!(done.status, Status::Acknowledged);
    assert_eq!(done.acknowledged_at, Some(at(7)));
    assert!(done.paged_numbers.contains(hana.as_str()));
    assert_eq!(
        s.transition(
            &i.id,
            Transition::Acknowledge,
            &actor,
            Requirement::Paged(&hana),
            &ack(8)
        )
        .await
        .unwrap(),
        TransitionOutcome::Refused(Status::Acknowledged)
    );
    assert_eq!(
        s.claim_page(&i.id, &claim(1, "ben", vec![]), at(9), at(69))
            .await
            .unwrap(),
        ClaimOutcome::NotPaging(Status::Acknowledged)
    );
}

/// An OK older than the newest ALARM folded in does not resolve.
pub async fn an_ok_older_than_the_newest_alarm_is_stale<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "S", at(0));
    open(s, &mut i).await;
    let i = i;
    let newer = i.alarm_state_at + SignedDuration::from_secs(120);
    s.fold_repeat(&i.id, &alarm_entry(newer, at(130)), newer)
        .await
        .unwrap();
    let ok_at = newer - SignedDuration::from_secs(1);
    assert_eq!(
        s.transition(
            &i.id,
            Transition::Resolve,
            &Actor::Alarm,
            Requirement::AlarmNotAfter(ok_at),
            &resolve_entry(at(140))
        )
        .await
        .unwrap(),
        TransitionOutcome::Stale
    );
    let outcome = s
        .transition(
            &i.id,
            Transition::Resolve,
            &Actor::Alarm,
            Requirement::AlarmNotAfter(newer),
            &resolve_entry(at(150)),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, TransitionOutcome::Done(_)), "{outcome:?}");
}

/// A page is claimed once; a claim left unsent is taken over once its
/// lease ends, or at once when its claimer gives it back.
pub async fn a_page_is_claimed_once_and_a_stale_claim_taken_over<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "P", at(0));
    open(s, &mut i).await;
    let i = i;
    let c = claim(0, "hana", vec![phone(u)]);
    assert_eq!(
        s.claim_page(&i.id, &c, at(10), at(40)).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        s.claim_page(&i.id, &c, at(20), at(50)).await.unwrap(),
        ClaimOutcome::InFlight {
            lease_until: at(40)
        },
        "a concurrent run, within the lease"
    );
    assert_eq!(
        s.claim_page(&i.id, &c, at(41), at(71)).await.unwrap(),
        ClaimOutcome::Claimed,
        "the first run died before sending; its lease ended"
    );
    s.release_page(&i.id, &c, at(40)).await.unwrap();
    assert_eq!(
        s.claim_page(&i.id, &c, at(42), at(72)).await.unwrap(),
        ClaimOutcome::InFlight {
            lease_until: at(71)
        },
        "the first run, late, cannot give back the claim another run took over"
    );
    s.release_page(&i.id, &c, at(71)).await.unwrap();
    assert_eq!(
        s.claim_page(&i.id, &c, at(42), at(72)).await.unwrap(),
        ClaimOutcome::Claimed,
        "given back after a failed send"
    );
    let sent = TimelineEntry::new(
        at(43),
        format!("page#{}", c.key()),
        TimelineEvent::Paged {
            step: 0,
            pass: 1,
            level: 1,
            person: "Hana".into(),
            channel: Channel::Sms,
            to: phone(u).masked(),
            message_id: "m-1".into(),
        },
    );
    s.complete_page(&i.id, &c, "m-1", &sent).await.unwrap();
    s.release_page(&i.id, &c, at(72)).await.unwrap();
    assert_eq!(
        s.claim_page(&i.id, &c, at(5000), at(5030)).await.unwrap(),
        ClaimOutcome::AlreadySent,
        "a sent page is never taken over, nor given back"
    );
    let other = PageClaim {
        channel: Channel::Email,
        contact: "work".into(),
        ..claim(0, "hana", vec![])
    };
    assert_eq!(
        s.claim_page(&i.id, &other, at(30), at(60)).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert!(
        s.timeline(&i.id).await.unwrap().contains(&sent),
        "the page is on the timeline"
    );
}

/// A level fires once; later runs get the first run's record.
pub async fn a_level_fires_once<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "L", at(0));
    open(s, &mut i).await;
    let i = i;
    assert_eq!(s.level(&i.id, 0).await.unwrap(), None);
    let record = LevelRecord {
        step: 0,
        pass: 1,
        level: 1,
        fired_at: at(1),
        targets: vec![
            ResolvedTarget {
                person: "hana".into(),
                via: Some("primary".into()),
            },
            ResolvedTarget {
                person: "ben".into(),
                via: None,
            },
        ],
    };
    let entry = TimelineEntry::new(
        at(1),
        "level#0000",
        TimelineEvent::LevelFired {
            step: 0,
            pass: 1,
            level: 1,
            targets: vec!["hana (schedule primary)".into(), "ben".into()],
        },
    );
    assert_eq!(
        s.fire_level(&i.id, &record, std::slice::from_ref(&entry))
            .await
            .unwrap(),
        record
    );
    let second = LevelRecord {
        fired_at: at(2),
        targets: vec![],
        ..record.clone()
    };
    assert_eq!(s.fire_level(&i.id, &second, &[]).await.unwrap(), record);
    assert_eq!(s.level(&i.id, 0).await.unwrap(), Some(record));
    let levels = s
        .timeline(&i.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.kind() == "level_fired")
        .count();
    assert_eq!(levels, 1);
}

/// The timeline is in Klaxon's time order, and once keys hold.
pub async fn the_timeline_is_in_time_order_and_once_keys_hold<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "T", at(0));
    open(s, &mut i).await;
    let i = i;
    let warn = |n: i64, key: &str| {
        TimelineEntry::new(
            at(n),
            key,
            TimelineEvent::Warning {
                step: 0,
                message: format!("w{n}"),
            },
        )
    };
    assert!(s.append(&i.id, &warn(20, "w")).await.unwrap());
    assert!(s.append(&i.id, &warn(10, "w")).await.unwrap());
    assert!(
        !s.append(&i.id, &warn(10, "w")).await.unwrap(),
        "same time and key"
    );
    let exhausted = |n: i64| {
        TimelineEntry::new(
            at(n),
            "exhausted",
            TimelineEvent::EscalationExhausted { steps: 2 },
        )
    };
    assert!(s.append(&i.id, &exhausted(30)).await.unwrap());
    assert!(
        !s.append(&i.id, &exhausted(31)).await.unwrap(),
        "once per incident"
    );
    let timeline = s.timeline(&i.id).await.unwrap();
    let times: Vec<Timestamp> = timeline.iter().map(|e| e.at).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert_eq!(timeline.len(), 5, "{timeline:#?}");
    assert_eq!(timeline[0].event.kind(), "alarm_state");
}

/// The execution is recorded once.
pub async fn the_escalation_is_recorded_once<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "E", at(0));
    open(s, &mut i).await;
    let i = i;
    let entry = |e: &str| {
        TimelineEntry::new(
            at(1),
            "escalation",
            TimelineEvent::EscalationStarted {
                execution: e.into(),
            },
        )
    };
    assert!(
        s.set_escalation(&i.id, "exec-1", &entry("exec-1"))
            .await
            .unwrap()
    );
    assert!(
        !s.set_escalation(&i.id, "exec-2", &entry("exec-2"))
            .await
            .unwrap()
    );
    assert_eq!(
        s.get(&i.id)
            .await
            .unwrap()
            .unwrap()
            .escalation_execution
            .as_deref(),
        Some("exec-1")
    );
}

/// An inbound message is handled once, unless given back; a redelivery
/// learns which incident a first run was acting on.
pub async fn an_inbound_message_is_claimed_once<S: Store>(s: &S, u: &str) {
    let id = format!("inbound-{u}");
    assert_eq!(s.claim(&id, at(0)).await.unwrap(), InboundClaim::First);
    assert_eq!(
        s.claim(&id, at(1)).await.unwrap(),
        InboundClaim::Again { incident_id: None }
    );
    s.attach(&id, "20261121-ABCDEF").await.unwrap();
    assert_eq!(
        s.claim(&id, at(2)).await.unwrap(),
        InboundClaim::Again {
            incident_id: Some("20261121-ABCDEF".into())
        }
    );
    s.release(&id).await.unwrap();
    assert_eq!(s.claim(&id, at(3)).await.unwrap(), InboundClaim::First);
}

/// One run at a time may send a message's confirmation: a claim is held
/// until its lease ends or it is given back.
pub async fn a_confirmation_is_claimed_by_one_run_at_a_time<S: Store>(s: &S, u: &str) {
    let id = format!("confirm-{u}");
    assert_eq!(s.claim(&id, at(0)).await.unwrap(), InboundClaim::First);
    assert_eq!(
        s.claim_confirmation(&id, at(1), at(15)).await.unwrap(),
        ConfirmationClaim::Claimed
    );
    assert_eq!(
        s.claim_confirmation(&id, at(2), at(16)).await.unwrap(),
        ConfirmationClaim::InFlight {
            lease_until: at(15)
        },
        "a concurrent delivery, within the lease"
    );
    assert_eq!(
        s.claim_confirmation(&id, at(16), at(30)).await.unwrap(),
        ConfirmationClaim::Claimed,
        "the first run died; its lease ended"
    );
    s.release_confirmation(&id).await.unwrap();
    assert_eq!(
        s.claim_confirmation(&id, at(17), at(31)).await.unwrap(),
        ConfirmationClaim::Claimed,
        "given back after a failed send"
    );
    assert!(
        s.claim_confirmation(&format!("never-{u}"), at(1), at(15))
            .await
            .is_err(),
        "only a claimed message has a confirmation"
    );
}

/// The newest OK is kept; the incident an OK resolved is remembered by the
/// resolve itself.
pub async fn alarm_memory_keeps_the_newest_ok<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "M", at(0));
    open(s, &mut i).await;
    let key = i.dedup_key.clone();
    assert_eq!(s.last_ok(&key).await.unwrap(), None);
    s.note_ok(&key, at(100), at(101)).await.unwrap();
    s.note_ok(&key, at(50), at(102)).await.unwrap();
    let outcome = s
        .transition(
            &i.id,
            Transition::Resolve,
            &Actor::Alarm,
            Requirement::AlarmNotAfter(at(100)),
            &resolve_entry(at(103)),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, TransitionOutcome::Done(_)), "{outcome:?}");
    let resolved = ResolvedByAlarm {
        incident_id: i.id.clone(),
        at: at(103),
    };
    let memory = s.last_ok(&key).await.unwrap().unwrap();
    assert_eq!(memory.state_at, Some(at(100)));
    assert_eq!(memory.resolved, Some(resolved));
    s.note_ok(&key, at(200), at(201)).await.unwrap();
    let memory = s.last_ok(&key).await.unwrap().unwrap();
    assert_eq!(memory.state_at, Some(at(200)));
    assert!(memory.resolved.is_some(), "kept");
}

/// A self-test incident reads back marked, is listed like any incident
/// (listings filter it, not the store), and its sink's page is claimed
/// and recorded like any page.
pub async fn a_self_test_incident_is_stored_marked<S: Store>(s: &S, u: &str) {
    let mut i = incident(u, "S", at(0));
    i.id = klaxon_core::self_test::incident_id(&i.id);
    i.dedup_key = format!("{}{}", klaxon_core::self_test::DEDUP_PREFIX, i.dedup_key);
    i.self_test = true;
    open(s, &mut i).await;
    let stored = s.get(&i.id).await.unwrap().unwrap();
    assert!(stored.self_test);
    assert_eq!(stored, i);
    let listed = s.list_open().await.unwrap();
    assert!(listed.iter().any(|l| l.id == i.id && l.self_test));
    let sink = PageClaim {
        step: 0,
        person: klaxon_core::self_test::SINK.into(),
        channel: Channel::SelfTest,
        contact: "sink".into(),
        ack_numbers: Vec::new(),
    };
    let lease = at(60);
    assert_eq!(
        s.claim_page(&i.id, &sink, at(1), lease).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let paged = TimelineEntry::new(
        at(1),
        format!("page#{}", sink.key()),
        TimelineEvent::Paged {
            step: 0,
            pass: 1,
            level: 1,
            person: "self-test sink".into(),
            channel: Channel::SelfTest,
            to: "nobody".into(),
            message_id: "self-test:0".into(),
        },
    );
    s.complete_page(&i.id, &sink, "self-test:0", &paged)
        .await
        .unwrap();
    assert_eq!(
        s.claim_page(&i.id, &sink, at(2), lease).await.unwrap(),
        ClaimOutcome::AlreadySent
    );
    assert!(s.timeline(&i.id).await.unwrap().contains(&paged));
    assert!(
        s.get(&i.id)
            .await
            .unwrap()
            .unwrap()
            .paged_numbers
            .is_empty()
    );
}

/// Defines one `#[tokio::test]` per contract case, each on a store made by
/// `$make` (an async expression).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            open_is_once_per_dedup_key_and_code,
            fold_counts_each_state_change_once,
            fold_into_a_resolved_incident_is_not_open,
            resolve_frees_the_dedup_key_and_the_code,
            acknowledgement_needs_a_paged_number,
            an_ok_older_than_the_newest_alarm_is_stale,
            a_page_is_claimed_once_and_a_stale_claim_taken_over,
            a_level_fires_once,
            the_timeline_is_in_time_order_and_once_keys_hold,
            the_escalation_is_recorded_once,
            an_inbound_message_is_claimed_once,
            a_confirmation_is_claimed_by_one_run_at_a_time,
            alarm_memory_keeps_the_newest_ok,
            a_self_test_incident_is_stored_marked,
            a_rate_limit_counts_each_token_once_in_a_sliding_window
        );
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $make;
                $crate::contract::$case(&store, &$crate::contract::unique()).await;
            }
        )*
    };
}

#[cfg(test)]
mod memory {
    crate::store_contract_tests!(async { crate::MemoryStore::new() }.await);
}
