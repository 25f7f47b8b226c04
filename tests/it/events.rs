//! Incident events on the stack's bus: the incidents table's stream handed
//! to the real publisher (as the event source mapping would), read back
//! through a rule with an SQS target.

use std::collections::{BTreeMap, BTreeSet};

use klaxon_core::events::{DetailType, event_id};
use klaxon_local::events::{Delivery, alarm, sms_reply};
use klaxon_local::faults::Fault;
use klaxon_local::ids;
use serde_json::Value;

use crate::common::{World, ack_code, opened_id};

fn schema(detail_type: &str) -> jsonschema::Validator {
    let d = DetailType::parse(detail_type)
        .unwrap_or_else(|| panic!("undocumented detail-type {detail_type}"));
    let path = klaxon_local::template::repo_root()
        .join("schema/events")
        .join(format!("{}.v1.json", d.slug()));
    let text = std::fs::read_to_string(&path).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// An alarm that pages Alice, her ACK by SMS, then the alarm's OK.
async fn a_whole_incident(w: &World, name: &str) -> String {
    let pump = w.pump();
    let before = w.sms_to(&w.alice).await.len();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name(name),
        "ALARM",
        "2026-12-01T08:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let sms = w.wait_for_sms(&w.alice, before + 1).await;
    let code = ack_code(&sms.last().unwrap().message);
    w.local
        .deliver_reply(
            &sms_reply(&w.alice, &format!("ACK {code}"), &format!("ack-{}", w.tag)).unwrap(),
        )
        .await
        .unwrap();
    let ok = alarm(
        Delivery::Sns,
        &w.alarm_name(name),
        "OK",
        "2026-12-01T08:05:00.000Z",
    )
    .unwrap();
    w.local.deliver_alarm(&ok).await.unwrap();
    w.wait_execution_end(&id).await;
    pump.stop().await;
    id
}

/// The published events of one incident, by event id (each id counted).
fn of_incident(events: &[Value], id: &str) -> (BTreeMap<String, Value>, usize) {
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["incident_id"] == id)
        .collect();
    let count = mine.len();
    let by_id = mine
        .into_iter()
        .map(|e| {
            (
                e["detail"]["event_id"].as_str().unwrap().to_string(),
                e.clone(),
            )
        })
        .collect();
    (by_id, count)
}

