//! The in-memory store: every store port, with DynamoDB's guarantees (one
//! open incident per dedup key, one holder per ack code, a page claimed
//! once, a status change only from a paged number, entries with a once key
//! recorded once), and hooks that let a test act between two calls of a
//! handler, as a concurrent writer would.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;

use klaxon_core::incident::{AckCode, Actor, Incident, Status, TimelineEntry};
use klaxon_core::time::iso;
use klaxon_core::transition::check_transition;
use klaxon_ports::paging::FailedPage;
use klaxon_ports::{
    AlarmMemory, Allowance, BackendError, ClaimOutcome, ConfirmationClaim, FoldOutcome,
    InboundClaim, InboundMessages, Incidents, LastOk, LevelRecord, Limit, OpenOutcome, PageClaim,
    Paging, RateLimits, Requirement, ResolvedByAlarm, Transition, TransitionOutcome,
};

/// The store operations, for hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    OpenForDedupKey,
    FoldRepeat,
    Get,
    Timeline,
    Append,
    SetEscalation,
    ReplaceEscalation,
    Transition,
    IncidentForCode,
    List,
    Level,
    FireLevel,
    LastFiredStep,
    ClaimPage,
    FailPage,
    FailedPages,
    AbandonPage,
    ReleasePage,
    CompletePage,
    ClaimInbound,
    AttachInbound,
    ReleaseInbound,
    ClaimConfirmation,
    ReleaseConfirmation,
    NoteOk,
    LastOk,
    TakeRate,
}

/// A page claim as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRecord {
    pub claimed_at: Timestamp,
    pub lease_until: Timestamp,
    pub message_id: Option<String>,
    /// Its failures, once a send failed: kept (counting on) when the
    /// page is claimed again.
    pub failure: Option<FailedPage>,
    /// Failed, not claimed since.
    pub failed: bool,
    pub abandoned: bool,
}

/// Everything the store holds.
#[derive(Debug, Default)]
pub struct State {
    pub incidents: BTreeMap<String, Incident>,
    /// Per incident, entries by (ISO time, key): the DynamoDB sort key order.
    pub timelines: BTreeMap<String, BTreeMap<(String, String), TimelineEntry>>,
    pub once: BTreeSet<(String, String)>,
    pub dedup: BTreeMap<String, String>,
    pub codes: BTreeMap<String, String>,
    pub levels: BTreeMap<(String, u32), LevelRecord>,
    pub pages: BTreeMap<(String, String), PageRecord>,
    /// Claimed inbound message ids, with the incident each names.
    pub inbound: BTreeMap<String, Option<String>>,
    /// Confirmation claims of inbound messages: until when.
    pub confirmations: BTreeMap<String, Timestamp>,
    pub last_ok: BTreeMap<String, LastOk>,
    /// Rate-limited uses per subject: (token, when).
    pub rate_uses: BTreeMap<String, Vec<(String, Timestamp)>>,
}

impl State {
    /// Changes an incident's status as a concurrent writer would, with the
    /// same side effects on the pointers as a real status change.
    pub fn set_status(&mut self, incident_id: &str, status: Status, at: Timestamp, by: &str) {
        let Some(incident) = self.incidents.get_mut(incident_id) else {
            return;
        };
        incident.status = status;
        match status {
            Status::Acknowledged => {
                incident.acknowledged_at = Some(at);
                incident.acknowledged_by = Some(by.into());
            }
            Status::Resolved => {
                incident.resolved_at = Some(at);
                incident.resolved_by = Some(by.into());
                let (key, code) = (incident.dedup_key.clone(), incident.ack_code.clone());
                self.release_pointers(incident_id, &key, &code);
            }
            Status::Triggered => {}
        }
    }

    fn release_pointers(&mut self, incident_id: &str, dedup_key: &str, code: &str) {
        if self.dedup.get(dedup_key).map(String::as_str) == Some(incident_id) {
            self.dedup.remove(dedup_key);
        }
        if self.codes.get(code).map(String::as_str) == Some(incident_id) {
            self.codes.remove(code);
        }
    }

