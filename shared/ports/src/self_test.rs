//! What the scheduled self-test needs beyond the store: a way to hand an
//! alarm event to intake, and a place to report success.

use std::future::Future;

use jiff::Timestamp;
use serde_json::Value;

use super::BackendError;

/// Delivers an alarm event to the intake function and returns its answer
/// (the outcomes intake reports, as JSON). In AWS a synchronous
/// `lambda:Invoke` of the deployed intake function, so the real intake
/// runs; locally the harness calls the intake handler itself.
pub trait AlarmDelivery: Send + Sync {
    /// An error says whether delivering again can help: intake's own
    /// `Klaxon.Retryable` errors and throttling can, the rest cannot.
    fn deliver(&self, event: &Value) -> impl Future<Output = Result<Value, BackendError>> + Send;
}

/// Where the self-test reports that a run succeeded: CloudWatch metric
/// `Klaxon/SelfTestSucceeded` (value 1, dimension `Stack=<stack>`), which
/// `<stack>-self-test` alarms on when it goes missing.
pub trait Metrics: Send + Sync {
    fn self_test_succeeded(
        &self,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}
