//! The HTTP adapter of [`Endpoints`] (feature `http`): hyper over the
//! process's one HTTPS connector ([`klaxon_https::connector`], the
//! one the AWS SDK's client uses), retries through backon. Only the
//! delivery function links it. The client is built on the first delivery,
//! so an event that posts nothing costs nothing.
//!
//! Webhook URLs and headers are secrets (a Slack incoming-webhook URL is
//! its own credential): logs and errors name the URL's host only, never
//! its path, query or headers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use backon::{Backoff, BackoffBuilder, ExponentialBuilder, Retryable};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::RngExt;
use tokio::time::{Instant, timeout_at};

use klaxon_https::{Https, TlsSetupError};
use klaxon_ports::{
    Endpoints, HttpDelivered, HttpFailure, HttpRequest, RetryPolicy, Sleep, StatusClass,
};
use klaxon_system::TokioSleep;

/// The most of an answer's body kept.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const AGENT: &str = concat!("klaxon/", env!("CARGO_PKG_VERSION"));

type HttpsClient = Client<Https, Full<Bytes>>;

/// POSTs JSON with the retry rules of [`Endpoints`], waiting through `S`.
pub struct HttpEndpoints<S = TokioSleep> {
    /// Built on the first post: the TLS configuration, or why it cannot be.
    client: OnceLock<Result<HttpsClient, TlsSetupError>>,
    policy: RetryPolicy,
    sleep: Arc<S>,
}

impl HttpEndpoints<TokioSleep> {
    /// Endpoints that wait on the Tokio timer.
    pub fn new(policy: RetryPolicy) -> Self {
        Self::with_sleep(policy, Arc::new(TokioSleep))
    }
}

impl<S: Sleep + 'static> HttpEndpoints<S> {
    /// Endpoints that wait through `sleep` between attempts (tests pass
    /// one that records the waits instead of waiting).
    pub fn with_sleep(policy: RetryPolicy, sleep: Arc<S>) -> Self {
        Self {
            client: OnceLock::new(),
            policy,
            sleep,
        }
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The client over the process's TLS configuration (rustls + ring,
    /// Mozilla's roots compiled in, a private CA added by
    /// KLAXON_EXTRA_CA_FILE). Redirects are not followed: a redirect is a
    /// refusal (StatusClass), never a re-POST elsewhere.
    fn client(&self) -> Result<&HttpsClient, Failed> {
        self.client
            .get_or_init(|| {
                let https = klaxon_https::connector(klaxon_https::tls_config()?, None);
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(|e| Failed {
                status: None,
                // Retrying cannot mend the file the variable names.
                error: format!("the HTTP client cannot be built: {e}"),
                retryable: false,
                retry_after: None,
            })
    }

    /// One attempt: the status and body of an accepted answer, or why not.
    /// The timeout covers the whole exchange, as the policy says.
    async fn attempt(&self, url: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Answer, Failed> {
        let client = self.client()?;
        let deadline = Instant::now() + self.policy.timeout;
        let mut request = Request::post(url.clone())
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| Failed {
                status: None,
                error: format!("request failed: {e}"),
                retryable: false,
                retry_after: None,
            })?;
        *request.headers_mut() = headers.clone();
        let response = match timeout_at(deadline, client.request(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(network_failure(&e)),
            Err(_) => return Err(self.timed_out()),
        };
        let status = response.status();
        match StatusClass::of(status.as_u16()) {
            StatusClass::Accepted => Ok(Answer {
                status: status.as_u16(),
                body: read_limited(response, deadline).await,
            }),
            class => Err(Failed {
                status: Some(status.as_u16()),
                error: status_text(status),
                retryable: class == StatusClass::Retry,
                retry_after: response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, jiff::Timestamp::now())),
            }),
        }
    }

    fn timed_out(&self) -> Failed {
        Failed {
            status: None,
            error: format!("timed out after {}", seconds(self.policy.timeout)),
            retryable: true,
            retry_after: None,
        }
    }
}

/// A connection that failed or broke: retried, like a 5xx.
fn network_failure(e: &hyper_util::client::legacy::Error) -> Failed {
    let kind = if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    Failed {
        status: None,
        error: describe(kind, e),
        retryable: true,
        retry_after: None,
    }
}

impl<S: Sleep + 'static> Endpoints for HttpEndpoints<S> {
    async fn post(&self, request: &HttpRequest) -> Result<HttpDelivered, HttpFailure> {
        let (url, headers) = prepare(request)?;
        let host = url.host().unwrap_or("?").to_string();
        let attempts = AtomicU32::new(0);
        let policy = self.policy;
        let sleep = Arc::clone(&self.sleep);
        let outcome = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(&url, &headers, &request.body).await
        })
        .retry(backoff(&policy))
        .sleep(move |wait| {
            let sleep = Arc::clone(&sleep);
            async move { sleep.sleep(wait).await }
        })
        .when(|f: &Failed| f.retryable)
        .adjust(|f, next| next.map(|d| wait(d, f.retry_after, policy.max_delay)))
        .notify(|f, delay| {
            tracing::warn!(
                host = %host,
                status = ?f.status,
                error = %f.error,
                wait_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "delivery attempt failed; retrying"
            );
        })
        .await;
        let attempts = attempts.load(Ordering::Relaxed);
        match outcome {
            Ok(answer) => {
                tracing::info!(host = %host, status = answer.status, attempts, "delivered");
                Ok(HttpDelivered {
                    status: answer.status,
                    body: answer.body,
                    attempts,
                })
            }
            Err(f) => {
                tracing::warn!(
                    host = %host,
                    status = ?f.status,
                    error = %f.error,
                    attempts,
                    retryable = f.retryable,
                    "delivery failed"
                );
                Err(HttpFailure {
                    status: f.status,
                    error: f.error,
                    attempts,
                    retryable: f.retryable,
                })
            }
        }
    }
}

