//! The incidents table's stream, as its consumers (the event publisher, the
//! notifier, the status page) see it: each record in stream order, decoded
//! by the stream's adapter.

use klaxon_core::incident::TimelineEntry;

/// One record of the stream, as the publisher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRecord {
    /// A timeline entry was written.
    Entry {
        sequence: String,
        incident_id: String,
        entry: TimelineEntry,
    },
    /// Any other change (the incident, claims, markers): nothing to publish.
    Other { sequence: String },
    /// A timeline entry that cannot be read: it will never publish.
    Unreadable { sequence: String, reason: String },
}

impl StreamRecord {
    pub fn sequence(&self) -> &str {
        match self {
            Self::Entry { sequence, .. }
            | Self::Other { sequence }
            | Self::Unreadable { sequence, .. } => sequence,
        }
    }
}