    /// Adds an entry unless it is recorded already; `false` if it was.
    fn record(&mut self, incident_id: &str, entry: &TimelineEntry) -> bool {
        if let Some(once) = entry.once_key()
            && !self.once.insert((incident_id.to_string(), once))
        {
            return false;
        }
        let timeline = self.timelines.entry(incident_id.to_string()).or_default();
        let key = (iso(entry.at), entry.key.clone());
        if timeline.contains_key(&key) {
            return false;
        }
        timeline.insert(key, entry.clone());
        true
    }

    fn has_once(&self, incident_id: &str, entry: &TimelineEntry) -> bool {
        entry
            .once_key()
            .is_some_and(|k| self.once.contains(&(incident_id.to_string(), k)))
    }
}

type HookFn = Box<dyn FnOnce(&mut State) + Send>;

enum Hook {
    Run(HookFn),
    Fail(BackendError),
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    hooks: Mutex<Vec<(Op, Hook)>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on the state just before the next call of `op`: what a
    /// concurrent writer did in between.
    pub fn before(&self, op: Op, f: impl FnOnce(&mut State) + Send + 'static) {
        self.hooks_guard().push((op, Hook::Run(Box::new(f))));
    }

    /// Makes the next call of `op` fail with `error`, changing nothing.
    pub fn fail_next(&self, op: Op, error: BackendError) {
        self.hooks_guard().push((op, Hook::Fail(error)));
    }

    /// Reads or changes the state directly.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.lock())
    }

    fn hooks_guard(&self) -> MutexGuard<'_, Vec<(Op, Hook)>> {
        self.hooks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the first hook for `op`, then locks the state.
    fn enter(&self, op: Op) -> Result<MutexGuard<'_, State>, BackendError> {
        let hook = {
            let mut hooks = self.hooks_guard();
            hooks
                .iter()
                .position(|(o, _)| *o == op)
                .map(|i| hooks.remove(i).1)
        };
        let mut state = self.lock();
        match hook {
            Some(Hook::Run(f)) => f(&mut state),
            Some(Hook::Fail(e)) => return Err(e),
            None => {}
        }
        Ok(state)
    }
}

fn newest_first(mut incidents: Vec<Incident>) -> Vec<Incident> {
    incidents.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(b.id.cmp(&a.id)));
    incidents
}

impl Incidents for MemoryStore {
    async fn open(
        &self,
        incident: &Incident,
        entries: &[TimelineEntry],
    ) -> Result<OpenOutcome, BackendError> {
        let mut s = self.enter(Op::Open)?;
        if let Some(id) = s.dedup.get(&incident.dedup_key) {
            return Ok(OpenOutcome::AlreadyOpen {
                incident_id: id.clone(),
            });
        }
        if s.codes.contains_key(&incident.ack_code) || s.incidents.contains_key(&incident.id) {
            return Ok(OpenOutcome::CodeTaken);
        }
        s.dedup
            .insert(incident.dedup_key.clone(), incident.id.clone());
        s.codes
            .insert(incident.ack_code.clone(), incident.id.clone());
        s.incidents.insert(incident.id.clone(), incident.clone());
        for entry in entries {
            s.record(&incident.id, entry);
        }
        Ok(OpenOutcome::Opened)
    }

    async fn open_for_dedup_key(&self, dedup_key: &str) -> Result<Option<String>, BackendError> {
        Ok(self
            .enter(Op::OpenForDedupKey)?
            .dedup
            .get(dedup_key)
            .cloned())
    }

