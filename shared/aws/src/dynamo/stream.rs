//! Records of the incidents table's stream (the Lambda event of a DynamoDB
//! event source mapping), as the publisher sees them: new timeline
//! entries, and everything else.

use aws_lambda_events::dynamodb::{Event, EventRecord};

use super::items::{TimelineItem, timeline_entry};
use klaxon_ports::StreamRecord;

/// The records of one stream batch, in stream order.
pub fn records(event: &Event) -> Vec<StreamRecord> {
    event.records.iter().map(record).collect()
}

fn sort_key(r: &EventRecord) -> Option<String> {
    let sk = r.change.keys.get("sk")?;
    serde_dynamo::from_attribute_value::<_, String>(sk.clone()).ok()
}

fn record(r: &EventRecord) -> StreamRecord {
    let sequence = r
        .change
        .sequence_number
        .clone()
        .unwrap_or_else(|| r.event_id.clone());
    let is_entry = r.event_name == "INSERT" && sort_key(r).is_some_and(|sk| sk.starts_with("TL#"));
    if !is_entry {
        return StreamRecord::Other { sequence };
    }
    let decoded = serde_dynamo::from_item::<_, TimelineItem>(r.change.new_image.clone())
        .map_err(|e| format!("{e}"))
        .and_then(|item| {
            let incident_id = item
                .pk
                .strip_prefix("INC#")
                .unwrap_or(&item.incident_id)
                .to_string();
            timeline_entry(item)
                .map(|entry| (incident_id, entry))
                .map_err(|e| e.message)
        });
    match decoded {
        Ok((incident_id, entry)) => StreamRecord::Entry {
            sequence,
            incident_id,
            entry,
        },
        Err(reason) => StreamRecord::Unreadable { sequence, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::items::timeline_item;
    use klaxon_core::incident::{TimelineEntry, TimelineEvent};
    use klaxon_testing::contract::t0;

    /// A stream event as Lambda delivers it, holding `images` as INSERTs.
    fn event(images: Vec<(&str, serde_json::Value)>) -> Event {
        let records: Vec<_> = images
            .into_iter()
            .enumerate()
            .map(|(i, (name, image))| {
                serde_json::json!({
                    "eventID": format!("e{i}"),
                    "eventName": name,
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/k-incidents/stream/2026-12-01T00:00:00.000",
                    "dynamodb": {
                        "ApproximateCreationDateTime": 1764576000.0,
                        "Keys": {"pk": image["pk"].clone(), "sk": image["sk"].clone()},
                        "NewImage": image,
                        "SequenceNumber": format!("{}", 100 + i),
                        "SizeBytes": 100,
                        "StreamViewType": "NEW_IMAGE"
                    }
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    /// An item as DynamoDB JSON (what the stream carries).
    fn image(item: crate::dynamo::items::Item) -> serde_json::Value {
        let item: serde_dynamo::Item = item.into();
        serde_json::to_value(item).unwrap()
    }

    #[test]
    fn a_new_timeline_entry_reads_back_as_written() {
        let entry = TimelineEntry::new(
            t0(),
            "k1",
            TimelineEvent::Acknowledged {
                by: "Hana (+81******5678)".into(),
                via: "sms".into(),
            },
        );
        let item = timeline_item("20261201-ABC123", &entry).unwrap();
        let got = records(&event(vec![("INSERT", image(item))]));
        assert_eq!(
            got,
            vec![StreamRecord::Entry {
                sequence: "100".into(),
                incident_id: "20261201-ABC123".into(),
                entry,
            }]
        );
    }

    #[test]
    fn other_items_and_changes_are_not_entries_and_bad_entries_say_why() {
        let entry = TimelineEntry::new(t0(), "k1", TimelineEvent::Opened);
        let item = timeline_item("20261201-ABC123", &entry).unwrap();
        let meta = serde_json::json!({"pk": {"S": "INC#20261201-ABC123"}, "sk": {"S": "META"}});
        let mut broken = image(item.clone());
        broken["data"] = serde_json::json!({"S": "{not json"});
        let got = records(&event(vec![
            ("INSERT", meta),
            ("MODIFY", image(item.clone())),
            ("REMOVE", image(item)),
            ("INSERT", broken),
        ]));
        assert!(matches!(&got[0], StreamRecord::Other { sequence } if sequence == "100"));
        assert!(matches!(&got[1], StreamRecord::Other { .. }));
        assert!(matches!(&got[2], StreamRecord::Other { .. }));
        match &got[3] {
            StreamRecord::Unreadable { sequence, reason } => {
                assert_eq!(sequence, "103");
                assert!(reason.contains("timeline data"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_entry_written_by_the_state_machine_reads() {
        // RecordFailure in infra/escalation.asl.json writes this layout.
        let image = serde_json::json!({
            "pk": {"S": "INC#20261201-ABC123"},
            "sk": {"S": "TL#2026-12-01T08:00:00.123Z#escalation-failed"},
            "entity": {"S": "timeline"},
            "incident_id": {"S": "20261201-ABC123"},
            "at": {"S": "2026-12-01T08:00:00.123Z"},
            "kind": {"S": "escalation_failed"},
            "summary": {"S": "escalation failed"},
            "data": {"S": "{\"kind\":\"escalation_failed\",\"failure\":{\"Error\":\"States.TaskFailed\"}}"}
        });
        match &records(&event(vec![("INSERT", image)]))[0] {
            StreamRecord::Entry { entry, .. } => {
                assert_eq!(entry.event.kind(), "escalation_failed");
                assert_eq!(entry.key, "escalation-failed");
            }
            other => panic!("{other:?}"),
        }
    }
}
