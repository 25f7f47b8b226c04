use super::*;
use crate::fixtures::{incident, sample_entries, sample_event, t0};

#[test]
fn every_detail_type_carries_the_timeline_kind_it_names() {
    for d in DetailType::ALL {
        let event = sample_event(d);
        assert_eq!(DetailType::of(&event), d, "{d:?}");
        assert_eq!(event.kind(), d.kind(), "{d:?}");
        assert_eq!(DetailType::parse(d.as_str()), Some(d));
    }
    let names: std::collections::BTreeSet<_> = DetailType::ALL.iter().map(|d| d.slug()).collect();
    assert_eq!(names.len(), DetailType::ALL.len(), "slugs are distinct");
    assert_eq!(DetailType::AlarmOk.slug(), "alarm-ok");
    assert_eq!(DetailType::parse("Incident Exploded"), None);
}

#[test]
fn the_opening_alarm_a_repeat_and_the_ok_are_told_apart() {
    use crate::alarm::{AlarmKind, AlarmStateChange, Route};
    let change = |state| AlarmStateChange {
        alarm_arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a".into(),
        alarm_name: "a".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        state,
        previous_state: None,
        reason: "r".into(),
        changed_at: t0(),
        description: None,
        kind: AlarmKind::Metric,
        metrics: vec![],
        route: Route::EventBridge,
    };
    let opening = TimelineEntry::alarm(&change(AlarmState::Alarm), t0());
    let repeat = TimelineEntry::repeat_alarm(&change(AlarmState::Alarm), t0());
    let ok = TimelineEntry::alarm(&change(AlarmState::Ok), t0());
    assert_eq!(DetailType::of(&opening.event), DetailType::AlarmFired);
    assert_eq!(DetailType::of(&repeat.event), DetailType::AlarmRepeated);
    assert_eq!(DetailType::of(&ok.event), DetailType::AlarmOk);
    assert_eq!(
        opening.key, repeat.key,
        "a change recorded as opening or as repeat is still one change"
    );
}

#[test]
fn an_event_id_is_the_same_for_the_same_entry_and_differs_between_entries() {
    let i = incident("abcdef", "A", t0());
    let entries = sample_entries(t0());
    let ids: std::collections::BTreeSet<_> = entries
        .iter()
        .map(|e| bus_event(&i.id, Some(&i), e).unwrap().detail.event_id)
        .collect();
    assert_eq!(ids.len(), entries.len());
    let again = bus_event(&i.id, Some(&i), &entries[3]).unwrap();
    assert_eq!(
        again.event_id(),
        bus_event(&i.id, Some(&i), &entries[3]).unwrap().event_id()
    );
    assert!(again.event_id().starts_with(&format!("{}/", i.id)));
}

#[test]
fn the_detail_says_what_changed_and_which_incident() {
    let mut i = incident("abcdef", "A", t0());
    i.region = "ap-northeast-1".into();
    i.alarm_name = "決済API 5xx/error rate".into();
    let entry = TimelineEntry::new(t0(), "k1", sample_event(DetailType::IncidentAcknowledged));
    let e = bus_event(&i.id, Some(&i), &entry).unwrap();
    assert_eq!(e.detail_type, DetailType::IncidentAcknowledged);
    assert_eq!(e.time, t0());
    let d = &e.detail;
    assert_eq!(d.version, "1");
    assert_eq!(d.kind, "acknowledged");
    assert_eq!(d.incident_id, i.id);
    assert_eq!(d.at, iso(t0()));
    assert!(d.summary.contains("acknowledged"), "{}", d.summary);
    let summary = d.incident.as_ref().unwrap();
    assert_eq!(summary.service, "checkout");
    assert_eq!(summary.severity, Severity::Sev2);
    assert_eq!(
        summary.alarm_url,
        "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1\
         #alarmsV2:alarm/%E6%B1%BA%E6%B8%88API%205xx%2Ferror%20rate"
    );
    let json = serde_json::to_value(d).unwrap();
    assert_eq!(json["data"]["kind"], "acknowledged");
    assert_eq!(json["incident"]["status"], "TRIGGERED");
    assert!(json["incident"].get("acknowledged_by").is_none());
}

#[test]
fn phone_numbers_are_masked_and_email_addresses_kept() {
    let i = incident("abcdef", "A", t0());
    let publish = |d| {
        let entry = TimelineEntry::new(t0(), "k", sample_event(d));
        serde_json::to_string(&bus_event(&i.id, Some(&i), &entry).unwrap().detail).unwrap()
    };
    for d in [
        DetailType::PageSent,
        DetailType::ConfirmationSent,
        DetailType::ReplyKeywordReceived,
    ] {
        let json = publish(d);
        assert!(!json.contains("+819012345678"), "{d:?}: {json}");
        assert!(json.contains("+81******5678"), "{d:?}: {json}");
    }
    let mut email = sample_event(DetailType::PageSent);
    if let TimelineEvent::Paged { to, channel, .. } = &mut email {
        *to = "hana@example.com".into();
        *channel = crate::incident::Channel::Email;
    }
    let e = bus_event(&i.id, Some(&i), &TimelineEntry::new(t0(), "k", email)).unwrap();
    assert!(e.detail.summary.contains("hana@example.com"));
}

#[test]
fn self_test_incidents_are_not_published() {
    let mut i = incident("abcdef", "A", t0());
    i.self_test = true;
    let entry = TimelineEntry::new(t0(), "k", TimelineEvent::Opened);
    assert!(bus_event(&i.id, Some(&i), &entry).is_none());
    let id = crate::self_test::incident_id("abc123");
    assert!(
        bus_event(&id, None, &entry).is_none(),
        "even once it is gone"
    );
}

#[test]
fn an_entry_of_an_incident_that_is_gone_is_published_without_it() {
    let entry = TimelineEntry::new(t0(), "k", sample_event(DetailType::EscalationFailed));
    let e = bus_event("20261201-GONE01", None, &entry).unwrap();
    assert!(e.detail.incident.is_none());
    let json = serde_json::to_value(&e.detail).unwrap();
    assert!(json.get("incident").is_none());
}
