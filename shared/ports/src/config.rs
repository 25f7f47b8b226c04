//! The applied on-call configuration.

use std::future::Future;
use std::sync::Arc;

use super::BackendError;
use klaxon_config::{ConfigError, OncallConfig};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    #[error("no configuration has been applied yet (run `klaxon config apply`)")]
    Missing,
    #[error("stored configuration is invalid: {0}")]
    Invalid(#[from] ConfigError),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Where the functions read the current configuration.
pub trait ConfigSource: Send + Sync {
    fn current(&self) -> impl Future<Output = Result<Arc<OncallConfig>, ConfigLoadError>> + Send;
}
