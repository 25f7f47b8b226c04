//! Secrets kept in memory for a while, so a warm function does not read
//! each secret again for every event. Values stay in the process only.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

use klaxon_core::secrets::SecretRef;
use klaxon_ports::{Clock, SecretError, Secrets};

/// How long a value read is used before it is read again (a rotated
/// secret is picked up within this).
pub const DEFAULT_TTL: SignedDuration = SignedDuration::from_mins(5);

/// A [`Secrets`] in front of another: values read are kept for a TTL;
/// failures are not kept.
pub struct CachedSecrets<S, C> {
    inner: S,
    clock: C,
    ttl: SignedDuration,
    values: Mutex<HashMap<SecretRef, (String, Timestamp)>>,
}

impl<S: Secrets, C: Clock> CachedSecrets<S, C> {
    pub fn new(inner: S, clock: C) -> Self {
        Self {
            inner,
            clock,
            ttl: DEFAULT_TTL,
            values: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_ttl(mut self, ttl: SignedDuration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Drops a kept value (an endpoint refused it: it may have rotated).
    pub fn forget(&self, secret: &SecretRef) {
        self.lock().remove(secret);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SecretRef, (String, Timestamp)>> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S: Secrets, C: Clock> Secrets for CachedSecrets<S, C> {
    async fn get(&self, secret: &SecretRef) -> Result<String, SecretError> {
        let now = self.clock.now();
        if let Some((value, read_at)) = self.lock().get(secret)
            && now < *read_at + self.ttl
            && now >= *read_at
        {
            return Ok(value.clone());
        }
        let value = self.inner.get(secret).await?;
        self.lock().insert(secret.clone(), (value.clone(), now));
        Ok(value)
    }

    async fn exists(&self, secret: &SecretRef) -> Result<bool, SecretError> {
        self.inner.exists(secret).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klaxon_testing::{FakeSecrets, ManualClock, at};

    const TOKEN: &str = "ssm:/klaxon/slack-token";

    fn token() -> SecretRef {
        TOKEN.parse().unwrap()
    }

    #[tokio::test]
    async fn a_value_is_read_once_within_the_ttl_and_again_after_it() {
        let store = FakeSecrets::new();
        store.put(TOKEN, "xoxb-1");
        let cached = CachedSecrets::new(store, ManualClock::at(at(0)));
        assert_eq!(cached.get(&token()).await.unwrap(), "xoxb-1");
        cached.clock.advance(299);
        assert_eq!(cached.get(&token()).await.unwrap(), "xoxb-1");
        assert_eq!(cached.inner.reads(), 1);
        cached.inner.put(TOKEN, "xoxb-2");
        cached.clock.advance(1);
        assert_eq!(cached.get(&token()).await.unwrap(), "xoxb-2", "rotated");
        assert_eq!(cached.inner.reads(), 2);
    }

    #[tokio::test]
    async fn a_failure_is_not_kept_and_a_forgotten_value_is_read_again() {
        let store = FakeSecrets::new();
        let cached = CachedSecrets::new(store, ManualClock::at(at(0)));
        assert_eq!(
            cached.get(&token()).await,
            Err(SecretError::Missing(token()))
        );
        cached.inner.put(TOKEN, "xoxb-1");
        assert_eq!(cached.get(&token()).await.unwrap(), "xoxb-1");
        cached.forget(&token());
        let before = cached.inner.reads();
        cached.get(&token()).await.unwrap();
        assert_eq!(cached.inner.reads(), before + 1);
    }
}
