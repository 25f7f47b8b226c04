//! A whole Klaxon on fakes (under test or feature `testing`): the store, a clock that moves when told, ids
//! chosen by the test, the phone network, mail, the escalation workflow and
//! the applied configuration. Handlers are built from it as the functions
//! build them from AWS adapters.

use jiff::Timestamp;
use serde_json::Value;

use super::escalator::{Escalator, EscalatorPorts};
use super::intake::{Intake, IntakePorts};
use super::reply::{InboundSms, Replies, RepliesPorts};
use super::voice::VoiceCalls;
use klaxon_core::alarm::IntakeOutcome;
use klaxon_core::incident::{Incident, TimelineEntry};
use klaxon_ports::{AlarmDelivery, BackendError, Incidents};
use klaxon_testing::{
    CONFIG, FakeCalls, FakeDeliveryChannels, FakeEmail, FakeEscalations, FakeMetricLog, FakeSms,
    FakeTags, ManualClock, MemoryStore, ScriptedIds, StaticConfig, alarm_event, start,
};

/// The fakes as the handlers' ports: [`World`]'s handlers and any test
/// that builds one from fakes name this one type.
pub enum FakePorts {}

impl IntakePorts for FakePorts {
    type Incidents = MemoryStore;
    type Memory = MemoryStore;
    type Escalations = FakeEscalations;
    type Config = StaticConfig;
    type Tags = FakeTags;
}

impl EscalatorPorts for FakePorts {
    type Incidents = MemoryStore;
    type Paging = MemoryStore;
    type Sms = FakeSms;
    type Email = FakeEmail;
    type Escalations = FakeEscalations;
    type Config = StaticConfig;
    type Calls = FakeCalls;
    type Limits = MemoryStore;
    type Metrics = FakeMetricLog;
}

impl RepliesPorts for FakePorts {
    type Incidents = MemoryStore;
    type Inbound = MemoryStore;
    type Sms = FakeSms;
    type Escalations = FakeEscalations;
    type Config = StaticConfig;
    type Calls = FakeCalls;
}

/// Everything a handler talks to, faked.
pub struct World {
    pub store: MemoryStore,
    pub clock: ManualClock,
    pub ids: ScriptedIds,
    pub sms: FakeSms,
    pub email: FakeEmail,
    pub calls: FakeCalls,
    pub escalations: FakeEscalations,
    pub config: StaticConfig,
    pub tags: FakeTags,
    /// What the handlers counted.
    pub metrics: FakeMetricLog,
    /// The account's delivery channels: healthy until a test breaks one.
    pub channels: FakeDeliveryChannels,
    /// The stack's channel settings: no origination number, sender or
    /// voice number.
    pub stack_channels: super::channels::StackChannels,
}

impl Default for World {
    fn default() -> Self {
        Self::new(CONFIG)
    }
}

impl World {
    /// A world with this configuration applied, at 2026-11-21T06:00:00Z.
    pub fn new(config: &str) -> Self {
        Self {
            store: MemoryStore::new(),
            clock: ManualClock::at(start()),
            ids: ScriptedIds::default(),
            sms: FakeSms::default(),
            email: FakeEmail::default(),
            calls: FakeCalls::default(),
            escalations: FakeEscalations::default(),
            config: StaticConfig::yaml(config),
            tags: FakeTags::default(),
            metrics: FakeMetricLog::default(),
            channels: FakeDeliveryChannels::default(),
            stack_channels: super::channels::StackChannels {
                origination: super::channels::Setting::Empty,
                email_from: super::channels::Setting::Empty,
                voice_from: super::channels::Setting::Empty,
            },
        }
    }