/// An accepted answer.
struct Answer {
    status: u16,
    body: String,
}

/// A failed attempt.
#[derive(Debug)]
struct Failed {
    status: Option<u16>,
    error: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

/// The URL and headers of a request, or why it cannot be sent (no attempt
/// made). Neither the URL nor a header's value is in the error.
fn prepare(request: &HttpRequest) -> Result<(Uri, HeaderMap), HttpFailure> {
    let refuse = |error: String| HttpFailure {
        status: None,
        error,
        attempts: 0,
        retryable: false,
    };
    let url: Uri = request
        .url
        .parse()
        .map_err(|e| refuse(format!("invalid URL: {e}")))?;
    if !matches!(url.scheme_str(), Some("https" | "http")) {
        return Err(refuse("invalid URL: not http(s)".into()));
    }
    if url.host().is_none_or(str::is_empty) {
        return Err(refuse("invalid URL: no host".into()));
    }
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    for (name, value) in &request.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| refuse(format!("invalid header name `{name}`")))?;
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| refuse(format!("invalid value of header `{name}`")))?;
        value.set_sensitive(true);
        headers.insert(header, value);
    }
    Ok((url, headers))
}

/// Exponential backoff (base, doubling, capped), one wait fewer than the
/// attempts, each drawn with full jitter: uniformly in `[0, backoff]`.
fn backoff(policy: &RetryPolicy) -> impl Backoff {
    ExponentialBuilder::default()
        .with_min_delay(policy.base_delay)
        .with_max_delay(policy.max_delay)
        .with_factor(2.0)
        .with_max_times(usize::try_from(policy.max_attempts.saturating_sub(1)).unwrap_or(0))
        .build()
        .map(full_jitter)
}

fn full_jitter(backoff: Duration) -> Duration {
    backoff.mul_f64(rand::rng().random::<f64>())
}

