//! AWS adapters for the ports. Endpoints, region and credentials come from
//! the standard AWS configuration (`AWS_ENDPOINT_URL` included), so the same
//! code runs against AWS, moto or LocalStack.

pub mod channels;
pub mod chime;
pub mod cloudwatch;
pub mod dynamo;
pub mod emf;
pub mod eventbridge;
pub mod metrics;
pub mod ses;
pub mod sfn;
pub mod sns;

use std::sync::{Arc, LazyLock};

// The smithy runtime's own error types, which every SDK client re-exports:
// no adapter needs the DynamoDB SDK for them.
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use klaxon_ports::BackendError;

/// Loads the shared SDK configuration once per process: the standard
/// provider chains (so `AWS_REGION`, `AWS_ENDPOINT_URL`, profiles and the
/// Lambda role all apply), with the process's one HTTPS client
/// ([`klaxon_https::SdkHttps`]: rustls + ring, Mozilla's roots compiled in). The
/// functions add call timeouts ([`function_sdk_config`]); the CLI and the
/// local harness, whose calls include long deployments, do not.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(klaxon_https::SdkHttps::shared())
        .load()
        .await
}

/// `sdk` with the functions' call timeouts: one attempt may take
/// [`ATTEMPT_TIMEOUT`], a call with its retries [`klaxon_ports::CALL_TIMEOUT`];
/// then the call fails as retryable. A call that hangs (a stalled
/// connection, an overloaded endpoint) so gives up before a page's claim
/// could be taken over by another run (the escalator sends only with more
/// than that left of its lease), instead of landing after it.
pub fn with_call_timeouts(sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(klaxon_ports::CALL_TIMEOUT)
        .build();
    sdk.to_builder().timeout_config(timeouts).build()
}

/// What every function's AWS clients are built from: [`sdk_config`] with
/// [`with_call_timeouts`].
pub async fn function_sdk_config() -> aws_config::SdkConfig {
    with_call_timeouts(&sdk_config().await)
}

/// An SDK client built on its first call instead of at start: for the
/// clients only some events use (the notifier's Incident Manager, queue,
/// email and secrets clients; the self-test's channel reads, made only
/// after its paging path passed), so a cold start builds what its event
/// needs and no more. Clones share the one client.
#[derive(Clone)]
pub struct OnFirstUse<C>(Arc<LazyLock<C, Box<dyn FnOnce() -> C + Send>>>);

impl<C: Send + 'static> OnFirstUse<C> {
    /// A client `make` builds from `sdk` when first used.
    pub fn new(sdk: &aws_config::SdkConfig, make: fn(&aws_config::SdkConfig) -> C) -> Self {
        let sdk = sdk.clone();
        Self(Arc::new(LazyLock::new(Box::new(move || make(&sdk)))))
    }

    /// A client already built (tests, a client with settings of its own).
    pub fn ready(client: C) -> Self {
        Self(Arc::new(LazyLock::new(Box::new(move || client))))
    }
}

impl<C> std::ops::Deref for OnFirstUse<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C> std::fmt::Debug for OnFirstUse<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnFirstUse")
    }
}

/// Longest a connection may take to open.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// Longest one attempt of a call may take (a call is tried up to 3 times
/// within [`klaxon_ports::CALL_TIMEOUT`]).
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Error codes AWS uses for throttling and transient faults.
pub const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "TooManyRequestsException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionConflictException",
    "KMSThrottlingException",
];

/// Turns an SDK error into a [`BackendError`] that says whether a retry can help.
pub fn backend_error<E, R>(
    service: &'static str,
    operation: &'static str,
    err: SdkError<E, R>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => ctx
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        _ => false,
    };
    BackendError {
        service,
        operation,
        message: describe(&err),
        retryable,
    }
}

/// Longest error text kept: it goes on timelines and into dead letters.
const MAX_ERROR_CHARS: usize = 500;

/// A short description of an SDK error: the service's code and message
/// when the service answered, else the chain of causes (never the raw
/// response, which can be large).
fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = match err {
        SdkError::ServiceError(ctx) => match (ctx.err().code(), ctx.err().message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_string(),
            _ => DisplayErrorContext(err).to_string(),
        },
        _ => DisplayErrorContext(err).to_string(),
    };
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// The error code of a service error, if it is one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;

    use super::*;

    fn service_error(code: &str, message: &str) -> SdkError<PutItemError, String> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(PutItemError::generic(meta), "raw response".repeat(500))
    }

    #[test]
    fn a_service_error_is_described_by_its_code_and_message_not_the_raw_response() {
        let e = backend_error(
            "DynamoDB",
            "PutItem",
            service_error("Throttling", "slow down"),
        );
        assert_eq!(e.message, "Throttling: slow down");
        assert!(e.retryable);
    }

    #[test]
    fn a_long_error_is_cut_short() {
        let e = backend_error(
            "DynamoDB",
            "PutItem",
            service_error("ValidationException", &"x".repeat(5000)),
        );
        assert_eq!(e.message.chars().count(), MAX_ERROR_CHARS + 3);
        assert!(!e.retryable);
    }
}
