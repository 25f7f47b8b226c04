//! One timeline event of every detail-type, for the event tests and the
//! schema checks (the domain's fixtures, [`klaxon_core::fixtures`]), and
//! the bus in memory.

pub use klaxon_core::fixtures::{sample_bus_event, sample_entries, sample_event};

/// The bus in memory. Like EventBridge it publishes in order and stops at
/// an event it rejects; a rejection lasts until [`FakeBus::accept_all`].
#[derive(Default, Debug)]
pub struct FakeBus {
    published: std::sync::Mutex<Vec<klaxon_core::events::BusEvent>>,
    reject: std::sync::Mutex<Option<(String, klaxon_ports::BackendError)>>,
}

impl FakeBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything published so far, in order (redeliveries included).
    pub fn published(&self) -> Vec<klaxon_core::events::BusEvent> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What was published, as EventBridge delivers an event to a target.
    pub fn delivered(&self) -> Vec<serde_json::Value> {
        self.published()
            .iter()
            .map(|e| {
                serde_json::json!({
                    "version": "0",
                    "source": klaxon_core::events::SOURCE,
                    "detail-type": e.detail_type.as_str(),
                    "time": klaxon_core::time::iso(e.time),
                    "detail": e.detail,
                })
            })
            .collect()
    }

    /// Rejects the event with this `detail.event_id` (and stops there).
    pub fn reject(&self, event_id: &str, error: klaxon_ports::BackendError) {
        *self.reject.lock().unwrap_or_else(|e| e.into_inner()) = Some((event_id.into(), error));
    }

    pub fn accept_all(&self) {
        *self.reject.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl klaxon_ports::EventBus for FakeBus {
    async fn publish(
        &self,
        events: &[klaxon_core::events::BusEvent],
    ) -> Result<(), klaxon_ports::PublishError> {
        let reject = self
            .reject
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        for (i, event) in events.iter().enumerate() {
            if let Some((id, error)) = &reject
                && event.event_id() == id
            {
                return Err(klaxon_ports::PublishError {
                    first_unpublished: i,
                    error: error.clone(),
                });
            }
            published.push(event.clone());
        }
        Ok(())
    }
}
