//! [`FakeMetricLog`]: the metrics a handler recorded, in memory.

use std::sync::Mutex;

use jiff::Timestamp;

use klaxon_core::metrics::Metric;
use klaxon_ports::MetricLog;

#[derive(Debug, Default)]
pub struct FakeMetricLog {
    recorded: Mutex<Vec<(Metric, Timestamp)>>,
}

impl FakeMetricLog {
    /// Every occurrence recorded, in order.
    pub fn recorded(&self) -> Vec<Metric> {
        self.lock().iter().map(|(m, _)| *m).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Metric, Timestamp)>> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MetricLog for FakeMetricLog {
    fn record(&self, metrics: &[Metric], at: Timestamp) {
        self.lock().extend(metrics.iter().map(|m| (*m, at)));
    }
}

impl super::contract::metric_log::ReadBack for FakeMetricLog {
    fn counts(&self) -> super::contract::metric_log::Counts {
        let mut counts = super::contract::metric_log::Counts::new();
        for (metric, at) in self.lock().iter() {
            let channel = metric.channel().map(|c| c.as_str().to_string());
            *counts
                .entry((metric.name().to_string(), channel, at.as_millisecond()))
                .or_default() += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_keeps_the_metric_log_contract() {
        super::super::contract::metric_log::every_occurrence_is_counted_once_by_name_channel_and_time(
            &FakeMetricLog::default(),
        );
    }
}
