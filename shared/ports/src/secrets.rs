//! Secrets named in the configuration (Slack tokens, webhook URLs, signing
//! keys), read from SSM Parameter Store or Secrets Manager at delivery
//! time. Their values are never logged and never stored by Klaxon.

use std::future::Future;

use klaxon_core::secrets::SecretRef;

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The parameter or secret does not exist (or has no string value).
    #[error("{0} does not exist")]
    Missing(SecretRef),
    /// The store refused (access denied, KMS key disabled): retrying will
    /// not help until someone fixes it.
    #[error("{secret} cannot be read: {message}")]
    Denied { secret: SecretRef, message: String },
    /// Throttling, a network error, a 5xx: retry later.
    #[error("{secret} could not be read now: {message}")]
    Unavailable { secret: SecretRef, message: String },
}

impl SecretError {
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

pub trait Secrets: Send + Sync {
    /// The secret's current value.
    fn get(&self, secret: &SecretRef) -> impl Future<Output = Result<String, SecretError>> + Send;

    /// Whether the secret exists, without reading its value (for
    /// `klaxon config validate --stack`).
    fn exists(&self, secret: &SecretRef) -> impl Future<Output = Result<bool, SecretError>> + Send;
}
