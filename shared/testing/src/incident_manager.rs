//! Incident Manager in memory, with the guarantees Klaxon relies on: a
//! start is once per client token (the same ARN back, a
//! `ConflictException` when the token comes with other details), a
//! timeline event is once per client token on its record, resolving is
//! idempotent. It keeps exactly what the adapter would send, built by
//! [`klaxon_core::incident_manager`].

use std::sync::{Mutex, MutexGuard};

use klaxon_core::events::{BusEvent, IncidentSummary};
use klaxon_core::incident_manager::{
    StartRequest, TimelineRequest, start_request, timeline_request,
};
use klaxon_ports::{BackendError, IncidentManager};

/// One call of the mirror, for failure injection and call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MirrorCall {
    /// [`IncidentManager::start`].
    Start,
    /// [`IncidentManager::add_timeline_event`].
    AddTimelineEvent,
    /// [`IncidentManager::resolve`].
    Resolve,
}

impl MirrorCall {
    /// The Incident Manager operation behind the call.
    pub fn operation(self) -> &'static str {
        match self {
            Self::Start => "StartIncident",
            Self::AddTimelineEvent => "CreateTimelineEvent",
            Self::Resolve => "UpdateIncidentRecord",
        }
    }
}

/// An incident record as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRecord {
    /// `arn:aws:ssm-incidents::<account>:incident-record/<plan>/<n>`.
    pub arn: String,
    /// The response plan it was started under.
    pub response_plan_arn: String,
    /// The request that started it.
    pub start: StartRequest,
    /// Its timeline events, in the order they were added, each client
    /// token once.
    pub timeline: Vec<TimelineRequest>,
    /// How many times it was resolved (resolving again changes nothing
    /// else).
    pub resolutions: u32,
}

impl FakeRecord {
    /// Whether it was resolved at least once.
    pub fn is_resolved(&self) -> bool {
        self.resolutions > 0
    }

    /// The timeline as Incident Manager lists it: by event time, oldest
    /// first (events of the same time in the order they were added).
    pub fn timeline_by_time(&self) -> Vec<TimelineRequest> {
        let mut events = self.timeline.clone();
        events.sort_by_key(|e| e.event_time);
        events
    }
}

#[derive(Debug, Default)]
struct State {
    records: Vec<FakeRecord>,
    calls: Vec<MirrorCall>,
    reject: Vec<(MirrorCall, BackendError)>,
}

/// Incident Manager in memory. A rejection injected with
/// [`FakeIncidentManager::reject`] lasts until
/// [`FakeIncidentManager::accept_all`].
#[derive(Debug, Default)]
pub struct FakeIncidentManager {
    state: Mutex<State>,
}

fn fake_error(call: MirrorCall, message: String, retryable: bool) -> BackendError {
    BackendError {
        service: "Fake",
        operation: call.operation(),
        message,
        retryable,
    }
}

/// `arn:aws:ssm-incidents::<account>:incident-record/<plan>/<n>`, from the
/// response plan's ARN.
fn record_arn(response_plan_arn: &str, n: usize) -> String {
    let account = response_plan_arn.split(':').nth(4).unwrap_or_default();
    let plan = response_plan_arn
        .rsplit_once("response-plan/")
        .map_or("plan", |(_, name)| name);
    format!("arn:aws:ssm-incidents::{account}:incident-record/{plan}/{n:08x}")
}

impl FakeIncidentManager {
    /// No records, every call accepted.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every record, in the order they were started.
    pub fn records(&self) -> Vec<FakeRecord> {
        self.lock().records.clone()
    }

    /// The record `arn`, if it was started.
    pub fn record(&self, arn: &str) -> Option<FakeRecord> {
        self.lock().records.iter().find(|r| r.arn == arn).cloned()
    }

    /// Every call made so far, in order, rejected ones included.
    pub fn calls(&self) -> Vec<MirrorCall> {
        self.lock().calls.clone()
    }

    /// Fails every `call` with `error` (replacing an earlier rejection of it).
    pub fn reject(&self, call: MirrorCall, error: BackendError) {
        let mut state = self.lock();
        state.reject.retain(|(c, _)| *c != call);
        state.reject.push((call, error));
    }

    /// Ends every injected rejection.
    pub fn accept_all(&self) {
        self.lock().reject.clear();
    }

    /// Records the call; the injected error, if the call is rejected.
    fn enter(state: &mut State, call: MirrorCall) -> Result<(), BackendError> {
        state.calls.push(call);
        match state.reject.iter().find(|(c, _)| *c == call) {
            Some((_, error)) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn record_mut<'a>(
        state: &'a mut State,
        call: MirrorCall,
        arn: &str,
    ) -> Result<&'a mut FakeRecord, BackendError> {
        state
            .records
            .iter_mut()
            .find(|r| r.arn == arn)
            .ok_or_else(|| {
                fake_error(
                    call,
                    format!("ResourceNotFoundException: no incident record {arn}"),
                    false,
                )
            })
    }
}

