//! Where a function writes Klaxon's operational metrics
//! ([`klaxon_core::metrics`]): in Lambda, its standard output as the
//! Embedded Metric Format, which CloudWatch Logs turns into metrics the
//! template's alarms watch.

use jiff::Timestamp;

use klaxon_core::metrics::Metric;

/// Records metric occurrences. Writing never fails the caller: a metric
/// that cannot be written is logged, and the work it counts goes on.
pub trait MetricLog: Send + Sync {
    /// Each of `metrics` occurred once, counted at `at`.
    fn record(&self, metrics: &[Metric], at: Timestamp);
}
