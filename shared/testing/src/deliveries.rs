//! Fakes of the delivery ports: HTTP endpoints with scripted answers, and
//! a secret store.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use klaxon_core::secrets::SecretRef;
use klaxon_ports::{
    BackendError, Endpoints, HttpDelivered, HttpFailure, HttpRequest, RetryPolicy, SecretError,
    Secrets, StatusClass, UndeliveredNotification, UndeliveredNotifications,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One answer of a scripted endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(u16, String),
    /// The connection failed or timed out: retried, like a 5xx.
    NetworkError,
}

impl Reply {
    pub fn ok(body: &str) -> Self {
        Self::Status(200, body.to_string())
    }
}

/// Endpoints that answer from a script, with the HTTP adapter's retry
/// rules ([`StatusClass`], [`RetryPolicy::max_attempts`]) but no waiting.
/// Unscripted URLs answer `200 ok`.
#[derive(Default)]
pub struct FakeEndpoints {
    policy: RetryPolicy,
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    fallback: Mutex<HashMap<String, Reply>>,
    attempts: Mutex<Vec<HttpRequest>>,
}

impl FakeEndpoints {
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives up after `max_attempts` instead of the default policy's.
    pub fn with_attempts(mut self, max_attempts: u32) -> Self {
        self.policy.max_attempts = max_attempts;
        self
    }

    /// The next answers of `url`, in order (then its fallback).
    pub fn script(&self, url: &str, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.scripts)
            .entry(url.to_string())
            .or_default()
            .extend(replies);
    }

    /// What `url` answers once its script is used up.
    pub fn always(&self, url: &str, reply: Reply) {
        lock(&self.fallback).insert(url.to_string(), reply);
    }

    /// Every attempt made, in order.
    pub fn attempts(&self) -> Vec<HttpRequest> {
        lock(&self.attempts).clone()
    }

    /// The attempts made to `url`.
    pub fn attempts_to(&self, url: &str) -> Vec<HttpRequest> {
        self.attempts()
            .into_iter()
            .filter(|r| r.url == url)
            .collect()
    }

    fn answer(&self, url: &str) -> Reply {
        if let Some(reply) = lock(&self.scripts)
            .get_mut(url)
            .and_then(VecDeque::pop_front)
        {
            return reply;
        }
        lock(&self.fallback)
            .get(url)
            .cloned()
            .unwrap_or_else(|| Reply::ok("ok"))
    }
}

impl Endpoints for FakeEndpoints {
    async fn post(&self, request: &HttpRequest) -> Result<HttpDelivered, HttpFailure> {
        let max = self.policy.max_attempts;
        let mut attempts = 0;
        loop {
            attempts += 1;
            lock(&self.attempts).push(request.clone());
            let (status, error, retry) = match self.answer(&request.url) {
                Reply::Status(status, body) => match StatusClass::of(status) {
                    StatusClass::Accepted => {
                        return Ok(HttpDelivered {
                            status,
                            body,
                            attempts,
                        });
                    }
                    class => (
                        Some(status),
                        format!("HTTP {status}"),
                        class == StatusClass::Retry,
                    ),
                },
                Reply::NetworkError => (None, "connection refused".to_string(), true),
            };
            if !retry || attempts >= max {
                return Err(HttpFailure {
                    status,
                    error,
                    attempts,
                    retryable: retry,
                });
            }
        }
    }
}

/// A secret store in memory; reads can be made to fail.
#[derive(Default)]
pub struct FakeSecrets {
    values: Mutex<BTreeMap<SecretRef, String>>,
    failures: Mutex<BTreeMap<SecretRef, SecretError>>,
    reads: Mutex<u32>,
}

impl FakeSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&self, secret: &str, value: &str) {
        let secret: SecretRef = secret.parse().unwrap_or_else(|e| panic!("{e}"));
        lock(&self.values).insert(secret, value.to_string());
    }

    /// Reads of `secret` fail with `error` from now on.
    pub fn fail(&self, error: SecretError) {
        let secret = match &error {
            SecretError::Missing(s)
            | SecretError::Denied { secret: s, .. }
            | SecretError::Unavailable { secret: s, .. } => s.clone(),
        };
        lock(&self.failures).insert(secret, error);
    }

    /// Values read so far.
    pub fn reads(&self) -> u32 {
        *lock(&self.reads)
    }
}

impl Secrets for FakeSecrets {
    async fn get(&self, secret: &SecretRef) -> Result<String, SecretError> {
        if let Some(e) = lock(&self.failures).get(secret) {
            return Err(e.clone());
        }
        *lock(&self.reads) += 1;
        lock(&self.values)
            .get(secret)
            .cloned()
            .ok_or_else(|| SecretError::Missing(secret.clone()))
    }

    async fn exists(&self, secret: &SecretRef) -> Result<bool, SecretError> {
        if let Some(e) = lock(&self.failures).get(secret)
            && !matches!(e, SecretError::Missing(_))
        {
            return Err(e.clone());
        }
        Ok(lock(&self.values).contains_key(secret))
    }
}

/// The dead-letter queue of deliveries, in memory.
#[derive(Default)]
pub struct FakeUndelivered {
    parked: Mutex<Vec<UndeliveredNotification>>,
    fail_next: Mutex<Option<BackendError>>,
}

impl FakeUndelivered {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn parked(&self) -> Vec<UndeliveredNotification> {
        lock(&self.parked).clone()
    }

    /// The next `park` fails with `error`.
    pub fn fail_next(&self, error: BackendError) {
        *lock(&self.fail_next) = Some(error);
    }
}

impl UndeliveredNotifications for FakeUndelivered {
    async fn park(&self, notification: &UndeliveredNotification) -> Result<(), BackendError> {
        if let Some(e) = lock(&self.fail_next).take() {
            return Err(e);
        }
        lock(&self.parked).push(notification.clone());
        Ok(())
    }
}