    async fn fold_repeat(
        &self,
        incident_id: &str,
        entry: &TimelineEntry,
        state_at: Timestamp,
    ) -> Result<FoldOutcome, BackendError> {
        let mut s = self.enter(Op::FoldRepeat)?;
        let duplicate = s.has_once(incident_id, entry);
        let Some(incident) = s.incidents.get_mut(incident_id) else {
            return Ok(FoldOutcome::NotOpen);
        };
        if !duplicate && !incident.status.is_open() {
            return Ok(FoldOutcome::NotOpen);
        }
        // Raised on a duplicate too: a redelivery finishes what a first run
        // that died half-way began.
        if incident.alarm_state_at < state_at {
            incident.alarm_state_at = state_at;
        }
        if duplicate {
            return Ok(FoldOutcome::Duplicate);
        }
        incident.alarm_count += 1;
        incident.last_alarm_at = entry.at;
        if let klaxon_core::incident::TimelineEvent::AlarmState { reason, .. } = &entry.event {
            incident.reason = reason.clone();
        }
        let alarm_count = incident.alarm_count;
        s.record(incident_id, entry);
        Ok(FoldOutcome::Folded { alarm_count })
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, BackendError> {
        Ok(self.enter(Op::Get)?.incidents.get(incident_id).cloned())
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, BackendError> {
        Ok(self
            .enter(Op::Timeline)?
            .timelines
            .get(incident_id)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, BackendError> {
        Ok(self.enter(Op::Append)?.record(incident_id, entry))
    }

    async fn set_escalation(
        &self,
        incident_id: &str,
        execution: &str,
        entry: &TimelineEntry,
    ) -> Result<bool, BackendError> {
        let mut s = self.enter(Op::SetEscalation)?;
        match s.incidents.get_mut(incident_id) {
            Some(i) if i.escalation_execution.is_none() => {
                i.escalation_execution = Some(execution.to_string());
            }
            _ => return Ok(false),
        }
        s.record(incident_id, entry);
        Ok(true)
    }

    async fn replace_escalation(
        &self,
        incident_id: &str,
        previous: Option<&str>,
        execution: &str,
        entry: &TimelineEntry,
    ) -> Result<bool, BackendError> {
        let mut s = self.enter(Op::ReplaceEscalation)?;
        match s.incidents.get_mut(incident_id) {
            Some(i)
                if i.status == klaxon_core::incident::Status::Triggered
                    && i.escalation_execution.as_deref() == previous =>
            {
                i.escalation_execution = Some(execution.to_string());
            }
            _ => return Ok(false),
        }
        s.record(incident_id, entry);
        Ok(true)
    }

    async fn transition(
        &self,
        incident_id: &str,
        transition: Transition,
        actor: &Actor,
        requirement: Requirement<'_>,
        entry: &TimelineEntry,
    ) -> Result<TransitionOutcome, BackendError> {
        let mut s = self.enter(Op::Transition)?;
        let Some(current) = s.incidents.get(incident_id) else {
            return Ok(TransitionOutcome::NotFound);
        };
        if let Err(refused) = check_transition(current, transition, requirement) {
            return Ok(refused);
        }
        let status = match transition {
            Transition::Acknowledge => Status::Acknowledged,
            Transition::Resolve => Status::Resolved,
        };
        s.set_status(incident_id, status, entry.at, &actor.display());
        s.record(incident_id, entry);
        if let (Requirement::AlarmNotAfter(_), Transition::Resolve) = (requirement, transition)
            && let Some(key) = s.incidents.get(incident_id).map(|i| i.dedup_key.clone())
        {
            s.last_ok.entry(key).or_default().resolved = Some(ResolvedByAlarm {
                incident_id: incident_id.to_string(),
                at: entry.at,
            });
        }
        Ok(s.incidents
            .get(incident_id)
            .cloned()
            .map_or(TransitionOutcome::NotFound, |i| {
                TransitionOutcome::Done(Box::new(i))
            }))
    }

    async fn incident_for_code(&self, code: &AckCode) -> Result<Option<String>, BackendError> {
        Ok(self
            .enter(Op::IncidentForCode)?
            .codes
            .get(code.as_str())
            .cloned())
    }

    async fn list_open(&self) -> Result<Vec<Incident>, BackendError> {
        let s = self.enter(Op::List)?;
        Ok(newest_first(
            s.incidents
                .values()
                .filter(|i| i.status.is_open())
                .cloned()
                .collect(),
        ))
    }

    async fn list_month(&self, month: &str) -> Result<Vec<Incident>, BackendError> {
        let s = self.enter(Op::List)?;
        Ok(newest_first(
            s.incidents
                .values()
                .filter(|i| i.opened_at.strftime("%Y-%m").to_string() == month)
                .cloned()
                .collect(),
        ))
    }
}

impl Paging for MemoryStore {
    async fn last_fired_step(&self, incident_id: &str) -> Result<Option<u32>, BackendError> {
        let s = self.enter(Op::LastFiredStep)?;
        Ok(s.levels
            .keys()
            .filter(|(i, _)| i == incident_id)
            .map(|(_, step)| *step)
            .max())
    }

    async fn level(
        &self,
        incident_id: &str,
        step: u32,
    ) -> Result<Option<LevelRecord>, BackendError> {
        Ok(self
            .enter(Op::Level)?
            .levels
            .get(&(incident_id.to_string(), step))
            .cloned())
    }

    async fn fire_level(
        &self,
        incident_id: &str,
        record: &LevelRecord,
        entries: &[TimelineEntry],
    ) -> Result<LevelRecord, BackendError> {
        let mut s = self.enter(Op::FireLevel)?;
        let key = (incident_id.to_string(), record.step);
        if let Some(stored) = s.levels.get(&key) {
            return Ok(stored.clone());
        }
        s.levels.insert(key, record.clone());
        for entry in entries {
            s.record(incident_id, entry);
        }
        Ok(record.clone())
    }

    async fn claim_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<ClaimOutcome, BackendError> {
        let mut s = self.enter(Op::ClaimPage)?;
        let status = s
            .incidents
            .get(incident_id)
            .map(|i| i.status)
            .ok_or_else(|| BackendError {
                service: "Fake",
                operation: "claim_page",
                message: format!("incident {incident_id} vanished"),
                retryable: false,
            })?;
        if !status.pages() {
            return Ok(ClaimOutcome::NotPaging(status));
        }
        let key = (incident_id.to_string(), claim.key());
        let mut failure = None;
        if let Some(page) = s.pages.get(&key) {
            if page.message_id.is_some() || page.abandoned {
                return Ok(ClaimOutcome::AlreadySent);
            }
            if !page.failed && page.lease_until >= now {
                return Ok(ClaimOutcome::InFlight {
                    lease_until: page.lease_until,
                });
            }
            failure = page.failure.clone();
        }
        s.pages.insert(
            key,
            PageRecord {
                claimed_at: now,
                lease_until,
                message_id: None,
                failure,
                failed: false,
                abandoned: false,
            },
        );
        if let Some(incident) = s.incidents.get_mut(incident_id) {
            incident
                .paged_numbers
                .extend(claim.ack_numbers.iter().map(|p| p.as_str().to_string()));
        }
        Ok(ClaimOutcome::Claimed)
    }

    async fn fail_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        lease_until: Timestamp,
        at: Timestamp,
        error: &str,
    ) -> Result<Option<FailedPage>, BackendError> {
        let mut s = self.enter(Op::FailPage)?;
        let key = (incident_id.to_string(), claim.key());
        let Some(page) = s.pages.get_mut(&key).filter(|p| {
            p.message_id.is_none() && !p.failed && !p.abandoned && p.lease_until == lease_until
        }) else {
            return Ok(None);
        };
        let before = page.failure.take();
        let failure = FailedPage {
            step: claim.step,
            person: claim.person.clone(),
            channel: claim.channel,
            contact: claim.contact.clone(),
            attempts: before.as_ref().map_or(0, |f| f.attempts) + 1,
            first_failed_at: before.as_ref().map_or(at, |f| f.first_failed_at),
            last_failed_at: at,
            error: error.to_string(),
        };
        page.failure = Some(failure.clone());
        page.failed = true;
        Ok(Some(failure))
    }

    async fn failed_pages(&self, incident_id: &str) -> Result<Vec<FailedPage>, BackendError> {
        let s = self.enter(Op::FailedPages)?;
        Ok(s.pages
            .iter()
            .filter(|((i, _), p)| i == incident_id && p.failed)
            .filter_map(|(_, p)| p.failure.clone())
            .collect())
    }

    async fn abandon_page(
        &self,
        incident_id: &str,
        page_key: &str,
        entry: &TimelineEntry,
    ) -> Result<(), BackendError> {
        let mut s = self.enter(Op::AbandonPage)?;
        let key = (incident_id.to_string(), page_key.to_string());
        let abandoned = match s.pages.get_mut(&key).filter(|p| p.failed) {
            Some(page) => {
                page.failed = false;
                page.abandoned = true;
                true
            }
            None => false,
        };
        if abandoned {
            s.record(incident_id, entry);
        }
        Ok(())
    }

    async fn release_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        lease_until: Timestamp,
    ) -> Result<(), BackendError> {
        let mut s = self.enter(Op::ReleasePage)?;
        let key = (incident_id.to_string(), claim.key());
        if s.pages
            .get(&key)
            .is_some_and(|p| p.message_id.is_none() && p.lease_until == lease_until)
        {
            s.pages.remove(&key);
        }
        Ok(())
    }

    async fn complete_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        message_id: &str,
        entry: &TimelineEntry,
    ) -> Result<(), BackendError> {
        let mut s = self.enter(Op::CompletePage)?;
        let page = s
            .pages
            .entry((incident_id.to_string(), claim.key()))
            .or_insert(PageRecord {
                claimed_at: entry.at,
                lease_until: entry.at,
                message_id: None,
                failure: None,
                failed: false,
                abandoned: false,
            });
        page.message_id = Some(message_id.to_string());
        s.record(incident_id, entry);
        Ok(())
    }
}

impl InboundMessages for MemoryStore {
    async fn claim(&self, message_id: &str, _now: Timestamp) -> Result<InboundClaim, BackendError> {
        let mut s = self.enter(Op::ClaimInbound)?;
        Ok(match s.inbound.get(message_id) {
            Some(incident_id) => InboundClaim::Again {
                incident_id: incident_id.clone(),
            },
            None => {
                s.inbound.insert(message_id.to_string(), None);
                InboundClaim::First
            }
        })
    }