/// The wait before the next attempt: the backoff, or longer when the
/// endpoint asked (`Retry-After`), never longer than `max`.
fn wait(backoff: Duration, retry_after: Option<Duration>, max: Duration) -> Duration {
    retry_after
        .map_or(backoff, |asked| backoff.max(asked))
        .min(max)
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (in the past:
/// no wait). Anything else is ignored.
fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// `HTTP 404 Not Found`.
fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// `10s`, or `250ms` under a second.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `kind`, then the error and its causes, without the URL (hyper's errors
/// never hold it).
fn describe(kind: &str, e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = kind.to_string();
    let mut source = Some(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The body's first [`MAX_BODY_BYTES`], read until `deadline`. A 2xx was
/// accepted even if its body cannot be read to the end: what was read is
/// kept, and the request is not sent again.
async fn read_limited(response: Response<Incoming>, deadline: Instant) -> String {
    let mut incoming = response.into_body();
    let mut body = Vec::new();
    while body.len() < MAX_BODY_BYTES {
        match timeout_at(deadline, incoming.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(chunk) = frame.into_data() {
                    let room = MAX_BODY_BYTES - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                tracing::warn!(error = %describe("reading the answer failed", &e), "an accepted answer's body was cut short");
                break;
            }
            Err(_) => {
                tracing::warn!("an accepted answer's body was cut short: timed out");
                break;
            }
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records the waits instead of waiting.
    #[derive(Default)]
    struct Waits(Mutex<Vec<Duration>>);

    impl Sleep for Waits {
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_or_as_an_http_date() {
        let now: jiff::Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Sun, 01 Mar 2026 08:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Sun, 01 Mar 2026 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past asks for no wait"
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn a_retry_after_lengthens_the_wait_but_never_past_the_maximum() {
        let max = Duration::from_secs(20);
        let backoff = Duration::from_millis(300);
        assert_eq!(wait(backoff, None, max), backoff);
        assert_eq!(
            wait(backoff, Some(Duration::from_secs(5)), max),
            Duration::from_secs(5)
        );
        assert_eq!(wait(backoff, Some(Duration::ZERO), max), backoff);
        assert_eq!(wait(backoff, Some(Duration::from_secs(3600)), max), max);
    }

    #[test]
    fn the_backoff_doubles_from_the_base_with_full_jitter_one_wait_fewer_than_attempts() {
        let p = RetryPolicy::default();
        let waits: Vec<Duration> = backoff(&p).collect();
        assert_eq!(waits.len(), 4);
        for (i, w) in waits.iter().enumerate() {
            let ceiling = p.base_delay * 2u32.pow(u32::try_from(i).unwrap());
            assert!(*w <= ceiling, "wait {i}: {w:?} > {ceiling:?}");
        }
        let single = RetryPolicy {
            max_attempts: 1,
            ..p
        };
        assert_eq!(backoff(&single).count(), 0);
    }

    #[test]
    fn a_status_is_described_with_its_reason() {
        assert_eq!(status_text(StatusCode::NOT_FOUND), "HTTP 404 Not Found");
        assert_eq!(status_text(StatusCode::from_u16(599).unwrap()), "HTTP 599");
        assert_eq!(seconds(Duration::from_secs(10)), "10s");
        assert_eq!(seconds(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn a_bad_url_or_header_is_refused_without_an_attempt_or_its_value() {
        let request = |url: &str, header: (&str, &str)| HttpRequest {
            url: url.into(),
            headers: vec![(header.0.into(), header.1.into())],
            body: b"{}".to_vec(),
        };
        let f = prepare(&request("hooks.example/T0/SECRET", ("a", "b"))).unwrap_err();
        assert_eq!((f.attempts, f.retryable), (0, false));
        assert!(!f.error.contains("SECRET"), "{}", f.error);
        let f = prepare(&request("ftp://h/x", ("a", "b"))).unwrap_err();
        assert!(f.error.contains("not http"), "{}", f.error);
        let f = prepare(&request(
            "https://h/x",
            ("Authorization", "Bearer SECRET\n"),
        ))
        .unwrap_err();
        assert!(f.error.contains("Authorization"), "{}", f.error);
        assert!(!f.error.contains("SECRET"), "{}", f.error);
        let (_, headers) = prepare(&request("https://h/x", ("X-Klaxon-Event-Id", "e1"))).unwrap();
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        assert_eq!(headers["x-klaxon-event-id"], "e1");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_retried_to_the_limit_and_the_error_hides_the_url() {
        // Bind, then close: nothing listens on the port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let waits = Arc::new(Waits::default());
        let endpoints = HttpEndpoints::with_sleep(policy(), Arc::clone(&waits));
        let f = endpoints
            .post(&HttpRequest {
                url: format!("http://127.0.0.1:{port}/hook?token=SECRET"),
                headers: vec![],
                body: b"{}".to_vec(),
            })
            .await
            .unwrap_err();
        assert_eq!(f.attempts, 3);
        assert!(f.retryable);
        assert_eq!(f.status, None);
        assert!(f.error.starts_with("connection failed"), "{}", f.error);
        assert!(!f.error.contains("SECRET"), "{}", f.error);
        let waits = waits.0.lock().unwrap().clone();
        assert_eq!(waits.len(), 2, "a wait between attempts: {waits:?}");
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(1)));
    }
}
