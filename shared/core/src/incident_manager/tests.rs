use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::events::DetailType;
use crate::fixtures::{incident, sample_entries, t0};
use crate::incident::TimelineEvent;
use crate::time::iso;

fn events() -> Vec<BusEvent> {
    let i = incident("abcdef", "A", t0());
    sample_entries(t0())
        .iter()
        .map(|e| bus_event(&i.id, Some(&i), e).unwrap())
        .collect()
}

fn event_of(detail_type: DetailType) -> BusEvent {
    events()
        .into_iter()
        .find(|e| e.detail_type == detail_type)
        .unwrap()
}

#[test]
fn the_opening_starts_a_record_and_the_resolution_resolves_it() {
    assert_eq!(
        action(&event_of(DetailType::IncidentOpened)),
        MirrorAction::Start
    );
    assert_eq!(
        action(&event_of(DetailType::IncidentResolved)),
        MirrorAction::Resolve
    );
}

#[test]
fn every_other_change_goes_on_the_timeline_but_out_of_order_alarms_and_confirmations() {
    let mut skipped = BTreeSet::new();
    for event in events() {
        match action(&event) {
            MirrorAction::Timeline {
                event_time,
                event_type,
                summary,
            } => {
                assert_eq!(event_time, event.time);
                assert_eq!(event_type, "Custom Event");
                assert_eq!(summary, event.detail.summary);
            }
            MirrorAction::Skip { reason } => {
                assert!(!reason.is_empty());
                skipped.insert(event.detail_type);
            }
            MirrorAction::Start | MirrorAction::Resolve => {}
        }
    }
    assert_eq!(
        skipped,
        BTreeSet::from([
            DetailType::AlarmOutOfOrder,
            DetailType::ConfirmationSent,
            DetailType::NotificationDelivered,
            DetailType::NotificationFailed,
        ])
    );
    for mirrored in [
        DetailType::IncidentAcknowledged,
        DetailType::PageSent,
        DetailType::PageFailed,
        DetailType::EscalationLevelFired,
        DetailType::EscalationFailed,
        DetailType::CallProgressed,
        DetailType::AlarmRepeated,
        DetailType::AlarmOk,
    ] {
        assert!(
            matches!(action(&event_of(mirrored)), MirrorAction::Timeline { .. }),
            "{mirrored:?}"
        );
    }
}

#[test]
fn a_timeline_entry_is_decided_as_its_event_and_self_tests_not_at_all() {
    let i = incident("abcdef", "A", t0());
    let entries = sample_entries(t0());
    for entry in &entries {
        let event = bus_event(&i.id, Some(&i), entry).unwrap();
        assert_eq!(entry_action(&i.id, Some(&i), entry), Some(action(&event)));
    }
    let mut self_test = i.clone();
    self_test.self_test = true;
    assert_eq!(entry_action(&i.id, Some(&self_test), &entries[0]), None);
}

#[test]
fn severity_maps_to_impact_one_to_four() {
    assert_eq!(impact(Severity::Sev1), 1);
    assert_eq!(impact(Severity::Sev2), 2);
    assert_eq!(impact(Severity::Sev3), 3);
    assert_eq!(impact(Severity::Sev4), 4);
}

#[test]
fn the_start_token_is_the_incident_id_and_stays_within_the_limit() {
    assert_eq!(client_token("20261121-K7Q2XM"), "klaxon-20261121-K7Q2XM");
    assert_eq!(
        client_token("20261121-K7Q2XM"),
        client_token("20261121-K7Q2XM")
    );
    let longest_kept = "x".repeat(MAX_CLIENT_TOKEN_CHARS - "klaxon-".len());
    assert_eq!(
        client_token(&longest_kept),
        format!("klaxon-{longest_kept}")
    );
    let long = "y".repeat(500);
    let token = client_token(&long);
    assert!(token.len() <= MAX_CLIENT_TOKEN_CHARS, "{token}");
    assert!(token.starts_with("klaxon-"));
    assert_ne!(token, client_token(&"y".repeat(499)));
}

#[test]
fn timeline_tokens_are_stable_distinct_and_short_even_for_ids_sharing_a_long_tail() {
    let tokens: BTreeSet<_> = events()
        .iter()
        .map(|e| timeline_client_token(e.event_id()))
        .collect();
    assert_eq!(tokens.len(), events().len());
    let tail = "k".repeat(300);
    let a = timeline_client_token(&format!("20261121-AAAAAA/{tail}"));
    let b = timeline_client_token(&format!("20261121-BBBBBB/{tail}"));
    assert_ne!(a, b);
    assert_eq!(a, timeline_client_token(&format!("20261121-AAAAAA/{tail}")));
    assert_eq!(a.len(), "klaxon-".len() + 64);
    assert!(a.len() <= MAX_CLIENT_TOKEN_CHARS);
    assert_eq!(
        timeline_client_token("abc"),
        "klaxon-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "SHA-256 of the id, in hex"
    );
}

#[test]
fn the_title_names_severity_service_and_alarm_and_is_cut_at_200_characters() {
    let i = incident("abcdef", "A", t0());
    assert_eq!(incident_title(&i), "[SEV2] checkout: alarm A");
    assert_eq!(title(&IncidentSummary::from(&i)), incident_title(&i));

    let mut long = i.clone();
    long.title = "é".repeat(400);
    let t = incident_title(&long);
    assert_eq!(t.chars().count(), MAX_TITLE_CHARS);
    assert!(t.starts_with("[SEV2] checkout: éé"));
    assert!(t.ends_with("..."));
}

