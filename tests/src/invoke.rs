//! Lambda's asynchronous invocation (EventBridge or SNS invoking the
//! intake function, SNS invoking sms-reply), as the function's deployed
//! `EventInvokeConfig` says: the first attempt, then its retries about a
//! minute and two minutes apart (scaled, [`crate::scaled`], but never before
//! the failed attempt's deadline, as in AWS), none after the
//! event's maximum age, and then Lambda's on-failure record (the event as
//! `requestPayload`, the error as `responsePayload`, as `klaxon dlq` reads
//! it) to the failure destination.

use std::time::Duration;

use klaxon_app::AppError;
use serde_json::{Value, json};

use crate::{HarnessError, Local, scaled};

/// What became of one asynchronous invocation.
#[derive(Debug)]
pub enum Invoked<T> {
    /// An attempt succeeded.
    Done { value: T, attempts: u32 },
    /// Lambda gave up: the last error, and whether the on-failure record
    /// was sent to a destination.
    GaveUp {
        error: AppError,
        attempts: u32,
        dead_lettered: bool,
    },
}

impl Local {
    /// Invokes `function_id`'s handler (`attempt`) with `event` as Lambda's
    /// asynchronous invocation would. `between` runs before each retry (a
    /// test heals a crashed instance there: a retry runs on a new one).
    pub async fn invoke_async<T>(
        &self,
        function_id: &str,
        event: &Value,
        attempt: impl AsyncFn() -> Result<T, AppError>,
        mut between: impl FnMut(),
    ) -> Result<Invoked<T>, HarnessError> {
        let config = self.stack.invoke_config(function_id)?.clone();
        let max_age = scaled(config.maximum_event_age_seconds);
        let started = tokio::time::Instant::now();
        let mut attempts = 0;
        let timeout = Duration::from_secs(self.stack.function(function_id)?.timeout_seconds);
        let (error, condition) = loop {
            attempts += 1;
            let deadline = tokio::time::Instant::now() + timeout;
            let error = match attempt().await {
                Ok(value) => return Ok(Invoked::Done { value, attempts }),
                Err(e) => e,
            };
            if attempts > config.maximum_retry_attempts {
                break (error, "RetriesExhausted");
            }
            // Lambda retries about a minute after the first failure and
            // two after the second: scaled, but never before the failed
            // attempt's deadline, which in AWS is long past by then (what
            // an invocation claimed is leased until its deadline).
            let wait = scaled(60 * u64::from(attempts))
                .max(deadline.saturating_duration_since(tokio::time::Instant::now()));
            if started.elapsed() + wait > max_age {
                break (error, "EventAgeExceeded");
            }
            tokio::time::sleep(wait).await;
            between();
        };
        let handler_error = klaxon_runtime::HandlerError(error);
        let response = json!({
            "errorType": handler_error.error_type(),
            "errorMessage": handler_error.0.to_string(),
        });
        let dead_lettered = match &config.on_failure {
            Some(destination) => {
                self.send_failure_record(
                    function_id,
                    destination,
                    event,
                    response,
                    attempts,
                    condition,
                )
                .await?;
                true
            }
            None => false,
        };
        Ok(Invoked::GaveUp {
            error: handler_error.0,
            attempts,
            dead_lettered,
        })
    }

    async fn send_failure_record(
        &self,
        function_id: &str,
        destination: &str,
        event: &Value,
        response: Value,
        attempts: u32,
        condition: &str,
    ) -> Result<(), HarnessError> {
        let record = json!({
            "version": "1.0",
            "timestamp": jiff::Timestamp::now().to_string(),
            "requestContext": {
                "requestId": format!("{:032x}", rand::random::<u128>()),
                "functionArn": format!("{}:$LATEST", self.stack.function(function_id)?.arn),
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": response,
        });
        crate::send_on_failure(&self.sqs, destination, &record).await
    }
}
