//! The applied configuration, in the config table (`pk = CURRENT`): the
//! YAML as applied, readable in the console, with its revision.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use jiff::Timestamp;

use super::items::{ConfigItem, from_item, n, s, to_item};
use klaxon_config::OncallConfig;
use klaxon_core::time::iso;
use klaxon_ports::{BackendError, ConfigLoadError, ConfigSource};

const CONFIG_PK: &str = "CURRENT";

/// Reads and writes the current configuration in the config table, and
/// caches it for the functions.
#[derive(Debug)]
pub struct DynamoConfig {
    client: Client,
    table: String,
    ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<OncallConfig>)>>,
}

/// A stored configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConfig {
    pub yaml: String,
    pub revision: u64,
    pub applied_at: String,
    pub applied_by: String,
}

impl DynamoConfig {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>, ttl: Duration) -> Self {
        Self::new(Client::new(sdk), table, ttl)
    }

    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
            cache: Mutex::new(None),
        }
    }

    /// The stored document, if any.
    pub async fn load(&self) -> Result<Option<StoredConfig>, BackendError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(CONFIG_PK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| crate::backend_error("DynamoDB", "GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let item: ConfigItem = from_item(item, "configuration")?;
        Ok(Some(StoredConfig {
            yaml: item.yaml,
            revision: item.revision,
            applied_at: item.applied_at,
            applied_by: item.applied_by,
        }))
    }

    /// Stores a document as the new revision; callers validate it first.
    /// Fails if someone else applied in between (`expected_revision` no
    /// longer current).
    pub async fn store(
        &self,
        yaml: &str,
        applied_by: &str,
        expected_revision: u64,
    ) -> Result<u64, BackendError> {
        let revision = expected_revision + 1;
        let item = to_item(&ConfigItem {
            pk: CONFIG_PK.into(),
            yaml: yaml.into(),
            revision,
            applied_at: iso(Timestamp::now()),
            applied_by: applied_by.into(),
        })?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR revision = :expected")
            .expression_attribute_values(":expected", n(expected_revision))
            .send()
            .await;
        match result {
            Ok(_) => Ok(revision),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(BackendError {
                    service: "DynamoDB",
                    operation: "PutItem",
                    message: format!(
                        "configuration changed since revision {expected_revision}; apply again"
                    ),
                    retryable: true,
                })
            }
            Err(e) => Err(crate::backend_error("DynamoDB", "PutItem", e)),
        }
    }
}

impl ConfigSource for DynamoConfig {
    async fn current(&self) -> Result<Arc<OncallConfig>, ConfigLoadError> {
        if let Ok(guard) = self.cache.lock()
            && let Some((at, config)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(config));
        }
        let stored = self.load().await?.ok_or(ConfigLoadError::Missing)?;
        let config = Arc::new(OncallConfig::from_yaml(&stored.yaml)?);
        if let Ok(mut guard) = self.cache.lock() {
            *guard = Some((Instant::now(), Arc::clone(&config)));
        }
        Ok(config)
    }
}
