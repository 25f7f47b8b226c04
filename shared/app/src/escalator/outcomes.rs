//! What the pages of one escalator run came to: each page's result
//! ([`Sent`]) folded into what the step answers the workflow.

use jiff::{SignedDuration, Timestamp};
use tracing::warn;

use crate::AppError;
use klaxon_core::escalation::PageRetry;
use klaxon_ports::StepResult;

/// What happened to one due notification.
pub(super) enum Sent {
    Done,
    /// The incident was acknowledged or resolved: stop.
    Stop,
    /// Not sent yet: to be tried again at this time (a failed send's
    /// backoff, or the end of another run's claim on it).
    Later(Timestamp),
}

/// What the pages of one run came to, besides those sent.
pub(super) struct Outcomes {
    /// How soon a page that could not be attempted is tried again.
    soon: SignedDuration,
    /// The earliest time a page is to be tried again.
    later: Option<Timestamp>,
    /// The first error a retry cannot fix (reported once every page was tried).
    fatal: Option<AppError>,
}

impl Outcomes {
    pub(super) fn new(retry: &PageRetry) -> Self {
        Self {
            soon: retry.first,
            later: None,
            fatal: None,
        }
    }

    /// Whether a page is still to be retried, or failed for good.
    pub(super) fn pending(&self) -> bool {
        self.later.is_some() || self.fatal.is_some()
    }

    fn later(&mut self, at: Timestamp) {
        self.later = Some(self.later.map_or(at, |l| l.min(at)));
    }

    /// Takes one page's result in; `true` when paging must stop.
    pub(super) fn take(&mut self, result: Result<Sent, AppError>, now: Timestamp) -> bool {
        match result {
            Ok(Sent::Done) => false,
            Ok(Sent::Stop) => true,
            Ok(Sent::Later(at)) => {
                self.later(at);
                false
            }
            // A store or configuration error on this page: the others go on,
            // and this one comes again with the next run.
            Err(e) if e.retryable() => {
                warn!(error = %e, "page not attempted; tried again shortly");
                self.later(now + self.soon);
                false
            }
            Err(e) => {
                self.fatal.get_or_insert(e);
                false
            }
        }
    }

    /// What step `index` answers: `planned`, or step `index` again sooner
    /// when a page is to be retried before then; the first fatal error
    /// instead, once every page was tried.
    pub(super) fn settle(
        self,
        index: u32,
        planned: StepResult,
        now: Timestamp,
    ) -> Result<StepResult, AppError> {
        if let Some(e) = self.fatal {
            return Err(e);
        }
        let Some(at) = self.later else {
            return Ok(planned);
        };
        // Rounded up: a step that came back early would only wait again.
        let secs = at
            .duration_since(now)
            .as_secs_f64()
            .ceil()
            .clamp(1.0, f64::from(u32::MAX)) as u32;
        if planned.done || secs < planned.wait_seconds {
            // The same step again: it retries the page, and sends whatever
            // else of its level is due by then.
            return Ok(StepResult {
                step: index,
                wait_seconds: secs,
                done: false,
                ..planned
            });
        }
        Ok(planned)
    }
}
