//! The status page contract: the same cases against
//! [`crate::FakeStatusPages`] (below) and against S3 in the
//! emulator (`tests/it/contract.rs`, read back with `GetObject`).

use std::future::Future;

use crate::StoredObject;
use klaxon_ports::{
    CACHE_CONTROL, FEED_CONTENT_TYPE, FEED_KEY, PAGE_CONTENT_TYPE, PAGE_KEY, RenderedPage,
    StatusPages,
};

fn page(u: &str, n: u32) -> RenderedPage {
    RenderedPage {
        html: format!("<!DOCTYPE html><title>{u}</title><p>決済 · version {n}</p>"),
        json: format!(r#"{{"version":1,"title":"{u}","n":{n}}}"#),
    }
}

/// A publish writes the page and the feed, each with its content type and
/// a short cache lifetime. `read_back` reads an object by its key
/// ([`PAGE_KEY`], [`FEED_KEY`]) relative to the site's root.
pub async fn a_publish_serves_the_page_and_the_feed_with_their_headers<P, R, F>(
    p: &P,
    u: &str,
    read_back: R,
) where
    P: StatusPages,
    R: Fn(&'static str) -> F,
    F: Future<Output = Option<StoredObject>>,
{
    let rendered = page(u, 1);
    p.publish(&rendered).await.unwrap();
    let html = read_back(PAGE_KEY).await.expect("the page was written");
    assert_eq!(html.body, rendered.html);
    assert_eq!(html.content_type, PAGE_CONTENT_TYPE);
    assert_eq!(html.cache_control, CACHE_CONTROL);
    let json = read_back(FEED_KEY).await.expect("the feed was written");
    assert_eq!(json.body, rendered.json);
    assert_eq!(json.content_type, FEED_CONTENT_TYPE);
    assert_eq!(json.cache_control, CACHE_CONTROL);
}

/// A later publish replaces both objects; publishing it again changes
/// nothing.
pub async fn a_later_publish_replaces_the_page_and_the_feed<P, R, F>(p: &P, u: &str, read_back: R)
where
    P: StatusPages,
    R: Fn(&'static str) -> F,
    F: Future<Output = Option<StoredObject>>,
{
    p.publish(&page(u, 1)).await.unwrap();
    let later = page(u, 2);
    p.publish(&later).await.unwrap();
    p.publish(&later).await.unwrap();
    assert_eq!(read_back(PAGE_KEY).await.map(|o| o.body), Some(later.html));
    assert_eq!(read_back(FEED_KEY).await.map(|o| o.body), Some(later.json));
}

#[cfg(test)]
mod tests {
    use crate::FakeStatusPages;

    #[tokio::test]
    async fn a_publish_serves_the_page_and_the_feed_with_their_headers() {
        let p = FakeStatusPages::new();
        super::a_publish_serves_the_page_and_the_feed_with_their_headers(
            &p,
            "0123456789abcdef",
            |key| {
                let o = p.object(key);
                async move { o }
            },
        )
        .await;
    }

    #[tokio::test]
    async fn a_later_publish_replaces_the_page_and_the_feed() {
        let p = FakeStatusPages::new();
        super::a_later_publish_replaces_the_page_and_the_feed(&p, "0123456789abcdef", |key| {
            let o = p.object(key);
            async move { o }
        })
        .await;
    }
}
