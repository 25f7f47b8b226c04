//! Klaxon's own CloudWatch metrics: one namespace, a few names, few
//! dimension sets (each distinct set of dimension values is a metric
//! CloudWatch bills for). They are emitted as the Embedded Metric Format:
//! a JSON object per record, written as its own line to a Lambda
//! function's standard output, which CloudWatch Logs turns into metrics
//! (the JSON logs put `tracing` fields under `fields`, which EMF does not
//! read, so a record is never a `tracing` event).
//!
//! Later analytics extend this module; nothing else names a metric.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::incident::{Channel, TimelineEvent};

/// The metrics' namespace.
pub const NAMESPACE: &str = "Klaxon";

/// The dimension every metric has: the stack that emitted it.
pub const STACK: &str = "Stack";
/// The self-test's success (value 1 per successful run, dimension
/// [`STACK`]), published with `PutMetricData`; `<stack>-self-test` alarms
/// when it goes missing, and `klaxon doctor` reads it.
pub const SELF_TEST_SUCCEEDED: &str = "SelfTestSucceeded";
/// The dimension of page metrics: the channel (`sms`, `email`, `voice`).
pub const CHANNEL: &str = "Channel";

/// One occurrence of something an operator may need to hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A page reached its provider.
    PageSent(Channel),
    /// A page's send failed (counted once per page, at its first failure;
    /// a page that fails for good counts here too).
    PageFailed(Channel),
    /// A failing page was given up: nobody was reached by it.
    PageGivenUp(Channel),
    /// An escalation ran out of levels with nobody acknowledging.
    EscalationExhausted,
    /// An escalation workflow failed (a step that cannot succeed).
    EscalationFailed,
    /// An escalation step's run failed (its message goes back to the queue
    /// and is tried again; the fifth failure dead-letters it).
    EscalationStepFailed,
    /// The sweep found an open, unacknowledged incident whose escalation
    /// was not running: nobody was being paged for it.
    IncidentWithoutEscalation,
    /// The sweep restarted such an incident's escalation.
    EscalationRestarted,
}

impl Metric {
    /// The metric's name in [`NAMESPACE`].
    pub fn name(self) -> &'static str {
        match self {
            Self::PageSent(_) => "PagesSent",
            Self::PageFailed(_) => "PagesFailed",
            Self::PageGivenUp(_) => "PagesGivenUp",
            Self::EscalationExhausted => "EscalationsExhausted",
            Self::EscalationFailed => "EscalationsFailed",
            Self::EscalationStepFailed => "EscalationStepsFailed",
            Self::IncidentWithoutEscalation => "IncidentsWithoutEscalation",
            Self::EscalationRestarted => "EscalationsRestarted",
        }
    }

    /// One of each metric, page metrics for each paging channel: what the
    /// stack's alarms must cover.
    pub fn each() -> Vec<Self> {
        let channels = [Channel::Sms, Channel::Email, Channel::Voice];
        let mut all = Vec::new();
        for make in [Self::PageSent, Self::PageFailed, Self::PageGivenUp] {
            all.extend(channels.map(make));
        }
        all.extend([
            Self::EscalationExhausted,
            Self::EscalationFailed,
            Self::EscalationStepFailed,
            Self::IncidentWithoutEscalation,
            Self::EscalationRestarted,
        ]);
        all
    }

    /// The channel of a page metric.
    pub fn channel(self) -> Option<Channel> {
        match self {
            Self::PageSent(c) | Self::PageFailed(c) | Self::PageGivenUp(c) => Some(c),
            Self::EscalationExhausted
            | Self::EscalationFailed
            | Self::EscalationStepFailed
            | Self::IncidentWithoutEscalation
            | Self::EscalationRestarted => None,
        }
    }

    /// Its dimensions besides [`STACK`].
    fn dimensions(self) -> Vec<(&'static str, &'static str)> {
        self.channel()
            .map(|c| (CHANNEL, c.as_str()))
            .into_iter()
            .collect()
    }

    /// What a committed timeline event counts for, if anything. A
    /// self-test's sink is not a channel anyone is paged on.
    pub fn of_event(event: &TimelineEvent) -> Option<Self> {
        match event {
            TimelineEvent::Paged { channel, .. } if *channel != Channel::SelfTest => {
                Some(Self::PageSent(*channel))
            }
            TimelineEvent::PageFailed { channel, .. } if *channel != Channel::SelfTest => {
                Some(Self::PageFailed(*channel))
            }
            TimelineEvent::PageGivenUp { channel, .. } if *channel != Channel::SelfTest => {
                Some(Self::PageGivenUp(*channel))
            }
            TimelineEvent::EscalationExhausted { .. } => Some(Self::EscalationExhausted),
            TimelineEvent::EscalationFailed { .. } => Some(Self::EscalationFailed),
            _ => None,
        }
    }
}

