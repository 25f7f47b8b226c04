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
/// [`crate::Sleep`], so tests move time instead of waiting.
pub trait Endpoints: Send + Sync {
    fn post(
        &self,
        request: &HttpRequest,
    ) -> impl Future<Output = Result<HttpDelivered, HttpFailure>> + Send;
}

/// How hard a delivery tries: the HTTP adapter and its fake share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; each next one doubles, with full jitter.
    pub base_delay: std::time::Duration,
    /// No single wait is longer, `Retry-After` included.
    pub max_delay: std::time::Duration,
    /// One attempt's time limit (connect, send, read the answer).
    pub timeout: std::time::Duration,
}

impl Default for RetryPolicy {
    /// Five attempts over about 8 s of backoff (0.5, 1, 2, 4 s before
    /// jitter), 10 s per attempt: a delivery gives up within about a minute
    /// and a half, well inside the notifier's time limit.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: std::time::Duration::from_millis(500),
            max_delay: std::time::Duration::from_secs(20),
            timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// What an answer's status means for a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Accepted,
    /// 429 and 5xx: try again (after `Retry-After`, when given).
    Retry,
    /// Any other status: no retry can fix it.
    Refused,
}

impl StatusClass {
    pub fn of(status: u16) -> Self {
        match status {
            200..=299 => Self::Accepted,
            429 | 500..=599 => Self::Retry,
            _ => Self::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        assert_eq!(StatusClass::of(200), StatusClass::Accepted);
        assert_eq!(StatusClass::of(204), StatusClass::Accepted);
        assert_eq!(StatusClass::of(429), StatusClass::Retry);
        assert_eq!(StatusClass::of(500), StatusClass::Retry);
        assert_eq!(StatusClass::of(503), StatusClass::Retry);
        for refused in [301, 400, 401, 403, 404, 410, 422] {
            assert_eq!(StatusClass::of(refused), StatusClass::Refused, "{refused}");
        }
    }
}
