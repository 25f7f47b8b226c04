//! Alarm tags from CloudWatch (`ListTagsForResource`).

use std::collections::BTreeMap;

use super::backend_error;
use crate::ports::{AlarmTags, BackendError};

#[derive(Clone, Debug)]
pub struct CloudWatchTags {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchTags {
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_cloudwatch::Client::new(sdk))
    }

    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

impl AlarmTags for CloudWatchTags {
    async fn tags(&self, alarm_arn: &str) -> Result<BTreeMap<String, String>, BackendError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(alarm_arn)
            .send()
            .await
            .map_err(|e| backend_error("CloudWatch", "ListTagsForResource", e))?;
        Ok(out
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
            .collect())
    }
}