/// The EMF records for `metrics` (each an occurrence, counted), emitted by
/// `stack` at `at`: one record per dimension set and values, each metric
/// in it with its count.
pub fn emf_records(stack: &str, metrics: &[Metric], at: Timestamp) -> Vec<Value> {
    let mut groups: BTreeMap<Vec<(&'static str, &'static str)>, BTreeMap<&'static str, u64>> =
        BTreeMap::new();
    for metric in metrics {
        *groups
            .entry(metric.dimensions())
            .or_default()
            .entry(metric.name())
            .or_default() += 1;
    }
    groups
        .into_iter()
        .map(|(dimensions, counts)| {
            // Per channel, and the stack's total: the alarms read the total.
            let mut sets = Vec::new();
            if !dimensions.is_empty() {
                let mut keys = vec![STACK];
                keys.extend(dimensions.iter().map(|(k, _)| *k));
                sets.push(keys);
            }
            sets.push(vec![STACK]);
            let mut record = serde_json::Map::new();
            record.insert(
                "_aws".into(),
                json!({
                    "Timestamp": at.as_millisecond(),
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": sets,
                        "Metrics": counts
                            .keys()
                            .map(|name| json!({"Name": name, "Unit": "Count"}))
                            .collect::<Vec<_>>(),
                    }],
                }),
            );
            record.insert(STACK.into(), json!(stack));
            for (key, value) in dimensions {
                record.insert(key.into(), json!(value));
            }
            for (name, count) in counts {
                record.insert(name.into(), json!(count));
            }
            Value::Object(record)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        "2026-12-07T06:00:00Z".parse().unwrap()
    }

    #[test]
    fn pages_are_counted_per_channel_in_records_of_their_own() {
        let records = emf_records(
            "klaxon",
            &[
                Metric::PageSent(Channel::Sms),
                Metric::PageSent(Channel::Sms),
                Metric::PageFailed(Channel::Sms),
                Metric::PageSent(Channel::Email),
                Metric::EscalationExhausted,
            ],
            at(),
        );
        assert_eq!(records.len(), 3, "{records:#?}");
        let sms = records
            .iter()
            .find(|r| r[CHANNEL] == "sms")
            .expect("an sms record");
        assert_eq!(sms["PagesSent"], 2);
        assert_eq!(sms["PagesFailed"], 1);
        assert_eq!(sms[STACK], "klaxon");
        let directive = &sms["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            json!([["Stack", "Channel"], ["Stack"]]),
            "per channel and the stack's total"
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "PagesFailed", "Unit": "Count"}, {"Name": "PagesSent", "Unit": "Count"}])
        );
        assert_eq!(sms["_aws"]["Timestamp"], at().as_millisecond());
        let exhausted = records
            .iter()
            .find(|r| r.get(CHANNEL).is_none())
            .expect("a record without a channel");
        assert_eq!(exhausted["EscalationsExhausted"], 1);
        assert_eq!(
            exhausted["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stack"]])
        );
    }

    #[test]
    fn nothing_to_count_is_no_record() {
        assert!(emf_records("klaxon", &[], at()).is_empty());
    }

    #[test]
    fn timeline_events_count_for_pages_and_escalations_but_not_the_self_test_sink() {
        let paged = |channel| TimelineEvent::Paged {
            step: 0,
            pass: 1,
            level: 1,
            person: "aiko".into(),
            channel,
            to: "+81******1234".into(),
            message_id: "m".into(),
        };
        assert_eq!(
            Metric::of_event(&paged(Channel::Voice)),
            Some(Metric::PageSent(Channel::Voice))
        );
        assert_eq!(Metric::of_event(&paged(Channel::SelfTest)), None);
        assert_eq!(
            Metric::of_event(&TimelineEvent::EscalationExhausted { steps: 2 }),
            Some(Metric::EscalationExhausted)
        );
        assert_eq!(Metric::of_event(&TimelineEvent::Opened), None);
        let given_up = |channel| TimelineEvent::PageGivenUp {
            step: 0,
            person: "aiko".into(),
            channel,
            contact: "mobile".into(),
            reason: "failing for 60 min".into(),
        };
        assert_eq!(
            Metric::of_event(&given_up(Channel::Sms)),
            Some(Metric::PageGivenUp(Channel::Sms))
        );
        assert_eq!(Metric::of_event(&given_up(Channel::SelfTest)), None);
    }

    #[test]
    fn each_metric_has_its_own_name_and_page_metrics_a_channel() {
        let each = Metric::each();
        let names: std::collections::BTreeSet<_> = each.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), 8, "{names:?}");
        for metric in each {
            assert_eq!(
                metric.channel().is_some(),
                metric.name().starts_with("Pages"),
                "{metric:?}"
            );
        }
    }
}
