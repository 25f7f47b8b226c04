//! The metric log contract: the fake and the EMF adapter count the same.

use std::collections::BTreeMap;

use klaxon_core::incident::Channel;
use klaxon_core::metrics::Metric;
use klaxon_ports::MetricLog;

/// Occurrences by (metric name, channel, time in ms).
pub type Counts = BTreeMap<(String, Option<String>, i64), u64>;

/// A metric log whose records a test can read back.
pub trait ReadBack: MetricLog {
    fn counts(&self) -> Counts;
}

/// Each occurrence is counted once, under its name, channel and time;
/// recording nothing writes nothing.
pub fn every_occurrence_is_counted_once_by_name_channel_and_time<L: ReadBack>(log: &L) {
    let t1: jiff::Timestamp = "2026-12-07T06:00:00Z".parse().expect("time");
    let t2 = t1 + jiff::SignedDuration::from_secs(60);
    log.record(&[], t1);
    assert!(log.counts().is_empty(), "nothing recorded, nothing written");
    log.record(
        &[
            Metric::PageSent(Channel::Sms),
            Metric::PageSent(Channel::Sms),
            Metric::PageSent(Channel::Email),
            Metric::EscalationExhausted,
        ],
        t1,
    );
    log.record(&[Metric::PageFailed(Channel::Voice)], t2);
    let key = |name: &str, channel: Option<&str>, at: jiff::Timestamp| {
        (
            name.to_string(),
            channel.map(str::to_string),
            at.as_millisecond(),
        )
    };
    let expected: Counts = [
        (key("PagesSent", Some("sms"), t1), 2),
        (key("PagesSent", Some("email"), t1), 1),
        (key("EscalationsExhausted", None, t1), 1),
        (key("PagesFailed", Some("voice"), t2), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(log.counts(), expected);
}
