//! The contract of [`Endpoints`]: the same cases run against
//! [`FakeEndpoints`] (unit tests here) and against the HTTP adapter POSTing
//! to the harness's local receiver (`tests/it/contract.rs`).

use std::future::Future;

use crate::{FakeEndpoints, Reply};
use klaxon_ports::{Endpoints, HttpRequest};

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    Status(u16, String),
    /// A status with a `Retry-After` of this many seconds.
    RetryAfter(u16, u64),
}

/// Where a case's answers are scripted and its requests observed.
pub trait Script: Sync {
    /// The URL of `path` (unique to the case).
    fn url(&self, path: &str) -> String;
    /// The next answers of `url`, in order, then `then` for ever.
    fn script(&self, url: &str, answers: Vec<Scripted>, then: Scripted);
    /// The bodies `url` received, one per attempt.
    fn received(&self, url: &str) -> impl Future<Output = Vec<Vec<u8>>> + Send;
}

fn request(url: String, u: &str) -> HttpRequest {
    HttpRequest {
        url,
        headers: vec![("X-Klaxon-Event-Id".into(), format!("evt-{u}"))],
        body: format!(r#"{{"id":"evt-{u}"}}"#).into_bytes(),
    }
}

fn ok() -> Scripted {
    Scripted::Status(200, "ok".into())
}

/// A 500 then a 200: delivered on the second attempt, the same body both
/// times.
pub async fn a_server_error_then_success_delivers_on_the_second_attempt<E: Endpoints, T: Script>(
    e: &E,
    t: &T,
    u: &str,
) {
    let url = t.url(&format!("/hooks/{u}/flaky"));
    t.script(&url, vec![Scripted::Status(500, "oops".into())], ok());
    let sent = request(url.clone(), u);
    let delivered = e.post(&sent).await.unwrap();
    assert_eq!((delivered.status, delivered.attempts), (200, 2));
    assert_eq!(t.received(&url).await, vec![sent.body.clone(), sent.body]);
}

/// A 404 is refused at once: one attempt, not retryable.
pub async fn a_not_found_is_refused_without_a_retry<E: Endpoints, T: Script>(
    e: &E,
    t: &T,
    u: &str,
) {
    let url = t.url(&format!("/hooks/{u}/gone"));
    t.script(&url, vec![], Scripted::Status(404, "no such hook".into()));
    let failure = e.post(&request(url.clone(), u)).await.unwrap_err();
    assert_eq!(failure.status, Some(404));
    assert_eq!(failure.attempts, 1);
    assert!(!failure.retryable);
    assert!(failure.error.starts_with("HTTP 404"), "{}", failure.error);
    assert_eq!(t.received(&url).await.len(), 1);
}

/// A 429 with `Retry-After` is tried again.
pub async fn a_throttled_request_is_retried<E: Endpoints, T: Script>(e: &E, t: &T, u: &str) {
    let url = t.url(&format!("/hooks/{u}/busy"));
    t.script(&url, vec![Scripted::RetryAfter(429, 1)], ok());
    let delivered = e.post(&request(url.clone(), u)).await.unwrap();
    assert_eq!(delivered.attempts, 2);
    assert_eq!(t.received(&url).await.len(), 2);
}

/// An endpoint that always answers 503 gets `max_attempts` attempts, and
/// the failure says a later retry may work.
pub async fn an_endpoint_always_unavailable_gets_every_attempt<E: Endpoints, T: Script>(
    e: &E,
    t: &T,
    u: &str,
    max_attempts: u32,
) {
    let url = t.url(&format!("/hooks/{u}/down"));
    t.script(&url, vec![], Scripted::Status(503, "down".into()));
    let failure = e.post(&request(url.clone(), u)).await.unwrap_err();
    assert_eq!(failure.status, Some(503));
    assert_eq!(failure.attempts, max_attempts);
    assert!(failure.retryable);
    assert_eq!(t.received(&url).await.len(), max_attempts as usize);
}

/// An accepted answer's body comes back (Slack's `ts` is in it).
pub async fn an_accepted_answer_returns_its_body<E: Endpoints, T: Script>(e: &E, t: &T, u: &str) {
    let url = t.url(&format!("/api/{u}/post"));
    let body = format!(r#"{{"ok":true,"ts":"{u}.0001"}}"#);
    t.script(&url, vec![], Scripted::Status(200, body.clone()));
    let delivered = e.post(&request(url, u)).await.unwrap();
    assert_eq!(delivered.body, body);
    assert_eq!(delivered.attempts, 1);
}

/// The fake scripts its own answers (a `Retry-After` is just its status:
/// the fake does not wait).
impl Script for FakeEndpoints {
    fn url(&self, path: &str) -> String {
        format!("https://hooks.example{path}")
    }

    fn script(&self, url: &str, answers: Vec<Scripted>, then: Scripted) {
        let reply = |s: Scripted| match s {
            Scripted::Status(status, body) => Reply::Status(status, body),
            Scripted::RetryAfter(status, _) => Reply::Status(status, String::new()),
        };
        FakeEndpoints::script(self, url, answers.into_iter().map(reply));
        self.always(url, reply(then));
    }

    async fn received(&self, url: &str) -> Vec<Vec<u8>> {
        self.attempts_to(url).into_iter().map(|r| r.body).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "0123456789abcdef";

    #[tokio::test]
    async fn a_server_error_then_success_delivers_on_the_second_attempt() {
        let e = FakeEndpoints::new();
        super::a_server_error_then_success_delivers_on_the_second_attempt(&e, &e, U).await;
    }

    #[tokio::test]
    async fn a_not_found_is_refused_without_a_retry() {
        let e = FakeEndpoints::new();
        super::a_not_found_is_refused_without_a_retry(&e, &e, U).await;
    }

    #[tokio::test]
    async fn a_throttled_request_is_retried() {
        let e = FakeEndpoints::new();
        super::a_throttled_request_is_retried(&e, &e, U).await;
    }

    #[tokio::test]
    async fn an_endpoint_always_unavailable_gets_every_attempt() {
        let e = FakeEndpoints::new().with_attempts(3);
        super::an_endpoint_always_unavailable_gets_every_attempt(&e, &e, U, 3).await;
    }

    #[tokio::test]
    async fn an_accepted_answer_returns_its_body() {
        let e = FakeEndpoints::new();
        super::an_accepted_answer_returns_its_body(&e, &e, U).await;
    }
}
