//! The contract of [`Secrets`]: the same cases run against [`FakeSecrets`]
//! (unit tests here) and against SSM and Secrets Manager in the emulator
//! (`tests/it/contract.rs`).

use std::future::Future;

use crate::FakeSecrets;
use klaxon_core::secrets::SecretRef;
use klaxon_ports::{SecretError, Secrets};

/// Creates secrets in the store under test (an SSM parameter is a
/// SecureString).
pub trait Seed: Sync {
    fn put(&self, secret: &SecretRef, value: &str) -> impl Future<Output = ()> + Send;
}

/// A SecureString parameter reads back decrypted.
pub async fn a_secure_string_parameter_is_read_decrypted<S: Secrets, P: Seed>(
    s: &S,
    p: &P,
    u: &str,
) {
    let secret = SecretRef::Ssm(format!("/klaxon/contract/{u}/slack-token"));
    let value = format!("xoxb-{u}");
    p.put(&secret, &value).await;
    assert_eq!(s.get(&secret).await.unwrap(), value);
}

/// A Secrets Manager secret's string reads back.
pub async fn a_secrets_manager_string_is_read<S: Secrets, P: Seed>(s: &S, p: &P, u: &str) {
    let secret = SecretRef::SecretsManager(format!("klaxon/contract/{u}/hook"));
    let value = format!("https://hooks.example/services/{u}");
    p.put(&secret, &value).await;
    assert_eq!(s.get(&secret).await.unwrap(), value);
}

/// A secret that does not exist is missing, in either store.
pub async fn a_missing_secret_is_missing<S: Secrets>(s: &S, u: &str) {
    for secret in [
        SecretRef::Ssm(format!("/klaxon/contract/{u}/nothing")),
        SecretRef::SecretsManager(format!("klaxon/contract/{u}/nothing")),
    ] {
        assert_eq!(
            s.get(&secret).await,
            Err(SecretError::Missing(secret.clone()))
        );
        assert!(!s.exists(&secret).await.unwrap(), "{secret}");
    }
}

/// A secret that exists is reported as existing, in either store.
pub async fn an_existing_secret_exists<S: Secrets, P: Seed>(s: &S, p: &P, u: &str) {
    for secret in [
        SecretRef::Ssm(format!("/klaxon/contract/{u}/key")),
        SecretRef::SecretsManager(format!("klaxon/contract/{u}/key")),
    ] {
        p.put(&secret, "signing-key").await;
        assert!(s.exists(&secret).await.unwrap(), "{secret}");
    }
}

impl Seed for FakeSecrets {
    async fn put(&self, secret: &SecretRef, value: &str) {
        FakeSecrets::put(self, &secret.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "0123456789abcdef";

    #[tokio::test]
    async fn a_secure_string_parameter_is_read_decrypted() {
        let s = FakeSecrets::new();
        super::a_secure_string_parameter_is_read_decrypted(&s, &s, U).await;
    }

    #[tokio::test]
    async fn a_secrets_manager_string_is_read() {
        let s = FakeSecrets::new();
        super::a_secrets_manager_string_is_read(&s, &s, U).await;
    }

    #[tokio::test]
    async fn a_missing_secret_is_missing() {
        super::a_missing_secret_is_missing(&FakeSecrets::new(), U).await;
    }

    #[tokio::test]
    async fn an_existing_secret_exists() {
        let s = FakeSecrets::new();
        super::an_existing_secret_exists(&s, &s, U).await;
    }
}
