//! A status page site in memory: the objects it holds, as a bucket would.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use klaxon_core::incident::{TimelineEntry, TimelineEvent};
use klaxon_core::status_update::UpdateStatus;
use klaxon_ports::{
    BackendError, CACHE_CONTROL, FEED_CONTENT_TYPE, FEED_KEY, PAGE_CONTENT_TYPE, PAGE_KEY,
    RenderedPage, StatusPages,
};

/// A status update posted by `by` at `when` (RFC 3339), keyed by its time.
pub fn status_update(when: &str, status: UpdateStatus, message: &str, by: &str) -> TimelineEntry {
    TimelineEntry::new(
        when.parse().expect("an RFC 3339 time"),
        format!("update-{when}"),
        TimelineEvent::StatusUpdate {
            status,
            message: message.into(),
            by: by.into(),
        },
    )
}

/// An object as stored: body and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub body: String,
    pub content_type: String,
    pub cache_control: String,
}

#[derive(Debug, Default)]
struct State {
    published: Vec<RenderedPage>,
    objects: BTreeMap<String, StoredObject>,
    failures: Vec<BackendError>,
}

/// Records every publish and holds the objects it wrote.
#[derive(Debug, Default)]
pub struct FakeStatusPages {
    state: Mutex<State>,
}

impl FakeStatusPages {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last page published, if any.
    pub fn last(&self) -> Option<RenderedPage> {
        self.lock().published.last().cloned()
    }

    /// How many times a page was published.
    pub fn publishes(&self) -> usize {
        self.lock().published.len()
    }

    /// The object at `key` (`index.html`, `status.json`).
    pub fn object(&self, key: &str) -> Option<StoredObject> {
        self.lock().objects.get(key).cloned()
    }

    /// The next publish fails with `error` and writes nothing.
    pub fn fail_next(&self, error: BackendError) {
        self.lock().failures.push(error);
    }
}

impl StatusPages for FakeStatusPages {
    async fn publish(&self, page: &RenderedPage) -> Result<(), BackendError> {
        let mut s = self.lock();
        if let Some(e) = s.failures.pop() {
            return Err(e);
        }
        for (key, body, content_type) in [
            (FEED_KEY, &page.json, FEED_CONTENT_TYPE),
            (PAGE_KEY, &page.html, PAGE_CONTENT_TYPE),
        ] {
            s.objects.insert(
                key.to_string(),
                StoredObject {
                    body: body.clone(),
                    content_type: content_type.to_string(),
                    cache_control: CACHE_CONTROL.to_string(),
                },
            );
        }
        s.published.push(page.clone());
        Ok(())
    }
}