#[test]
fn only_an_arn_incident_manager_accepts_is_a_trigger_arn() {
    let alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:payments-5xx";
    assert_eq!(trigger_arn(alarm), Some(alarm));
    let cn = "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a";
    assert_eq!(trigger_arn(cn), Some(cn));
    for bad in [
        "payments-5xx",
        "arn:aws:cloudwatch:us-east-1:1234:alarm:a",
        "arn:other:cloudwatch:us-east-1:123456789012:alarm:a",
        "arn:aws:CloudWatch:us-east-1:123456789012:alarm:a",
        "arn:aws:cloudwatch:us-east-1:123456789012:",
        "",
    ] {
        assert_eq!(trigger_arn(bad), None, "{bad}");
    }
    let long = format!("{alarm}{}", "x".repeat(1000));
    assert_eq!(trigger_arn(&long), None);
}

#[test]
fn the_start_request_is_the_same_on_every_retry_and_names_the_klaxon_incident() {
    let i = incident("abcdef", "A", t0());
    let mut summary = IncidentSummary::from(&i);
    let r = start_request(&summary, &i.alarm_arn).unwrap();
    assert_eq!(r.client_token, format!("klaxon-{}", i.id));
    assert_eq!(r.title, "[SEV2] checkout: alarm A");
    assert_eq!(r.impact, 2);
    assert_eq!(r.trigger_source, "dev.klaxon");
    assert_eq!(r.trigger_time, t0(), "when Klaxon opened it");
    assert_eq!(r.trigger_arn.as_deref(), Some(i.alarm_arn.as_str()));
    let raw: Value = serde_json::from_str(&r.raw_data).unwrap();
    assert_eq!(raw["klaxon_incident_id"], i.id.as_str());
    assert_eq!(raw["alarm_arn"], i.alarm_arn.as_str());
    assert_eq!(raw["alarm_name"], i.alarm_name.as_str());
    assert_eq!(raw["severity"], "SEV2");
    assert_eq!(raw["opened_at"], iso(t0()).as_str());

    summary.status = crate::incident::Status::Acknowledged;
    summary.alarm_count = 7;
    summary.acknowledged_by = Some("hana".into());
    assert_eq!(
        start_request(&summary, &i.alarm_arn).unwrap(),
        r,
        "nothing that changes while the incident is open"
    );
}

#[test]
fn a_start_without_a_usable_alarm_arn_or_opening_time_is_told_apart() {
    let i = incident("abcdef", "A", t0());
    let mut summary = IncidentSummary::from(&i);
    let r = start_request(&summary, "not-an-arn").unwrap();
    assert_eq!(r.trigger_arn, None);
    let raw: Value = serde_json::from_str(&r.raw_data).unwrap();
    assert_eq!(
        raw["alarm_arn"], "not-an-arn",
        "still named in the raw data"
    );

    summary.opened_at = "yesterday".into();
    let err = start_request(&summary, &i.alarm_arn).unwrap_err();
    assert_eq!(err.opened_at, "yesterday");
    assert!(err.to_string().contains(&i.id));
}

#[test]
fn long_raw_data_is_cut_to_the_limit_and_stays_json() {
    let i = incident("abcdef", "A", t0());
    let mut summary = IncidentSummary::from(&i);
    summary.alarm_name = "\"quoted\" ".repeat(3000);
    summary.alarm_url = "é".repeat(8000);
    let r = start_request(&summary, &i.alarm_arn).unwrap();
    assert!(r.raw_data.chars().count() <= MAX_RAW_DATA_CHARS);
    let raw: Value = serde_json::from_str(&r.raw_data).unwrap();
    assert_eq!(
        raw["klaxon_incident_id"],
        i.id.as_str(),
        "short fields kept"
    );
    assert!(raw["alarm_name"].as_str().unwrap().ends_with("..."));
}

#[test]
fn a_timeline_request_carries_the_summary_kind_and_a_stable_token() {
    for event in events() {
        let r = timeline_request(&event);
        assert_eq!(r, timeline_request(&event), "the same on every retry");
        assert_eq!(r.client_token, timeline_client_token(event.event_id()));
        assert_eq!(r.event_time, event.time);
        assert_eq!(r.event_type, "Custom Event");
        let data: Value = serde_json::from_str(&r.event_data).unwrap();
        assert_eq!(data["summary"], event.detail.summary.as_str());
        assert_eq!(data["kind"], event.detail.kind.as_str());
        assert_eq!(data["detail_type"], event.detail_type.as_str());
        assert_eq!(data["incident_id"], event.detail.incident_id.as_str());
        assert_eq!(data["event_id"], event.event_id());
    }
}

#[test]
fn a_huge_summary_is_cut_so_event_data_fits_in_12000_characters() {
    let mut event = event_of(DetailType::PageFailed);
    event.detail.summary = "\u{1}ü".repeat(20_000);
    event.detail.data = TimelineEvent::Opened;
    let r = timeline_request(&event);
    let n = r.event_data.chars().count();
    assert!(n <= MAX_EVENT_DATA_CHARS, "{n}");
    assert!(
        n > MAX_EVENT_DATA_CHARS - 20,
        "not cut more than needed: {n}"
    );
    let data: Value = serde_json::from_str(&r.event_data).unwrap();
    assert!(data["summary"].as_str().unwrap().ends_with("..."));
    assert_eq!(data["event_id"], event.event_id(), "other fields whole");
}