impl IncidentManager for FakeIncidentManager {
    async fn start(
        &self,
        response_plan_arn: &str,
        incident: &IncidentSummary,
        alarm_arn: &str,
    ) -> Result<String, BackendError> {
        let call = MirrorCall::Start;
        let mut state = self.lock();
        Self::enter(&mut state, call)?;
        let request = start_request(incident, alarm_arn)
            .map_err(|e| fake_error(call, e.to_string(), false))?;
        if let Some(existing) = state
            .records
            .iter()
            .find(|r| r.start.client_token == request.client_token)
        {
            return if existing.start == request && existing.response_plan_arn == response_plan_arn {
                Ok(existing.arn.clone())
            } else {
                Err(fake_error(
                    call,
                    format!(
                        "ConflictException: client token {} was used with other details",
                        request.client_token
                    ),
                    false,
                ))
            };
        }
        let arn = record_arn(response_plan_arn, state.records.len());
        state.records.push(FakeRecord {
            arn: arn.clone(),
            response_plan_arn: response_plan_arn.to_string(),
            start: request,
            timeline: Vec::new(),
            resolutions: 0,
        });
        Ok(arn)
    }

    async fn add_timeline_event(
        &self,
        record_arn: &str,
        event: &BusEvent,
    ) -> Result<(), BackendError> {
        let call = MirrorCall::AddTimelineEvent;
        let mut state = self.lock();
        Self::enter(&mut state, call)?;
        let request = timeline_request(event);
        let record = Self::record_mut(&mut state, call, record_arn)?;
        match record
            .timeline
            .iter()
            .find(|e| e.client_token == request.client_token)
        {
            Some(existing) if *existing == request => Ok(()),
            Some(_) => Err(fake_error(
                call,
                format!(
                    "ConflictException: client token {} was used with other details",
                    request.client_token
                ),
                false,
            )),
            None => {
                record.timeline.push(request);
                Ok(())
            }
        }
    }

    async fn resolve(&self, record_arn: &str) -> Result<(), BackendError> {
        let call = MirrorCall::Resolve;
        let mut state = self.lock();
        Self::enter(&mut state, call)?;
        Self::record_mut(&mut state, call, record_arn)?.resolutions += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{incident, t0};
    use crate::events::sample_entries;
    use crate::transient;
    use klaxon_core::events::{DetailType, bus_event};

    const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/payments";

    #[tokio::test]
    async fn a_rejected_call_fails_until_all_are_accepted_and_changes_nothing() {
        let m = FakeIncidentManager::new();
        let i = incident("abcdef", "A", t0());
        let summary = IncidentSummary::from(&i);
        m.reject(MirrorCall::Start, transient("StartIncident"));
        let err = m.start(PLAN, &summary, &i.alarm_arn).await.unwrap_err();
        assert!(err.retryable);
        assert!(m.records().is_empty());
        m.accept_all();
        let arn = m.start(PLAN, &summary, &i.alarm_arn).await.unwrap();
        assert_eq!(
            arn,
            "arn:aws:ssm-incidents::123456789012:incident-record/payments/00000000"
        );
        assert_eq!(m.calls(), vec![MirrorCall::Start, MirrorCall::Start]);
    }

    #[tokio::test]
    async fn a_start_token_reused_with_other_details_is_a_conflict() {
        let m = FakeIncidentManager::new();
        let i = incident("abcdef", "A", t0());
        let summary = IncidentSummary::from(&i);
        m.start(PLAN, &summary, &i.alarm_arn).await.unwrap();
        let mut renamed = summary.clone();
        renamed.title = "another title".into();
        let err = m.start(PLAN, &renamed, &i.alarm_arn).await.unwrap_err();
        assert!(err.message.starts_with("ConflictException"), "{err}");
        assert!(!err.retryable);
        assert_eq!(m.records().len(), 1);
    }

    #[tokio::test]
    async fn timeline_events_and_resolutions_need_a_started_record() {
        let m = FakeIncidentManager::new();
        let i = incident("abcdef", "A", t0());
        let entry = &sample_entries(t0())[0];
        let event = bus_event(&i.id, Some(&i), entry).unwrap();
        assert_eq!(event.detail_type, DetailType::IncidentOpened);
        let err = m.add_timeline_event("arn:nope", &event).await.unwrap_err();
        assert!(err.message.starts_with("ResourceNotFoundException"));
        assert!(m.resolve("arn:nope").await.is_err());
    }
}
