//! Deliveries that failed for good, parked for a human: the notifier's
//! dead-letter queue (its alarm tells the operator; `klaxon dlq list`
//! shows them). The failure is on the incident's timeline too.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::BackendError;
use klaxon_core::notifications::DestinationKind;

/// One failed delivery, as parked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndeliveredNotification {
    pub incident_id: String,
    /// The bus event's stable id (`<incident>/<time>/<key>`).
    pub event_id: String,
    pub detail_type: String,
    /// The destination's id in `notifications` (or `incident-manager`).
    pub target: String,
    pub destination: DestinationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub attempts: u32,
    /// Why, for the operator (never a secret's value or a webhook URL).
    pub error: String,
    /// When the last attempt failed (UTC, ISO 8601).
    pub failed_at: String,
}

pub trait UndeliveredNotifications: Send + Sync {
    fn park(
        &self,
        notification: &UndeliveredNotification,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}
