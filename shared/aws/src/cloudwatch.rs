//! Alarm tags from CloudWatch (`ListTagsForResource`).

use std::collections::BTreeMap;

use super::backend_error;
use klaxon_ports::{AlarmTags, BackendError};

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

#[cfg(test)]
mod tests {
    // moto 5.2.5 does not speak the CBOR protocol the CloudWatch SDK uses,
    // so the adapter is checked against a mocked client instead.
    use aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_cloudwatch::types::Tag;
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    const ARN: &str = "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:orders-latency";

    #[tokio::test]
    async fn reads_the_alarms_tags_as_a_map() {
        let rule = mock!(aws_sdk_cloudwatch::Client::list_tags_for_resource)
            .match_requests(|r| r.resource_arn() == Some(ARN))
            .then_output(|| {
                ListTagsForResourceOutput::builder()
                    .tags(Tag::builder().key("team").value("payments").build())
                    .tags(Tag::builder().key("env").value("prod").build())
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
        let tags = CloudWatchTags::new(client).tags(ARN).await.unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags["team"], "payments");
        assert_eq!(tags["env"], "prod");
    }

    /// The alarm tags contract, against CloudWatch's answers as the mocked
    /// client gives them (`ListTagsForResource` on an alarm that does not
    /// exist: `ResourceNotFoundException`).
    fn contract_client() -> CloudWatchTags {
        use aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceError;
        use aws_sdk_cloudwatch::types::error::ResourceNotFoundException;
        use klaxon_testing::contract::tags::{KNOWN, UNKNOWN, known_tags};
        let known = mock!(aws_sdk_cloudwatch::Client::list_tags_for_resource)
            .match_requests(|r| r.resource_arn() == Some(KNOWN))
            .then_output(|| {
                let mut out = ListTagsForResourceOutput::builder();
                for (k, v) in known_tags() {
                    out = out.tags(Tag::builder().key(k).value(v).build());
                }
                out.build()
            });
        let unknown = mock!(aws_sdk_cloudwatch::Client::list_tags_for_resource)
            .match_requests(|r| r.resource_arn() == Some(UNKNOWN))
            .then_error(|| {
                ListTagsForResourceError::ResourceNotFoundException(
                    ResourceNotFoundException::builder()
                        .message("The specified resource does not exist.")
                        .meta(
                            aws_sdk_cloudwatch::error::ErrorMetadata::builder()
                                .code("ResourceNotFoundException")
                                .message("The specified resource does not exist.")
                                .build(),
                        )
                        .build(),
                )
            });
        CloudWatchTags::new(mock_client!(
            aws_sdk_cloudwatch,
            aws_smithy_mocks::RuleMode::MatchAny,
            [&known, &unknown]
        ))
    }

    #[tokio::test]
    async fn contract_a_known_alarms_tags_are_read_as_a_map() {
        klaxon_testing::contract::tags::a_known_alarms_tags_are_read_as_a_map(&contract_client())
            .await;
    }

    #[tokio::test]
    async fn contract_an_unknown_alarm_is_not_found_and_not_retried() {
        klaxon_testing::contract::tags::an_unknown_alarm_is_not_found_and_not_retried(
            &contract_client(),
        )
        .await;
    }

    #[tokio::test]
    async fn an_alarm_without_tags_gives_an_empty_map() {
        let rule = mock!(aws_sdk_cloudwatch::Client::list_tags_for_resource)
            .then_output(|| ListTagsForResourceOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
        assert!(
            CloudWatchTags::new(client)
                .tags(ARN)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
