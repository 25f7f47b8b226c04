//! The handlers each Lambda function runs, written against [`klaxon_ports`].
//! Functions wire them to AWS adapters; tests and the local harness call the
//! same code with the same event JSON AWS would deliver.

pub mod alarm_event;
pub mod calls;
pub mod channels;
pub mod escalator;
pub mod intake;
pub mod notifier;
pub mod operator;
pub mod publisher;
pub mod reply;
pub mod secrets;
pub mod self_test;
pub mod sns;
pub mod status_page;
pub mod sweep;
pub mod voice;
#[cfg(any(test, feature = "testing"))]
pub mod world;

#[cfg(test)]
mod fuzz;

use klaxon_core::alarm::IntakeError;
use klaxon_core::incident::{Actor, TimelineEvent};
use klaxon_ports::{BackendError, ConfigLoadError, Transition};

/// Why a handler failed, and whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The event itself is wrong; retrying the same event cannot help.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Config(#[from] ConfigLoadError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A message (a page, a confirmation) is claimed by another run that
    /// may still send it: a retry after `lease_until` sends it if that run
    /// did not.
    #[error("{what} is claimed by another run until {lease_until}; retry after it")]
    InFlight {
        what: String,
        lease_until: jiff::Timestamp,
    },
    /// Concurrent writers kept winning; a later retry will settle it.
    #[error("gave up after {attempts} attempts: {what}")]
    Contended { what: String, attempts: u32 },
    /// The self-test found Klaxon broken: a step did not happen, or not in
    /// time. The next scheduled run is the retry.
    #[error("self-test failed: {0}")]
    SelfTest(String),
}

impl AppError {
    /// Whether delivering the same event again can succeed.
    /// The permission AWS said is missing (see
    /// [`BackendError::missing_permission`]), if that is why this failed.
    pub fn missing_permission(&self) -> Option<String> {
        match self {
            Self::Config(ConfigLoadError::Backend(e)) | Self::Backend(e) => e.missing_permission(),
            _ => None,
        }
    }

    /// The `errorType` Lambda is told ([`klaxon_core::invocation`]): an
    /// invalid event, a failure a retry can mend, or one it cannot.
    pub fn error_type(&self) -> &'static str {
        use klaxon_core::invocation::{FAILED, INVALID_EVENT, RETRYABLE};
        match self {
            Self::InvalidEvent(_) | Self::Intake(_) => INVALID_EVENT,
            e if e.retryable() => RETRYABLE,
            _ => FAILED,
        }
    }

    pub fn retryable(&self) -> bool {
        match self {
            Self::InvalidEvent(_) | Self::Intake(_) => false,
            Self::Config(ConfigLoadError::Backend(e)) | Self::Backend(e) => e.retryable,
            // A missing or broken configuration does not fix itself: the
            // event goes to the dead-letter queue with this reason, to be
            // redriven after `klaxon config apply`.
            Self::Config(_) => false,
            Self::Contended { .. } | Self::InFlight { .. } => true,
            Self::SelfTest(_) => false,
        }
    }

    /// When a retry can first succeed, if the error says.
    pub fn retry_after(&self) -> Option<jiff::Timestamp> {
        match self {
            Self::InFlight { lease_until, .. } => Some(*lease_until),
            _ => None,
        }
    }
}

/// The timeline event recording a status change by `actor`.
pub fn transition_event(transition: Transition, actor: &Actor) -> TimelineEvent {
    let (by, via) = (actor.display(), actor.via().to_string());
    match transition {
        Transition::Acknowledge => TimelineEvent::Acknowledged { by, via },
        Transition::Resolve => TimelineEvent::Resolved { by, via },
    }
}
