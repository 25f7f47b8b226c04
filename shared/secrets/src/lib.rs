//! Secrets from SSM Parameter Store (read decrypted, so a SecureString
//! works) and Secrets Manager (the secret's string value), feature
//! `secrets`. Values are returned, never logged.

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use klaxon_aws::{backend_error, error_code};
use klaxon_core::secrets::SecretRef;
use klaxon_ports::{BackendError, SecretError, Secrets};

/// Error codes meaning the parameter or secret is not there.
const MISSING_CODES: &[&str] = &[
    "ParameterNotFound",
    "ParameterVersionNotFound",
    "ResourceNotFoundException",
];

/// Reads secrets from both stores.
#[derive(Clone, Debug)]
pub struct AwsSecrets {
    ssm: klaxon_aws::OnFirstUse<aws_sdk_ssm::Client>,
    secrets_manager: klaxon_aws::OnFirstUse<aws_sdk_secretsmanager::Client>,
}

impl AwsSecrets {
    /// Each store's client is built on the first secret read from it.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            ssm: klaxon_aws::OnFirstUse::new(sdk, aws_sdk_ssm::Client::new),
            secrets_manager: klaxon_aws::OnFirstUse::new(sdk, aws_sdk_secretsmanager::Client::new),
        }
    }

    pub fn new(ssm: aws_sdk_ssm::Client, secrets_manager: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            ssm: klaxon_aws::OnFirstUse::ready(ssm),
            secrets_manager: klaxon_aws::OnFirstUse::ready(secrets_manager),
        }
    }

    async fn parameter(&self, name: &str, decrypt: bool) -> Result<Option<String>, ReadError> {
        let out = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(decrypt)
            .send()
            .await
            .map_err(|e| ReadError::of("SSM", "GetParameter", e))?;
        Ok(out.parameter.and_then(|p| p.value))
    }
}

/// An SDK error, sorted as a [`SecretError`] needs.
enum ReadError {
    Missing,
    Denied(String),
    Unavailable(String),
}

impl ReadError {
    /// Not found → missing; throttling, 5xx, network → unavailable; any
    /// other refusal (access denied, a KMS key disabled or not usable) →
    /// denied.
    fn of<E>(service: &'static str, operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = error_code(&err).map(str::to_owned);
        let server_fault = err
            .raw_response()
            .is_some_and(|r| r.status().is_server_error());
        Self::sort(
            code.as_deref(),
            server_fault,
            backend_error(service, operation, err),
        )
    }

    fn sort(code: Option<&str>, server_fault: bool, e: BackendError) -> Self {
        if code.is_some_and(|code| MISSING_CODES.contains(&code)) {
            Self::Missing
        } else if e.retryable || server_fault {
            Self::Unavailable(e.to_string())
        } else {
            Self::Denied(e.to_string())
        }
    }

    fn about(self, secret: &SecretRef) -> SecretError {
        match self {
            Self::Missing => SecretError::Missing(secret.clone()),
            Self::Denied(message) => SecretError::Denied {
                secret: secret.clone(),
                message,
            },
            Self::Unavailable(message) => SecretError::Unavailable {
                secret: secret.clone(),
                message,
            },
        }
    }
}

impl Secrets for AwsSecrets {
    async fn get(&self, secret: &SecretRef) -> Result<String, SecretError> {
        let value = match secret {
            SecretRef::Ssm(name) => self.parameter(name, true).await,
            SecretRef::SecretsManager(id) => self
                .secrets_manager
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map(|out| out.secret_string)
                .map_err(|e| ReadError::of("Secrets Manager", "GetSecretValue", e)),
        };
        value
            .map_err(|e| e.about(secret))?
            .ok_or_else(|| SecretError::Missing(secret.clone()))
    }

    /// SSM: the parameter, not decrypted. Secrets Manager: the secret's
    /// description (a secret scheduled for deletion cannot be read, so it
    /// does not count).
    async fn exists(&self, secret: &SecretRef) -> Result<bool, SecretError> {
        let found = match secret {
            SecretRef::Ssm(name) => self.parameter(name, false).await.map(|v| v.is_some()),
            SecretRef::SecretsManager(id) => self
                .secrets_manager
                .describe_secret()
                .secret_id(id)
                .send()
                .await
                .map(|out| out.deleted_date.is_none())
                .map_err(|e| ReadError::of("Secrets Manager", "DescribeSecret", e)),
        };
        match found {
            Ok(found) => Ok(found),
            Err(ReadError::Missing) => Ok(false),
            Err(e) => Err(e.about(secret)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(code: &str, server_fault: bool, retryable: bool) -> SecretError {
        let e = BackendError {
            service: "SSM",
            operation: "GetParameter",
            message: format!("{code}: refused"),
            retryable,
        };
        ReadError::sort(Some(code), server_fault, e).about(&SecretRef::Ssm("/klaxon/token".into()))
    }

    #[test]
    fn not_found_is_missing_denial_is_denied_and_throttling_or_5xx_is_unavailable() {
        for missing in ["ParameterNotFound", "ResourceNotFoundException"] {
            let e = sorted(missing, false, false);
            assert_eq!(
                e,
                SecretError::Missing(SecretRef::Ssm("/klaxon/token".into()))
            );
        }
        for denied in ["AccessDeniedException", "InvalidKeyId", "DecryptionFailure"] {
            let e = sorted(denied, false, false);
            assert!(matches!(e, SecretError::Denied { .. }), "{denied}: {e:?}");
            assert!(e.to_string().contains(denied), "{e}");
        }
        assert!(sorted("ThrottlingException", false, true).retryable());
        assert!(sorted("InternalServerError", true, false).retryable());
    }
}
