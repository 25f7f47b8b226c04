//! The status page: the status page function's handler, which publishes
//! the page again after each stream batch that changed an incident, and
//! the writer, which reads the incidents the page can show, builds the page
//! ([`klaxon_core::status_page`]), renders it and publishes the HTML page
//! and the JSON feed.
//!
//! The page has its own function (and S3 client), off by default, so the
//! notifier does not carry S3 for stacks without a page.
//!
//! It reads open incidents and those opened this month and last month (by
//! UTC month, without a scan), so an incident resolved in the last seven
//! days is shown unless it was open for more than a month.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::AppError;
use crate::publisher::retry_from;
use klaxon_core::incident::{Incident, TimelineEntry};
use klaxon_core::notifications::is_delivery_outcome;
use klaxon_core::status_page::{StatusPage, html, is_shown};
use klaxon_ports::StreamRecord;
use klaxon_ports::{Clock, ConfigSource, Incidents, RenderedPage, StatusPages};

/// What a stream batch came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefreshReport {
    /// Whether the page was published again.
    pub published: bool,
    /// The record to retry from, and why.
    pub failed_at: Option<(String, String)>,
}

impl RefreshReport {
    /// The answer to the event source mapping: retry from the batch's last
    /// change, if publishing failed.
    pub fn response(&self) -> aws_lambda_events::streams::DynamoDbEventResponse {
        retry_from(self.failed_at.as_ref())
    }
}

/// The status page function's handler: committed timeline entries from
/// the incidents table's stream -> the page published again, once per
/// batch that changed something (delivery outcomes change nothing shown).
pub struct StatusPageRefresh<'a, I, C, P> {
    pub incidents: &'a I,
    pub config: &'a C,
    pub pages: &'a P,
    pub clock: &'a dyn Clock,
}

impl<I: Incidents, C: ConfigSource, P: StatusPages> StatusPageRefresh<'_, I, C, P> {
    pub async fn handle(&self, records: &[StreamRecord]) -> RefreshReport {
        let mut report = RefreshReport::default();
        // An unreadable entry may still be a change: the page is read from
        // the table, not from the records.
        let changed = records.iter().rev().find(|r| match r {
            StreamRecord::Entry { entry, .. } => !is_delivery_outcome(&entry.event),
            StreamRecord::Unreadable { .. } => true,
            StreamRecord::Other { .. } => false,
        });
        let Some(last) = changed else {
            return report;
        };
        match self.refresh().await {
            Ok(published) => report.published = published,
            Err(reason) => {
                tracing::warn!(%reason, "the status page was not published; the batch is retried from its last change");
                report.failed_at = Some((last.sequence().to_string(), reason));
            }
        }
        tracing::info!(
            published = report.published,
            records = records.len(),
            "stream batch read for the status page"
        );
        report
    }

    /// Publishes the page, if the configuration asks for one; whether it did.
    async fn refresh(&self) -> Result<bool, String> {
        let config = self.config.current().await.map_err(|e| e.to_string())?;
        let Some(title) = config.status_page_title() else {
            return Ok(false);
        };
        let writer = StatusPageWriter {
            incidents: self.incidents,
            pages: self.pages,
        };
        writer
            .refresh(title, &config.status_page_services(), self.clock.now())
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }
}

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
