//! Alarm events to the deployed intake function: a synchronous
//! `lambda:Invoke`, so the self-test runs the real intake Lambda (feature
//! `self-test`: only the self-test function links the Lambda SDK).

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::Value;

use klaxon_aws::backend_error;
use klaxon_ports::{AlarmDelivery, BackendError};

/// The intake function, by name or ARN.
#[derive(Clone, Debug)]
pub struct LambdaIntake {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaIntake {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, function: impl Into<String>) -> Self {
        Self::new(aws_sdk_lambda::Client::new(sdk), function)
    }

    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        Self {
            client,
            function: function.into(),
        }
    }

    fn answer_error(&self, message: String) -> BackendError {
        BackendError {
            service: "Lambda",
            operation: "Invoke",
            message: format!("{}: {message}", self.function),
            retryable: false,
        }
    }
}

impl AlarmDelivery for LambdaIntake {
    async fn deliver(&self, event: &Value) -> Result<Value, BackendError> {
        let payload = serde_json::to_vec(event).map_err(|e| self.answer_error(e.to_string()))?;
        let out = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| {
                // Lambda's own throttling and transient faults.
                let transient = e.as_service_error().is_some_and(|se| {
                    se.is_too_many_requests_exception()
                        || se.is_service_exception()
                        || se.is_resource_not_ready_exception()
                        || se.is_ec2_throttled_exception()
                });
                let mut error = backend_error("Lambda", "Invoke", e);
                error.retryable |= transient;
                error
            })?;
        let body = out.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = out.function_error {
            // {"errorType": "Klaxon.Retryable", "errorMessage": "..."}
            let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let field = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_string);
            let error_type = field("errorType").unwrap_or(kind);
            let message = field("errorMessage")
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(500).collect());
            return Err(BackendError::invocation(
                &self.function,
                &error_type,
                &message,
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| self.answer_error(format!("answer is not JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    // moto cannot run a Lambda function without Docker: the adapter is
    // checked against a mocked client, and the delivery contract against
    // the intake handler itself (tests/it/self_test.rs).
    use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
    use aws_sdk_lambda::types::error::TooManyRequestsException;
    use aws_smithy_mocks::{mock, mock_client};
    use serde_json::json;

    use super::*;

    const FUNCTION: &str = "prod-alarm-intake";

    #[tokio::test]
    async fn an_event_goes_to_the_function_synchronously_and_its_answer_comes_back() {
        let rule = mock!(aws_sdk_lambda::Client::invoke)
            .match_requests(|r| {
                r.function_name() == Some(FUNCTION)
                    && r.invocation_type() == Some(&InvocationType::RequestResponse)
                    && r.payload().map(|p| p.as_ref()) == Some(br#"{"detail":"x"}"#.as_slice())
            })
            .then_output(|| {
                InvokeOutput::builder()
                    .status_code(200)
                    .payload(Blob::new(
                        br#"[{"outcome":"opened","incident_id":"selftest-1"}]"#.to_vec(),
                    ))
                    .build()
            });
        let client = mock_client!(aws_sdk_lambda, [&rule]);
        let answer = LambdaIntake::new(client, FUNCTION)
            .deliver(&json!({"detail": "x"}))
            .await
            .unwrap();
        assert_eq!(answer[0]["incident_id"], "selftest-1");
    }

    #[tokio::test]
    async fn the_functions_error_type_says_whether_to_retry() {
        for (error_type, retryable) in [
            ("Klaxon.Retryable", true),
            ("Klaxon.Failed", false),
            ("Klaxon.InvalidEvent", false),
            ("Sandbox.Timedout", true),
        ] {
            let body = json!({"errorType": error_type, "errorMessage": "boom"}).to_string();
            let rule = mock!(aws_sdk_lambda::Client::invoke).then_output(move || {
                InvokeOutput::builder()
                    .status_code(200)
                    .function_error("Unhandled")
                    .payload(Blob::new(body.clone().into_bytes()))
                    .build()
            });
            let client = mock_client!(aws_sdk_lambda, [&rule]);
            let e = LambdaIntake::new(client, FUNCTION)
                .deliver(&json!({}))
                .await
                .unwrap_err();
            assert_eq!(e.retryable, retryable, "{error_type}: {e}");
            assert!(
                e.message.contains(error_type) && e.message.contains("boom"),
                "{e}"
            );
        }
    }

    #[tokio::test]
    async fn throttling_is_worth_another_try() {
        let rule = mock!(aws_sdk_lambda::Client::invoke).then_error(|| {
            InvokeError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .message("rate exceeded")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_lambda, [&rule]);
        let e = LambdaIntake::new(client, FUNCTION)
            .deliver(&json!({}))
            .await
            .unwrap_err();
        assert!(e.retryable, "{e}");
    }

    #[tokio::test]
    async fn an_answer_that_is_not_json_is_a_permanent_error() {
        let rule = mock!(aws_sdk_lambda::Client::invoke).then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .payload(Blob::new(b"<html>".to_vec()))
                .build()
        });
        let client = mock_client!(aws_sdk_lambda, [&rule]);
        let e = LambdaIntake::new(client, FUNCTION)
            .deliver(&json!({}))
            .await
            .unwrap_err();
        assert!(!e.retryable && e.message.contains("not JSON"), "{e}");
    }
}