#[tokio::test]
async fn every_committed_change_is_published_once_and_valid_against_its_schema() {
    let w = World::new(60, 0).await;
    let tap = w.local.tap_bus("e2e").await.unwrap();
    let id = a_whole_incident(&w, "events").await;

    let round = w.local.publish_events().await.unwrap();
    assert_eq!(round.failed_at, None);
    let events = tap.drain().await.unwrap();
    let (published, count) = of_incident(&events, &id);
    let timeline = w.timeline(&id).await;
    let committed: BTreeSet<String> = timeline.iter().map(|e| event_id(&id, e)).collect();
    assert_eq!(count, timeline.len(), "one event per committed change");
    assert_eq!(
        published.keys().cloned().collect::<BTreeSet<_>>(),
        committed
    );
    let mut types = BTreeSet::new();
    for e in published.values() {
        assert_eq!(e["source"], "klaxon");
        let detail_type = e["detail-type"].as_str().unwrap();
        let errors: Vec<String> = schema(detail_type)
            .iter_errors(&e["detail"])
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{detail_type}: {errors:?}\n{e:#}");
        assert_eq!(e["detail"]["incident"]["id"], id.as_str());
        types.insert(detail_type.to_string());
    }
    for expected in [
        "Alarm Fired",
        "Incident Opened",
        "Escalation Started",
        "Escalation Level Fired",
        "Page Sent",
        "Incident Acknowledged",
        "Confirmation Sent",
        "Alarm OK",
        "Incident Resolved",
    ] {
        assert!(types.contains(expected), "{expected} missing: {types:?}");
    }
    let sent = published
        .values()
        .find(|e| e["detail-type"] == "Page Sent")
        .unwrap();
    let to = sent["detail"]["data"]["to"].as_str().unwrap();
    assert!(
        to.contains("******") && !to.contains(&w.alice[3..8]),
        "{to}"
    );

    // Nothing new in the stream: nothing published again.
    let again = w.local.publish_events().await.unwrap();
    assert_eq!(again.published, 0);
    assert!(tap.drain().await.unwrap().is_empty());
}

/// Throttled past the SDK's retries, the publisher reports the batch
/// failed at its first unpublished record; the mapping's retry publishes
/// the rest. A cut after EventBridge applied the call publishes those
/// events twice, with the same event ids.
#[tokio::test]
async fn a_failed_publish_is_retried_from_its_record_and_nothing_is_lost() {
    let (w, proxy) = World::behind_proxy().await;
    let tap = w.local.tap_bus("faults").await.unwrap();
    let id = a_whole_incident(&w, "faults").await;
    let entries = w.timeline(&id).await.len();

    proxy.inject("events", Some("PutEvents"), Fault::Throttle, 10);
    let failed = w.local.publish_events().await.unwrap();
    assert_eq!(failed.published, 0);
    let (_, reason) = failed.failed_at.expect("reported at its first record");
    assert!(reason.contains("Throttl"), "{reason}");
    proxy.heal();

    proxy.inject("events", Some("PutEvents"), Fault::CutAfterApply, 1);
    let mut published = 0;
    for _ in 0..5 {
        let round = w.local.publish_events().await.unwrap();
        published += round.published;
        if round.failed_at.is_none() {
            break;
        }
    }
    let events = tap.drain().await.unwrap();
    let (by_id, count) = of_incident(&events, &id);
    assert_eq!(by_id.len(), entries, "nothing lost");
    assert!(
        count >= entries && count <= entries + 10,
        "at most the cut call's events twice: {count} for {entries}"
    );
    assert!(published >= entries - 10);
}

/// The publisher's event source mapping as deployed: after its retry
/// attempts (the template's `MaximumRetryAttempts`) fail at the same
/// record, Lambda gives up on the rest of the batch, sends its on-failure
/// record to the unpublished-events queue, and reads on past it.
#[tokio::test]
async fn a_batch_that_fails_past_its_retry_attempts_goes_to_the_unpublished_events_queue() {
    let (w, proxy) = World::behind_proxy().await;
    let id = a_whole_incident(&w, "giveup").await;
    let entries = w.timeline(&id).await.len();
    let mapping = w
        .local
        .stack
        .mapping(ids::EVENT_PUBLISHER, ids::STREAM_EVENT)
        .unwrap()
        .clone();
    let retries = mapping.maximum_retry_attempts.expect("a retry limit");
    let dead = mapping.on_failure.expect("an on-failure destination");
    let queue = w.local.stack.physical("UnpublishedEventsQueue").unwrap();
    assert_eq!(w.local.stack.arn("UnpublishedEventsQueue").unwrap(), dead);
    let letters = async || dead_letters(&w, queue).await;

    proxy.inject("events", Some("PutEvents"), Fault::Status(500), 100_000);
    for attempt in 1..=retries {
        let round = w.local.publish_events().await.unwrap();
        assert!(round.failed_at.is_some(), "attempt {attempt} fails");
        assert!(letters().await.is_empty(), "not given up after {attempt}");
    }
    let last = w.local.publish_events().await.unwrap();
    assert!(last.failed_at.is_some());
    proxy.heal();

    let letters = letters().await;
    assert_eq!(letters.len(), 1, "one on-failure record");
    let record: serde_json::Value = serde_json::from_str(letters[0].body().unwrap()).unwrap();
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        record["requestContext"]["approximateInvokeCount"],
        u64::from(retries) + 1
    );
    assert_eq!(
        record["requestContext"]["functionArn"].as_str(),
        Some(
            w.local
                .stack
                .function(ids::EVENT_PUBLISHER)
                .unwrap()
                .arn
                .as_str()
        )
    );
    let info = &record["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"].as_u64(), Some(entries as u64), "{record}");
    // The mapping read on past the batch: nothing more to publish.
    assert_eq!(w.local.publish_events().await.unwrap().published, 0);
}