    pub fn intake(&self) -> Intake<'_, FakePorts> {
        Intake {
            incidents: &self.store,
            memory: &self.store,
            escalations: &self.escalations,
            config: &self.config,
            tags: &self.tags,
            clock: &self.clock,
            ids: &self.ids,
        }
    }

    pub fn escalator(&self) -> Escalator<'_, FakePorts> {
        Escalator {
            incidents: &self.store,
            paging: &self.store,
            sms: &self.sms,
            email: Some(&self.email),
            calls: Some(&self.calls),
            limits: &self.store,
            escalations: &self.escalations,
            config: &self.config,
            clock: &self.clock,
            metrics: &self.metrics,
            deadline: None,
            retry: klaxon_core::escalation::PageRetry::default(),
            send_timeout: super::escalator::SEND_TIMEOUT,
        }
    }

    pub fn replies(&self) -> Replies<'_, FakePorts> {
        Replies {
            incidents: &self.store,
            inbound: &self.store,
            sms: &self.sms,
            escalations: &self.escalations,
            calls: Some(&self.calls),
            config: &self.config,
            clock: &self.clock,
            deadline: None,
        }
    }

    /// The voice-call handler; every SIP media application is this world's
    /// phone network.
    pub fn voice<'w>(
        &'w self,
    ) -> VoiceCalls<
        'w,
        MemoryStore,
        FakeEscalations,
        StaticConfig,
        impl Fn(&str) -> &'w FakeCalls + Send + Sync + 'w,
    > {
        fn any_application<'w, F: Fn(&str) -> &'w FakeCalls>(f: F) -> F {
            f
        }
        let calls = &self.calls;
        VoiceCalls {
            incidents: &self.store,
            escalations: &self.escalations,
            config: &self.config,
            calls: any_application(move |_| calls),
            clock: &self.clock,
        }
    }

    /// Fires alarm `name` (state time `changed_at`) and returns the incident
    /// it opened; panics if it did not open one.
    pub async fn open_incident(&self, name: &str, changed_at: Timestamp) -> String {
        let outcomes = self
            .intake()
            .handle(&alarm_event(name, "ALARM", changed_at))
            .await
            .unwrap_or_else(|e| panic!("intake failed: {e}"));
        match outcomes.as_slice() {
            [IntakeOutcome::Opened { incident_id }] => incident_id.clone(),
            other => panic!("not opened: {other:?}"),
        }
    }

    pub async fn incident(&self, id: &str) -> Incident {
        self.store
            .get(id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("incident {id} exists"))
    }

    pub async fn timeline(&self, id: &str) -> Vec<TimelineEntry> {
        self.store.timeline(id).await.unwrap_or_default()
    }

    /// The kinds on an incident's timeline, in order.
    pub async fn kinds(&self, id: &str) -> Vec<&'static str> {
        self.timeline(id)
            .await
            .iter()
            .map(|e| e.event.kind())
            .collect()
    }

    /// An inbound SMS from `from` saying `body`.
    pub fn sms_from(&self, from: &str, body: &str, message_id: &str) -> InboundSms {
        InboundSms {
            origination_number: from.into(),
            destination_number: Some("+815012345678".into()),
            message_keyword: None,
            message_body: body.into(),
            inbound_message_id: message_id.into(),
            previous_published_message_id: None,
        }
    }
}

/// Delivers alarm events to this world's intake, answering as the intake
/// function answers `lambda:Invoke`: its outcomes, or its error.
impl AlarmDelivery for World {
    async fn deliver(&self, event: &Value) -> Result<Value, BackendError> {
        match self.intake().handle(event).await {
            Ok(outcomes) => serde_json::to_value(outcomes).map_err(|e| BackendError {
                service: "Fake",
                operation: "Invoke",
                message: e.to_string(),
                retryable: false,
            }),
            Err(e) => Err(BackendError::invocation(
                "alarm-intake",
                e.error_type(),
                &e.to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::World;

    /// The alarm delivery contract, against the handlers on fakes (the
    /// self-test's stand-in for `lambda:Invoke` of intake).
    #[tokio::test]
    async fn an_alarm_event_reaches_intake_and_its_answer_returns() {
        let w = World::default();
        klaxon_testing::contract::outbound::an_alarm_event_reaches_intake_and_its_answer_returns(
            &w,
            "0123456789abcdef",
            klaxon_testing::at(0),
        )
        .await;
    }
}
