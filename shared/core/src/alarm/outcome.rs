//! What intake did with each alarm state change: its answer, as JSON.

use serde::{Deserialize, Serialize};

/// What intake did with one alarm state change: one per change, in intake's
/// answer (the self-test reads it back through the alarm delivery port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IntakeOutcome {
    Opened {
        incident_id: String,
    },
    Folded {
        incident_id: String,
        alarm_count: u32,
    },
    Duplicate {
        incident_id: String,
    },
    Resolved {
        incident_id: String,
    },
    /// Older than a state change already applied; recorded, not applied.
    OutOfOrder {
        incident_id: Option<String>,
        reason: String,
    },
    Ignored {
        reason: String,
    },
}
