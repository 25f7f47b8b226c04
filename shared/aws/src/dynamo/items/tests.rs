//! Items written by the previous version read; items written now keep its
//! layout.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::*;

fn sv(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// An incident item exactly as version 0.1 wrote it (acknowledged, paged).
fn v01_incident() -> Item {
    HashMap::from([
        ("pk".into(), sv("INC#20261121-1PS7A2")),
        ("sk".into(), sv("META")),
        ("entity".into(), sv("incident")),
        ("incident_id".into(), sv("20261121-1PS7A2")),
        ("title".into(), sv("checkout-5xx")),
        ("status".into(), sv("ACKNOWLEDGED")),
        ("severity".into(), sv("SEV1")),
        ("urgency".into(), sv("high")),
        ("service".into(), sv("checkout")),
        ("policy".into(), sv("default")),
        ("decided_by".into(), sv("rule:checkout")),
        ("severity_from".into(), sv("description")),
        (
            "matched".into(),
            AttributeValue::L(vec![sv("alarm_name ~ checkout-*")]),
        ),
        ("alarm_name".into(), sv("checkout-5xx")),
        (
            "alarm_arn".into(),
            sv("arn:aws:cloudwatch:us-east-1:1:alarm:checkout-5xx"),
        ),
        ("account".into(), sv("123456789012")),
        ("region".into(), sv("us-east-1")),
        ("dedup_key".into(), sv("123456789012|us-east-1|arn")),
        ("reason".into(), sv("Threshold Crossed")),
        ("opened_at".into(), sv("2026-11-21T08:32:04.120Z")),
        ("last_alarm_at".into(), sv("2026-11-21T08:32:03.000Z")),
        ("alarm_count".into(), AttributeValue::N("2".into())),
        ("ack_code".into(), sv("2959")),
        ("gsi_open".into(), sv("OPEN")),
        ("gsi_month".into(), sv("2026-11")),
        ("acknowledged_at".into(), sv("2026-11-21T08:33:00.000Z")),
        ("acknowledged_by".into(), sv("Ben (+14*****0102)")),
        (
            "paged_numbers".into(),
            AttributeValue::Ss(vec!["+14155550102".into()]),
        ),
        ("escalation_execution".into(), sv("arn:exec")),
        ("last_page_at".into(), sv("2026-11-21T08:32:30.000Z")),
    ])
}

#[test]
fn an_incident_written_by_version_0_1_reads() {
    let incident = incident_from(v01_incident()).unwrap();
    assert_eq!(incident.id, "20261121-1PS7A2");
    assert_eq!(incident.status, Status::Acknowledged);
    assert_eq!(incident.severity, Severity::Sev1);
    assert_eq!(incident.alarm_count, 2);
    assert_eq!(
        incident.alarm_state_at, incident.last_alarm_at,
        "the alarm's own time was in last_alarm_at"
    );
    assert!(incident.paged_numbers.contains("+14155550102"));
    assert_eq!(incident.matched, vec!["alarm_name ~ checkout-*"]);
    assert_eq!(
        iso(incident.acknowledged_at.unwrap()),
        "2026-11-21T08:33:00.000Z"
    );
    assert_eq!(incident.description, None);
}

#[test]
fn an_incident_is_written_with_the_same_attributes_plus_its_alarm_time() {
    let old = v01_incident();
    let incident = incident_from(old.clone()).unwrap();
    let written = incident_item(&incident).unwrap();
    for (name, value) in &old {
        if name == "last_page_at" {
            continue; // set by page claims, never by a whole-item write
        }
        assert_eq!(written.get(name), Some(value), "attribute {name}");
    }
    let mut extra: Vec<&String> = written.keys().filter(|k| !old.contains_key(*k)).collect();
    extra.sort();
    assert_eq!(extra, vec!["alarm_state_at"]);
}

#[test]
fn a_resolved_incident_leaves_the_open_index() {
    let mut incident = incident_from(v01_incident()).unwrap();
    incident.status = Status::Resolved;
    let written = incident_item(&incident).unwrap();
    assert!(!written.contains_key("gsi_open"));
    assert!(
        !incident_item(&Incident {
            paged_numbers: Default::default(),
            ..incident
        })
        .unwrap()
        .contains_key("paged_numbers"),
        "an empty set is left out, as DynamoDB requires"
    );
}

#[test]
fn a_timeline_entry_round_trips_with_its_key() {
    let at: Timestamp = "2026-11-21T08:32:04.120Z".parse().unwrap();
    let entry = TimelineEntry::new(
        at,
        "alarm#OK#2026-11-21T08:40:00.000Z",
        TimelineEvent::Opened,
    );
    let item = timeline_item("X", &entry).unwrap();
    assert_eq!(
        item.get("sk"),
        Some(&sv(
            "TL#2026-11-21T08:32:04.120Z#alarm#OK#2026-11-21T08:40:00.000Z"
        ))
    );
    assert_eq!(item.get("kind"), Some(&sv("opened")));
    assert_eq!(timeline_from(item).unwrap(), entry);
}

#[test]
fn a_level_written_by_version_0_1_reads() {
    let target = |person: &str, via: Option<&str>| {
        let mut m = HashMap::from([("person".to_string(), sv(person))]);
        if let Some(v) = via {
            m.insert("via".into(), sv(v));
        }
        AttributeValue::M(m)
    };
    let item = HashMap::from([
        ("pk".into(), sv("INC#X")),
        ("sk".into(), sv("LEVEL#0001")),
        ("entity".into(), sv("level")),
        ("step".into(), AttributeValue::N("1".into())),
        ("pass".into(), AttributeValue::N("1".into())),
        ("level".into(), AttributeValue::N("2".into())),
        ("fired_at".into(), sv("2026-11-21T08:32:14.000Z")),
        (
            "targets".into(),
            AttributeValue::L(vec![target("aiko", Some("primary")), target("ben", None)]),
        ),
    ]);
    let record = level_from(item.clone()).unwrap();
    assert_eq!(record.level, 2);
    assert_eq!(record.targets[0].via.as_deref(), Some("primary"));
    assert_eq!(level_item("X", &record).unwrap(), item);
}

#[test]
fn a_malformed_item_is_a_permanent_error_naming_it() {
    let mut item = v01_incident();
    item.insert("status".into(), sv("SLEEPING"));
    let e = incident_from(item).unwrap_err();
    assert!(!e.retryable);
    assert!(e.message.contains("incident"), "{e}");
}

#[test]
fn a_self_test_incidents_items_are_marked_and_expire_and_real_ones_do_not() {
    let mut incident = incident_from(v01_incident()).unwrap();
    incident.id = klaxon_core::self_test::incident_id("20261121-1PS7A2");
    incident.self_test = true;
    let expires = incident.opened_at.as_second() + klaxon_core::self_test::RETENTION_SECS;
    let item = incident_item(&incident).unwrap();
    assert_eq!(item.get("self_test"), Some(&AttributeValue::Bool(true)));
    assert_eq!(
        item.get("expires_at"),
        Some(&AttributeValue::N(expires.to_string()))
    );
    assert_eq!(incident_from(item).unwrap(), incident, "reads back marked");
    let entry = TimelineEntry::new(incident.opened_at, "opened", TimelineEvent::Opened);
    let tl = timeline_item(&incident.id, &entry).unwrap();
    assert_eq!(
        tl.get("expires_at"),
        Some(&AttributeValue::N(expires.to_string()))
    );
    let record = LevelRecord {
        step: 0,
        pass: 1,
        level: 1,
        fired_at: incident.opened_at,
        targets: Vec::new(),
    };
    assert!(
        level_item(&incident.id, &record)
            .unwrap()
            .contains_key("expires_at")
    );
    // A real incident's items never expire.
    assert!(
        !timeline_item("20261121-1PS7A2", &entry)
            .unwrap()
            .contains_key("expires_at")
    );
    assert!(
        !level_item("20261121-1PS7A2", &record)
            .unwrap()
            .contains_key("expires_at")
    );
}
