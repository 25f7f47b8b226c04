//! The status page on S3: `index.html` and `status.json` under an optional
//! key prefix of a bucket (served by S3 website hosting or CloudFront).
//! Only the status page function links the S3 SDK (feature `status-page`).

use aws_sdk_s3::primitives::ByteStream;

use klaxon_aws::backend_error;
use klaxon_ports::{
    BackendError, CACHE_CONTROL, FEED_CONTENT_TYPE, FEED_KEY, PAGE_CONTENT_TYPE, PAGE_KEY,
    RenderedPage, StatusPages,
};

/// An S3 client from the shared configuration. Path-style addressing when
/// an endpoint is set (`AWS_ENDPOINT_URL`: an emulator has no per-bucket
/// host names); virtual-hosted style on AWS.
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The status page's site: a bucket and a key prefix.
#[derive(Clone, Debug)]
pub struct S3StatusPages {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3StatusPages {
    pub fn from_sdk(
        sdk: &aws_config::SdkConfig,
        bucket: impl Into<String>,
        prefix: Option<&str>,
    ) -> Self {
        Self::new(client(sdk), bucket, prefix)
    }

    /// `prefix` (`status` or `status/`) puts the objects under `status/`;
    /// none or an empty one, at the bucket's root.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: Option<&str>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: normalise_prefix(prefix),
        }
    }

    /// The object key of `name` (`index.html`).
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn put(&self, name: &str, body: &str, content_type: &str) -> Result<(), BackendError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .content_type(content_type)
            .cache_control(CACHE_CONTROL)
            .send()
            .await
            .map_err(|e| backend_error("S3", "PutObject", e))?;
        Ok(())
    }
}

fn normalise_prefix(prefix: Option<&str>) -> String {
    match prefix.map(|p| p.trim_matches('/')) {
        None | Some("") => String::new(),
        Some(p) => format!("{p}/"),
    }
}

impl StatusPages for S3StatusPages {
    /// The feed first, then the page: a visitor who sees the new page can
    /// also read the new feed.
    async fn publish(&self, page: &RenderedPage) -> Result<(), BackendError> {
        self.put(FEED_KEY, &page.json, FEED_CONTENT_TYPE).await?;
        self.put(PAGE_KEY, &page.html, PAGE_CONTENT_TYPE).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_becomes_one_folder_and_none_is_the_bucket_root() {
        assert_eq!(normalise_prefix(None), "");
        assert_eq!(normalise_prefix(Some("")), "");
        assert_eq!(normalise_prefix(Some("/")), "");
        assert_eq!(normalise_prefix(Some("status")), "status/");
        assert_eq!(normalise_prefix(Some("/public/status/")), "public/status/");
    }
}
