//! HTTP endpoints Klaxon delivers to (Slack's Web API, Slack incoming
//! webhooks, Teams workflow webhooks, users' signed webhooks). Only the
//! delivery function links an HTTP client: the paging path never does.

use std::future::Future;

/// One POST to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub url: String,
    /// Extra headers (`Content-Type: application/json` is always sent).
    pub headers: Vec<(String, String)>,
    /// The JSON body, as sent.
    pub body: Vec<u8>,
}

/// A request the endpoint accepted (2xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpDelivered {
    pub status: u16,
    /// The response body (its first 64 KiB), for APIs that answer in it
    /// (Slack's `{"ok":true,"ts":...}`).
    pub body: String,
    /// Attempts made, this one included.
    pub attempts: u32,
}

/// A request that was not accepted, after every attempt the policy allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} (after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
pub struct HttpFailure {
    /// The last HTTP status, when there was a response.
    pub status: Option<u16>,
    /// What went wrong last, e.g. `HTTP 404 Not Found` or `timed out after 10s`.
    pub error: String,
    pub attempts: u32,
    /// Whether the last failure was one that is retried (429, 5xx, network,
    /// timeout): the attempts ran out. `false` for a refusal (other 4xx,
    /// 3xx), which no retry can fix.
    pub retryable: bool,
}

/// POSTs JSON to endpoints. Retries 429, 5xx, network errors and timeouts
/// with exponential backoff and jitter, waiting at least as long as a
/// `Retry-After` asks; never retries another 4xx. Sleeps through
/// [`crate::ports::Sleep`], so tests move time instead of waiting.
pub trait Endpoints: Send + Sync {
    fn post(
        &self,
        request: &HttpRequest,
    ) -> impl Future<Output = Result<HttpDelivered, HttpFailure>> + Send;
}
