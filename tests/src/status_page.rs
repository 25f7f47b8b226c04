//! The status page function on a local stack (`StatusPage=enabled`): its
//! own event source mapping on the incidents table's stream, the bucket
//! from the template, and the real handler. What a visitor would fetch is
//! read back from the bucket.

use klaxon_app::status_page::{RefreshReport, StatusPageRefresh};
use klaxon_aws::dynamo::{DynamoConfig, DynamoStore, stream};
use klaxon_ports::{FEED_KEY, PAGE_KEY};
use klaxon_runtime::StatusPageSettings;
use klaxon_s3::{S3StatusPages, client};
use klaxon_system::SystemClock;

use crate::{HarnessError, Local, ids, roles, streams};

/// The status page function's wiring on a stack, as the template
/// configures it.
pub struct StatusPageSide {
    pub settings: StatusPageSettings,
    pub stream: streams::StreamMapping,
    /// The function's adapters, signed as its execution role.
    pub store: DynamoStore,
    pub config: DynamoConfig,
    pub pages: S3StatusPages,
    /// The harness's own S3 client, which reads what visitors would.
    s3: aws_sdk_s3::Client,
}

impl StatusPageSide {
    /// The function's wiring, on a stack whose parameters create it.
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        klaxon_sdk: &aws_config::SdkConfig,
        stack: &crate::Stack,
        incidents_table: &str,
        config_table: &str,
    ) -> Result<Option<Self>, HarnessError> {
        if !stack.has(ids::STATUS_PAGE) {
            return Ok(None);
        }
        let env = stack.function_env(ids::STATUS_PAGE)?;
        let settings = StatusPageSettings::from_lookup(|k| env.get(k).cloned())
            .map_err(|e| HarnessError::Template(format!("{}: {e}", ids::STATUS_PAGE)))?;
        let credentials = roles::role_credentials(sdk, stack, ids::STATUS_PAGE).await?;
        let signed = roles::signed(klaxon_sdk, &credentials);
        Ok(Some(Self {
            stream: streams::StreamMapping::deployed(sdk, stack, ids::STATUS_PAGE)?,
            store: DynamoStore::from_sdk(&signed, incidents_table),
            config: DynamoConfig::from_sdk(&signed, config_table, std::time::Duration::ZERO),
            pages: S3StatusPages::from_sdk(&signed, &settings.bucket, None),
            s3: client(sdk),
            settings,
        }))
    }

    /// An object of the page as a visitor gets it, or none yet.
    async fn read(&self, key: &str) -> Result<Option<String>, HarnessError> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_key()) => {
                return Ok(None);
            }
            Err(e) => {
                return Err(HarnessError::Aws(format!(
                    "GetObject {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )));
            }
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{key}: {e}")))?
            .into_bytes();
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|e| HarnessError::Emulator(format!("{key}: {e}")))
    }
}

/// What handing the stream's new records to the status page function
/// came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefreshRound {
    /// How many batches published the page.
    pub published: usize,
    /// The record the function asked to retry from, and why.
    pub failed_at: Option<(String, String)>,
}

type LocalRefresh<'a> = StatusPageRefresh<'a, DynamoStore, DynamoConfig, S3StatusPages>;

impl Local {
    fn status_page_side(&self) -> Result<&StatusPageSide, HarnessError> {
        self.status_page.as_ref().ok_or_else(|| {
            HarnessError::Template(format!("{}: not on this stack", ids::STATUS_PAGE))
        })
    }

    /// The status page function on this stack.
    pub fn status_page_function(&self) -> Result<LocalRefresh<'_>, HarnessError> {
        let side = self.status_page_side()?;
        Ok(StatusPageRefresh {
            incidents: &side.store,
            config: &side.config,
            pages: &side.pages,
            clock: &SystemClock,
        })
    }

    /// What the status page function's event source mapping does with the
    /// records written since its checkpoint (see [`Local::publish_events`]).
    pub async fn refresh_status_page(&self) -> Result<RefreshRound, HarnessError> {
        let side = self.status_page_side()?;
        let function = self.status_page_function()?;
        let mut round = RefreshRound::default();
        side.stream
            .deliver(async |event| {
                let report: RefreshReport = function.handle(&stream::records(event)).await;
                round.published += usize::from(report.published);
                round.failed_at = report.failed_at.clone();
                Ok(report.response())
            })
            .await?;
        Ok(round)
    }

    /// The status page's JSON feed as a visitor fetches it, or none yet.
    pub async fn status_feed(&self) -> Result<Option<serde_json::Value>, HarnessError> {
        let Some(text) = self.status_page_side()?.read(FEED_KEY).await? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| HarnessError::Emulator(format!("{FEED_KEY}: {e}")))
    }

    /// The status page's HTML as a visitor fetches it, or none yet.
    pub async fn status_html(&self) -> Result<Option<String>, HarnessError> {
        self.status_page_side()?.read(PAGE_KEY).await
    }
}
