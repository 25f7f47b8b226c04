//! The status page writer: reads the incidents the page can show, builds
//! the page ([`crate::core::status_page`]), renders it and publishes the
//! HTML page and the JSON feed.
//!
//! It reads open incidents and those opened this month and last month (by
//! UTC month, without a scan), so an incident resolved in the last seven
//! days is shown unless it was open for more than a month.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::AppError;
use crate::core::incident::{Incident, TimelineEntry};
use crate::core::status_page::{StatusPage, html, is_shown};
use crate::ports::{Incidents, RenderedPage, StatusPages};

pub struct StatusPageWriter<'a, I, P> {
    pub incidents: &'a I,
    pub pages: &'a P,
}

/// The UTC months (`2026-12`) of `now` and the month before.
pub fn months(now: Timestamp) -> [String; 2] {
    let date = now.to_zoned(TimeZone::UTC).date();
    let this = date.first_of_month();
    let previous = this.yesterday().map(|d| d.first_of_month()).unwrap_or(this);
    [
        this.strftime("%Y-%m").to_string(),
        previous.strftime("%Y-%m").to_string(),
    ]
}

impl<I: Incidents, P: StatusPages> StatusPageWriter<'_, I, P> {
    /// Builds the page titled `title` for `services` (id, display name) as
    /// of `now` and publishes it; returns what was published.
    pub async fn refresh(
        &self,
        title: &str,
        services: &[(String, String)],
        now: Timestamp,
    ) -> Result<StatusPage, AppError> {
        let mut candidates: Vec<Incident> = self.incidents.list_open().await?;
        for month in months(now) {
            candidates.extend(self.incidents.list_month(&month).await?);
        }
        let mut seen = BTreeSet::new();
        let mut shown: Vec<(Incident, Vec<TimelineEntry>)> = Vec::new();
        for incident in candidates {
            if !is_shown(&incident, services, now) || !seen.insert(incident.id.clone()) {
                continue;
            }
            let timeline = self.incidents.timeline(&incident.id).await?;
            shown.push((incident, timeline));
        }
        let page = StatusPage::build(title, services, &shown, now);
        let rendered = RenderedPage {
            html: html::render(&page),
            json: page.to_json(),
        };
        self.pages.publish(&rendered).await?;
        Ok(page)
    }
}

#[cfg(test)]
mod tests;
