//! The self-test's last success: the CloudWatch metric the scheduled
//! self-test publishes (value 1) each time it pages itself end to end.
//!
//! Rules, with `--self-test-max-age` M minutes (default 30):
//! * a success in the last M minutes: ok;
//! * the last success older than M minutes, or none in the last 24 h: a
//!   problem (the self-test fails, or it no longer runs);
//! * with `--no-self-test` (a stack that runs no self-test, such as a local
//!   one): never a problem; a missing or old success is a warning.
//!
//! A CloudWatch error is a warning ("could not check"), whatever the flag.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use jiff::{SignedDuration, Timestamp};
use klaxon_core::time::iso;

use super::{Check, Clients, DoctorOptions};
use crate::aws_error::describe;
use crate::names::StackNames;

pub const METRIC_NAMESPACE: &str = klaxon_core::metrics::NAMESPACE;
pub const METRIC_NAME: &str = klaxon_core::metrics::SELF_TEST_SUCCEEDED;
/// The metric's one dimension: the stack name.
pub const METRIC_DIMENSION: &str = klaxon_core::metrics::STACK;

const NAME: &str = "self-test";

pub(super) async fn check(
    clients: &Clients,
    names: &StackNames,
    options: &DoctorOptions,
    now: Timestamp,
) -> Check {
    match last_success(&clients.cloudwatch, &names.stack, now).await {
        Ok(last) => self_test_check(
            &names.stack,
            last,
            now,
            options.self_test_max_age_minutes,
            options.self_test_expected,
        ),
        Err(e) => Check::could_not_check(
            NAME,
            &format!("the self-test metric {METRIC_NAMESPACE}/{METRIC_NAME}"),
            &e,
            "make sure your credentials may call cloudwatch:GetMetricStatistics, or look at the metric in the CloudWatch console",
        ),
    }
}

/// The time of the newest datapoint of the last 24 h whose maximum is at
/// least 1 (a success), one-minute periods.
pub async fn last_success(
    client: &aws_sdk_cloudwatch::Client,
    stack: &str,
    now: Timestamp,
) -> Result<Option<Timestamp>, String> {
    let start = now - SignedDuration::from_hours(24);
    let out = client
        .get_metric_statistics()
        .namespace(METRIC_NAMESPACE)
        .metric_name(METRIC_NAME)
        .dimensions(
            Dimension::builder()
                .name(METRIC_DIMENSION)
                .value(stack)
                .build(),
        )
        .start_time(DateTime::from_secs(start.as_second()))
        // The end is exclusive: include the current minute.
        .end_time(DateTime::from_secs(now.as_second() + 60))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(out
        .datapoints()
        .iter()
        .filter(|d| d.maximum().is_some_and(|m| m >= 1.0))
        .filter_map(|d| d.timestamp())
        .filter_map(|t| Timestamp::new(t.secs(), 0).ok())
        .max())
}

pub fn self_test_check(
    stack: &str,
    last: Option<Timestamp>,
    now: Timestamp,
    max_age_minutes: u32,
    expected: bool,
) -> Check {
    let metric = format!("{METRIC_NAMESPACE}/{METRIC_NAME} with {METRIC_DIMENSION}={stack}");
    let not_expected = "(--no-self-test: this stack is not expected to run one)";
    match last {
        Some(at) => {
            let age = now.duration_since(at).as_secs().max(0) / 60;
            if age <= i64::from(max_age_minutes) {
                return Check::ok(NAME, format!("last success at {} ({age} min ago)", iso(at)));
            }
            let message = format!(
                "last success at {}, {age} min ago (more than {max_age_minutes}): the self-test fails or no longer runs",
                iso(at)
            );
            let fix = "read the self-test's logs and the other checks here; it pages through the same path as an alarm";
            if expected {
                Check::problem(NAME, message, fix)
            } else {
                Check::warning(NAME, format!("{message} {not_expected}"), fix)
            }
        }
        None if expected => Check::problem(
            NAME,
            format!(
                "no self-test success in the last 24 h ({metric}): the self-test fails, or this stack does not run one"
            ),
            "deploy the stack with its scheduled self-test and read its logs; for a stack without one, pass --no-self-test",
        ),
        None => Check::warning(
            NAME,
            format!("no self-test success in the last 24 h ({metric}) {not_expected}"),
            "deploy the scheduled self-test so that Klaxon checks its own paging path",
        ),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput;
    use aws_sdk_cloudwatch::types::Datapoint;
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;
    use crate::doctor::Status;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-11-30T12:00:00Z";

    #[test]
    fn a_recent_success_is_ok() {
        let c = self_test_check("p", Some(at("2026-11-30T11:50:00Z")), at(NOW), 30, true);
        assert_eq!(c.status, Status::Ok);
        assert_eq!(
            c.message,
            "last success at 2026-11-30T11:50:00.000Z (10 min ago)"
        );
    }

    #[test]
    fn a_success_older_than_the_maximum_age_is_a_problem_unless_no_self_test_is_expected() {
        let old = Some(at("2026-11-30T11:00:00Z"));
        let c = self_test_check("p", old, at(NOW), 30, true);
        assert_eq!(c.status, Status::Problem);
        assert!(c.message.contains("60 min ago (more than 30)"));
        assert_eq!(
            self_test_check("p", old, at(NOW), 30, false).status,
            Status::Warning
        );
        assert_eq!(
            self_test_check("p", old, at(NOW), 90, true).status,
            Status::Ok
        );
    }

    #[test]
    fn no_success_in_a_day_is_a_problem_or_with_no_self_test_a_warning() {
        let c = self_test_check("p", None, at(NOW), 30, true);
        assert_eq!(c.status, Status::Problem);
        assert!(c.message.contains("Klaxon/SelfTestSucceeded with Stack=p"));
        assert!(c.fix.unwrap().contains("--no-self-test"));
        let w = self_test_check("p", None, at(NOW), 30, false);
        assert_eq!(w.status, Status::Warning);
        assert!(w.message.contains("--no-self-test"));
    }

    fn point(ts: &str, max: f64) -> Datapoint {
        Datapoint::builder()
            .timestamp(DateTime::from_secs(at(ts).as_second()))
            .maximum(max)
            .build()
    }

    // moto 5.2.5 does not speak the CBOR protocol of the Rust CloudWatch
    // SDK, so the request and the reading of datapoints are checked
    // against a mocked client.
    #[tokio::test]
    async fn the_newest_datapoint_of_value_one_for_this_stack_is_the_last_success() {
        let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_statistics)
            .match_requests(|r| {
                r.namespace() == Some("Klaxon")
                    && r.metric_name() == Some("SelfTestSucceeded")
                    && r.dimensions() == [Dimension::builder().name("Stack").value("prod").build()]
                    && r.period() == Some(60)
                    && r.start_time()
                        == Some(&DateTime::from_secs(at("2026-11-29T12:00:00Z").as_second()))
            })
            .then_output(|| {
                GetMetricStatisticsOutput::builder()
                    .datapoints(point("2026-11-30T11:40:00Z", 1.0))
                    .datapoints(point("2026-11-30T11:55:00Z", 0.0))
                    .datapoints(point("2026-11-30T11:20:00Z", 1.0))
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
        let last = last_success(&client, "prod", at(NOW)).await.unwrap();
        assert_eq!(last, Some(at("2026-11-30T11:40:00Z")));
    }

    #[tokio::test]
    async fn no_datapoint_means_no_success() {
        let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_statistics)
            .then_output(|| GetMetricStatisticsOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
        assert_eq!(last_success(&client, "prod", at(NOW)).await.unwrap(), None);
    }
}