/// The publisher's mapping bisects on a function error, as deployed: a
/// batch whose invocation fails is split in two and the halves retried,
/// down to the one record that fails; only that record goes to the
/// on-failure destination after its retry attempts, and every other record
/// is handed over exactly once.
#[tokio::test]
async fn a_batch_whose_invocation_fails_is_split_until_only_the_failing_record_is_given_up() {
    let w = World::new(60, 0).await;
    a_whole_incident(&w, "bisect").await;
    let mapping = w
        .local
        .stack
        .mapping(ids::EVENT_PUBLISHER, ids::STREAM_EVENT)
        .unwrap()
        .clone();
    assert!(mapping.bisect_on_error, "the template bisects");
    let retries = mapping.maximum_retry_attempts.expect("a retry limit");
    let queue = w.local.stack.physical("UnpublishedEventsQueue").unwrap();

    let mut poison: Option<String> = None;
    let mut sizes = Vec::new();
    let mut handed: BTreeMap<String, u32> = BTreeMap::new();
    let mut letters = Vec::new();
    for _ in 0..100 {
        w.local
            .stream
            .deliver(async |event| {
                let batch: Vec<String> = event
                    .records
                    .iter()
                    .map(|r| r.change.sequence_number.clone().unwrap_or_default())
                    .collect();
                sizes.push(batch.len());
                let poison = poison.get_or_insert_with(|| batch[batch.len() / 2].clone());
                if batch.contains(poison) {
                    return Err("the function failed".into());
                }
                for s in batch {
                    *handed.entry(s).or_default() += 1;
                }
                Ok(Default::default())
            })
            .await
            .unwrap();
        letters = dead_letters(&w, queue).await;
        if !letters.is_empty() && w.local.stream.next_batch(1).await.unwrap().1.is_empty() {
            break;
        }
    }
    let poison = poison.expect("records were delivered");
    let first = sizes[0];
    assert!(
        first >= 3,
        "a whole incident makes several events: {sizes:?}"
    );
    assert_eq!(sizes[1], first / 2, "split in two: {sizes:?}");
    assert_eq!(letters.len(), 1, "one on-failure record");
    let record: serde_json::Value = serde_json::from_str(letters[0].body().unwrap()).unwrap();
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        record["requestContext"]["approximateInvokeCount"],
        u64::from(retries) + 1,
        "{sizes:?}"
    );
    let info = &record["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 1, "only the failing record: {record}");
    assert_eq!(info["startSequenceNumber"].as_str(), Some(poison.as_str()));
    assert_eq!(info["endSequenceNumber"].as_str(), Some(poison.as_str()));
    assert!(!handed.contains_key(&poison));
    assert_eq!(handed.len(), first - 1, "every other record: {handed:?}");
    assert!(handed.values().all(|n| *n == 1), "each once: {handed:?}");
}

/// The on-failure records in a queue, left there.
async fn dead_letters(w: &World, queue: &str) -> Vec<aws_sdk_sqs::types::Message> {
    aws_sdk_sqs::Client::new(&w.local.sdk)
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

/// A row of the fault matrix: each call the event publisher makes (read
/// from a fault-free round) throttled past the SDK's retries, failing
/// with 500, or cut after it applied. The stream's retries (rounds here)
/// publish every change of the incident; an event appears twice only when
/// it was in a `PutEvents` whose answer was lost.
#[tokio::test]
async fn the_publisher_under_each_fault_of_its_calls_loses_no_event_and_repeats_only_a_cut_calls() {
    use crate::faults::{Outcome, Row, cut_sends};
    let (w, proxy) = World::behind_proxy().await;
    let tap = w.local.tap_bus("matrix").await.unwrap();
    a_whole_incident(&w, "pub-base").await;
    proxy.clear_calls();
    assert!(w.local.publish_events().await.unwrap().failed_at.is_none());
    let ops = proxy.operations();
    assert!(
        ops.iter().any(|o| o.name == "PutEvents"),
        "the publisher's calls: {ops:?}"
    );
    tap.drain().await.unwrap();
    let mut row = Row::new(&format!(
        "the event publisher's calls ({}) throttled 10 times, failing with 500 three times, or cut once",
        crate::faults::listed(&ops)
    ));
    let mut n = 0;
    for op in &ops {
        for (fault, times) in crate::faults::each_call_fault(10) {
            n += 1;
            let id = a_whole_incident(&w, &format!("pub-{n}")).await;
            let entries = w.timeline(&id).await.len();
            proxy.heal();
            proxy.clear_calls();
            proxy.inject(&op.service, Some(&op.name), fault, times);
            // The event source mapping's retries (8 deployed), as rounds.
            for _ in 0..8 {
                if w.local.publish_events().await.unwrap().failed_at.is_none() {
                    break;
                }
            }
            let mut out = Outcome {
                fault_fired: proxy.faults_spent(),
                ..Outcome::default()
            };
            let cut = cut_sends(&proxy);
            proxy.heal();
            let events = tap.drain().await.unwrap();
            let (by_id, count) = of_incident(&events, &id);
            if by_id.len() < entries {
                out.lost.push(format!(
                    "{} of {entries} changes unpublished",
                    entries - by_id.len()
                ));
            }
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            for e in events.iter().filter(|e| e["detail"]["incident_id"] == id) {
                *seen
                    .entry(e["detail"]["event_id"].as_str().unwrap_or_default())
                    .or_default() += 1;
            }
            for (event_id, copies) in seen.into_iter().filter(|(_, c)| *c > 1) {
                let cuts = cut.iter().filter(|body| body.contains(event_id)).count();
                crate::faults::count_message(&format!("event {event_id}"), copies, cuts, &mut out);
            }
            assert!(count >= by_id.len());
            row.add(&format!("{fault:?} {op}"), &out);
        }
    }
    row.report();
}
