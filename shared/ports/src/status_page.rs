//! Where the public status page goes: a static site (an S3 bucket behind
//! whatever serves it), rewritten whole on every change.

use std::future::Future;

use super::BackendError;

/// The page's object, relative to the site's root.
pub const PAGE_KEY: &str = "index.html";
/// The JSON feed's object, relative to the site's root.
pub const FEED_KEY: &str = "status.json";
pub const PAGE_CONTENT_TYPE: &str = "text/html; charset=utf-8";
pub const FEED_CONTENT_TYPE: &str = "application/json";
/// Visitors and caches see a change within half a minute.
pub const CACHE_CONTROL: &str = "public, max-age=30";

/// The status page as published: the HTML page and the JSON feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPage {
    pub html: String,
    pub json: String,
}

/// Publishes the status page. Publishing replaces what was there, so
/// publishing the same page again changes nothing.
pub trait StatusPages: Send + Sync {
    /// Writes the page as [`PAGE_KEY`] and the feed as [`FEED_KEY`], with
    /// their content types and [`CACHE_CONTROL`].
    fn publish(&self, page: &RenderedPage)
    -> impl Future<Output = Result<(), BackendError>> + Send;
}
