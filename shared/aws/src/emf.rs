//! [`MetricLog`] as the Embedded Metric Format: each record
//! ([`klaxon_core::metrics::emf_records`]) one JSON line on the
//! function's standard output, apart from the `tracing` logs, which
//! CloudWatch Logs reads as metrics of the function's log group.

use std::io::Write;
use std::sync::Mutex;

use jiff::Timestamp;

use klaxon_core::metrics::{Metric, emf_records};
use klaxon_ports::MetricLog;

/// Writes EMF lines for one stack to `W` (standard output in Lambda).
#[derive(Debug)]
pub struct EmfLog<W> {
    stack: String,
    out: Mutex<W>,
}

impl EmfLog<std::io::Stdout> {
    /// The function's standard output, which Lambda sends to CloudWatch Logs.
    pub fn stdout(stack: impl Into<String>) -> Self {
        Self::new(stack, std::io::stdout())
    }
}

impl<W: Write> EmfLog<W> {
    pub fn new(stack: impl Into<String>, out: W) -> Self {
        Self {
            stack: stack.into(),
            out: Mutex::new(out),
        }
    }

    /// The writer, for tests that read what was written.
    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl<W: Write + Send> MetricLog for EmfLog<W> {
    fn record(&self, metrics: &[Metric], at: Timestamp) {
        let records = emf_records(&self.stack, metrics, at);
        if records.is_empty() {
            return;
        }
        // One write per line, whole lines only, under the lock: records
        // never interleave with each other.
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        for record in records {
            if let Err(e) = writeln!(out, "{record}") {
                tracing::error!(error = %e, metrics = metrics.len(), "metrics not written");
                return;
            }
        }
        let _ = out.flush();
    }
}

#[cfg(any(test, feature = "testing"))]
impl klaxon_testing::contract::metric_log::ReadBack for EmfLog<Vec<u8>> {
    fn counts(&self) -> klaxon_testing::contract::metric_log::Counts {
        let out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut counts = klaxon_testing::contract::metric_log::Counts::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let record: serde_json::Value =
                serde_json::from_str(line).expect("one JSON record per line");
            let directive = &record["_aws"]["CloudWatchMetrics"][0];
            let at = record["_aws"]["Timestamp"].as_i64().expect("Timestamp");
            let channel = record[klaxon_core::metrics::CHANNEL]
                .as_str()
                .map(str::to_string);
            for metric in directive["Metrics"].as_array().expect("Metrics") {
                let name = metric["Name"].as_str().expect("Name").to_string();
                let value = record[&name].as_u64().expect("a count for each metric");
                *counts.entry((name, channel.clone(), at)).or_default() += value;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emf_log_keeps_the_metric_log_contract() {
        klaxon_testing::contract::metric_log::every_occurrence_is_counted_once_by_name_channel_and_time(
            &EmfLog::new("klaxon", Vec::new()),
        );
    }

    #[test]
    fn each_record_is_a_line_of_its_own_with_the_stack_dimension() {
        let log = EmfLog::new("prod-klaxon", Vec::new());
        let at: Timestamp = "2026-12-07T06:00:00Z".parse().unwrap();
        log.record(
            &[
                Metric::PageSent(klaxon_core::incident::Channel::Sms),
                Metric::EscalationFailed,
            ],
            at,
        );
        let text = String::from_utf8(log.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for line in lines {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(record["Stack"], "prod-klaxon");
            assert_eq!(
                record["_aws"]["CloudWatchMetrics"][0]["Namespace"],
                "Klaxon"
            );
        }
    }
}