    async fn attach(&self, message_id: &str, incident_id: &str) -> Result<(), BackendError> {
        self.enter(Op::AttachInbound)?
            .inbound
            .insert(message_id.to_string(), Some(incident_id.to_string()));
        Ok(())
    }

    async fn release(&self, message_id: &str) -> Result<(), BackendError> {
        let mut s = self.enter(Op::ReleaseInbound)?;
        s.inbound.remove(message_id);
        s.confirmations.remove(message_id);
        Ok(())
    }

    async fn claim_confirmation(
        &self,
        message_id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<ConfirmationClaim, BackendError> {
        let mut s = self.enter(Op::ClaimConfirmation)?;
        if !s.inbound.contains_key(message_id) {
            return Err(BackendError {
                service: "Fake",
                operation: "claim_confirmation",
                message: format!("inbound message {message_id} is not claimed"),
                retryable: true,
            });
        }
        match s.confirmations.get(message_id) {
            Some(held) if *held >= now => Ok(ConfirmationClaim::InFlight { lease_until: *held }),
            _ => {
                s.confirmations.insert(message_id.to_string(), lease_until);
                Ok(ConfirmationClaim::Claimed)
            }
        }
    }

    async fn release_confirmation(&self, message_id: &str) -> Result<(), BackendError> {
        self.enter(Op::ReleaseConfirmation)?
            .confirmations
            .remove(message_id);
        Ok(())
    }
}

impl AlarmMemory for MemoryStore {
    async fn note_ok(
        &self,
        dedup_key: &str,
        state_at: Timestamp,
        _now: Timestamp,
    ) -> Result<(), BackendError> {
        let mut s = self.enter(Op::NoteOk)?;
        let memory = s.last_ok.entry(dedup_key.to_string()).or_default();
        if memory.state_at.is_none_or(|t| t < state_at) {
            memory.state_at = Some(state_at);
        }
        Ok(())
    }

    async fn last_ok(&self, dedup_key: &str) -> Result<Option<LastOk>, BackendError> {
        Ok(self.enter(Op::LastOk)?.last_ok.get(dedup_key).cloned())
    }
}

impl RateLimits for MemoryStore {
    async fn take(
        &self,
        subject: &str,
        token: &str,
        limit: Limit,
        now: Timestamp,
    ) -> Result<Allowance, BackendError> {
        let mut s = self.enter(Op::TakeRate)?;
        let uses = s.rate_uses.entry(subject.to_string()).or_default();
        uses.retain(|(_, at)| *at > now - limit.window);
        let counted = uses.iter().any(|(t, _)| t == token);
        let allowance = klaxon_core::rate_limit::decide(uses, token, limit, now);
        if !counted && allowance == Allowance::Allowed {
            uses.push((token.to_string(), now));
        }
        Ok(allowance)
    }
}
