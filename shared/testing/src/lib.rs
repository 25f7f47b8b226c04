//! In-memory fakes of every port, with the adapters' guarantees, for unit
//! tests and the contract suite. Compiled only for tests and with the
//! `testing` feature; never in a function's release build.

mod channels;
mod clock;
pub mod contract;
mod deliveries;
pub mod events;
pub mod incident_manager;
mod metric_log;
mod outbound;
mod scenario;
pub mod status_page;
mod store;

pub use channels::{ChannelState, FakeDeliveryChannels};
pub use clock::{ManualClock, ScriptedIds};
pub use deliveries::{FakeEndpoints, FakeSecrets, FakeUndelivered, Reply};
pub use events::FakeBus;
pub use incident_manager::{FakeIncidentManager, FakeRecord, MirrorCall};
pub use metric_log::FakeMetricLog;
pub use outbound::{
    FakeCalls, FakeEmail, FakeEscalations, FakeMetrics, FakeSms, FakeTags, PlacedCall, SentEmail,
    SentSms, StaticConfig,
};
pub use scenario::{AIKO, BEN, CONFIG, alarm_event, at, start};
pub use status_page::{FakeStatusPages, StoredObject};
pub use store::{MemoryStore, Op, State};

use klaxon_ports::BackendError;

/// A transient failure, as throttling would produce.
pub fn transient(operation: &'static str) -> BackendError {
    BackendError {
        service: "Fake",
        operation,
        message: "injected transient failure".into(),
        retryable: true,
    }
}

/// A permanent failure, as a rejected request would produce.
pub fn permanent(operation: &'static str) -> BackendError {
    BackendError {
        service: "Fake",
        operation,
        message: "injected permanent failure".into(),
        retryable: false,
    }
}
