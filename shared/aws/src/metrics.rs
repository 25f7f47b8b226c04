//! The self-test's success metric on CloudWatch (`PutMetricData`).
//!
//! The metric is a contract with the template (`<stack>-self-test` alarms
//! on it) and with `klaxon doctor` (which reads it): namespace
//! [`NAMESPACE`], name [`SELF_TEST_SUCCEEDED`], value 1 per successful run,
//! one dimension [`STACK_DIMENSION`] = the stack's name.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use jiff::Timestamp;

use super::backend_error;
use klaxon_ports::{BackendError, Metrics};

pub use klaxon_core::metrics::{NAMESPACE, SELF_TEST_SUCCEEDED, STACK as STACK_DIMENSION};

/// Publishes the self-test's successes of one stack.
#[derive(Clone, Debug)]
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
    stack: String,
}

impl CloudWatchMetrics {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, stack: impl Into<String>) -> Self {
        Self::new(aws_sdk_cloudwatch::Client::new(sdk), stack)
    }

    pub fn new(client: aws_sdk_cloudwatch::Client, stack: impl Into<String>) -> Self {
        Self {
            client,
            stack: stack.into(),
        }
    }
}

impl Metrics for CloudWatchMetrics {
    async fn self_test_succeeded(&self, at: Timestamp) -> Result<(), BackendError> {
        let datum = MetricDatum::builder()
            .metric_name(SELF_TEST_SUCCEEDED)
            .dimensions(
                Dimension::builder()
                    .name(STACK_DIMENSION)
                    .value(&self.stack)
                    .build(),
            )
            .value(1.0)
            .unit(StandardUnit::Count)
            .timestamp(DateTime::from_millis(at.as_millisecond()))
            .build();
        self.client
            .put_metric_data()
            .namespace(NAMESPACE)
            .metric_data(datum)
            .send()
            .await
            .map_err(|e| backend_error("CloudWatch", "PutMetricData", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    #[tokio::test]
    async fn publishes_one_success_of_this_stack_at_klaxons_time() {
        let at: Timestamp = "2026-11-21T06:00:00Z".parse().unwrap();
        let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
            .match_requests(move |r| {
                let [d] = r.metric_data() else { return false };
                let [dim] = d.dimensions() else { return false };
                r.namespace() == Some("Klaxon")
                    && d.metric_name() == Some("SelfTestSucceeded")
                    && d.value() == Some(1.0)
                    && d.unit() == Some(&StandardUnit::Count)
                    && d.timestamp().map(|t| t.to_millis().ok()) == Some(Some(at.as_millisecond()))
                    && dim.name() == Some("Stack")
                    && dim.value() == Some("prod-klaxon")
            })
            .then_output(|| PutMetricDataOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
        CloudWatchMetrics::new(client, "prod-klaxon")
            .self_test_succeeded(at)
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }
}
