//! Alarm intake: parse, classify, open or fold, start or stop escalation.
//!
//! Every lifecycle time is Klaxon's own clock. The alarm's state time is
//! used for one thing only: ordering. An OK older than the newest ALARM
//! folded into the incident does not resolve it; an ALARM older than the
//! newest OK seen for the alarm does not open (or fold into) an incident.
//! Both are recorded as out of order and ignored.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;
use tracing::{info, warn};

use super::alarm_event::parse_alarm_event;
use super::{AppError, transition_event};
use klaxon_config::OncallConfig;
use klaxon_core::alarm::{AlarmState, AlarmStateChange, Route};
use klaxon_core::escalation::flap_hold;
use klaxon_core::incident::{AckCode, Actor, Incident, TimelineEntry, TimelineEvent, dedup_key};
use klaxon_core::routing::InsufficientData;
use klaxon_core::self_test;
use klaxon_core::time::iso;
use klaxon_ports::{
    AlarmMemory, AlarmTags, Clock, ConfigSource, Escalations, FoldOutcome, IdSource, Incidents,
    LastOk, OpenOutcome, Requirement, Transition, TransitionOutcome,
};

pub use klaxon_core::alarm::IntakeOutcome;

/// How many times to retry when concurrent writers interleave.
const MAX_ATTEMPTS: u32 = 8;

/// The ports intake needs.
/// The alarm intake's ports, one type each: named once by each composition root
/// (the alarm-intake function's AWS adapters, [`crate::world::FakePorts`]
/// for the tests), instead of one type parameter per port.
pub trait IntakePorts {
    type Incidents: Incidents;
    type Memory: AlarmMemory;
    type Escalations: Escalations;
    type Config: ConfigSource;
    type Tags: AlarmTags;
}

pub struct Intake<'a, P: IntakePorts> {
    pub incidents: &'a P::Incidents,
    pub memory: &'a P::Memory,
    pub escalations: &'a P::Escalations,
    pub config: &'a P::Config,
    /// Alarm tags, fetched only when a routing rule matches on tags.
    pub tags: &'a P::Tags,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdSource,
}

impl<P: IntakePorts> Intake<'_, P> {
    /// Handles one delivered event (any of the three alarm formats).
    pub async fn handle(&self, event: &Value) -> Result<Vec<IntakeOutcome>, AppError> {
        let changes = parse_alarm_event(event)?;
        let config = self.config.current().await?;
        let mut outcomes = Vec::with_capacity(changes.len());
        for change in &changes {
            let outcome = self.process(&config, change).await?;
            info!(
                alarm = %change.alarm_name,
                state = %change.state,
                route = change.route.as_str(),
                outcome = ?outcome,
                "alarm state change handled"
            );
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn process(
        &self,
        config: &OncallConfig,
        change: &AlarmStateChange,
    ) -> Result<IntakeOutcome, AppError> {
        match change.state {
            AlarmState::Alarm => self.on_alarm(config, change).await,
            AlarmState::InsufficientData
                if config.routing.insufficient_data() == InsufficientData::Alarm =>
            {
                self.on_alarm(config, change).await
            }
            AlarmState::InsufficientData => Ok(IntakeOutcome::Ignored {
                reason: "INSUFFICIENT_DATA is ignored (routing.insufficient_data)".into(),
            }),
            AlarmState::Ok => self.on_ok(config, change).await,
        }
    }

    async fn on_alarm(
        &self,
        config: &OncallConfig,
        change: &AlarmStateChange,
    ) -> Result<IntakeOutcome, AppError> {
        let key = dedup_key(change);
        let memory = self.memory.last_ok(&key).await?.unwrap_or_default();
        if let Some(ok_at) = memory.state_at
            && change.changed_at < ok_at
        {
            return self.alarm_out_of_order(change, &key, &memory, ok_at).await;
        }
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            if let Some(id) = self.incidents.open_for_dedup_key(&key).await? {
                let entry = TimelineEntry::repeat_alarm(change, now);
                match self
                    .incidents
                    .fold_repeat(&id, &entry, change.changed_at)
                    .await?
                {
                    FoldOutcome::Folded { alarm_count } => {
                        self.ensure_escalation(&id).await?;
                        return Ok(IntakeOutcome::Folded {
                            incident_id: id,
                            alarm_count,
                        });
                    }
                    FoldOutcome::Duplicate => {
                        // A redelivery: make sure an interrupted first run finished.
                        self.ensure_escalation(&id).await?;
                        return Ok(IntakeOutcome::Duplicate { incident_id: id });
                    }
                    // Resolved between the lookup and the write: open anew.
                    FoldOutcome::NotOpen => continue,
                }
            }
            let tags = match change.route {
                Route::SelfTest => None,
                _ => self.tags_for(config, change).await,
            };
            let (incident, mut entries) = new_incident(
                config,
                change,
                tags.as_ref(),
                now,
                self.ids.incident_id(now),
                &self.ids.ack_code(),
            );
            let hold = flapping(config, &incident, &memory, now);
            if let Some((previous, hold_seconds)) = &hold {
                entries.push(TimelineEntry::new(
                    now,
                    "flapping",
                    TimelineEvent::Flapping {
                        previous: previous.clone(),
                        hold_seconds: *hold_seconds,
                    },
                ));
            }
            match self.incidents.open(&incident, &entries).await? {
                OpenOutcome::Opened => {
                    info!(
                        incident = %incident.id,
                        severity = %incident.severity,
                        service = %incident.service,
                        decided_by = %incident.decided_by,
                        "incident opened"
                    );
                    let hold_seconds = hold.map_or(0, |(_, h)| h);
                    self.start_escalation(&incident.id, hold_seconds).await?;
                    return Ok(IntakeOutcome::Opened {
                        incident_id: incident.id,
                    });
                }
                // Lost a race to a concurrent delivery, or drew a taken code: go round.
                OpenOutcome::AlreadyOpen { .. } | OpenOutcome::CodeTaken => continue,
            }
        }
        Err(AppError::Contended {
            what: format!("opening an incident for {}", change.alarm_name),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// An ALARM older than the alarm's newest OK: recorded on the incident
    /// it concerns (the open one, else the one that OK resolved), ignored.
    async fn alarm_out_of_order(
        &self,
        change: &AlarmStateChange,
        key: &str,
        memory: &LastOk,
        ok_at: Timestamp,
    ) -> Result<IntakeOutcome, AppError> {
        let incident_id = match self.incidents.open_for_dedup_key(key).await? {
            Some(id) => Some(id),
            None => memory.resolved.as_ref().map(|r| r.incident_id.clone()),
        };
        let entry = TimelineEntry::out_of_order(change, ok_at, self.clock.now());
        if let Some(id) = &incident_id {
            self.incidents.append(id, &entry).await?;
        }
        warn!(alarm = %change.alarm_name, incident = ?incident_id, "ALARM older than the alarm's last OK: ignored");
        Ok(IntakeOutcome::OutOfOrder {
            incident_id,
            reason: entry.event.summary(),
        })
    }

    async fn start_escalation(&self, incident_id: &str, hold_seconds: u32) -> Result<(), AppError> {
        let execution = self.escalations.start(incident_id, hold_seconds).await?;
        let entry = TimelineEntry::new(
            self.clock.now(),
            "escalation",
            TimelineEvent::EscalationStarted {
                execution: execution.clone(),
            },
        );
        self.incidents
            .set_escalation(incident_id, &execution, &entry)
            .await?;
        Ok(())
    }

    /// Starts the escalation if an earlier run opened the incident but died
    /// before starting it.
    async fn ensure_escalation(&self, incident_id: &str) -> Result<(), AppError> {
        if let Some(incident) = self.incidents.get(incident_id).await?
            && incident.status.pages()
            && incident.escalation_execution.is_none()
        {
            warn!(incident = %incident_id, "escalation was not recorded; starting it");
            // A held start is recognised by its name: starting it again
            // with another input keeps the first.
            self.start_escalation(incident_id, 0).await?;
        }
        Ok(())
    }

    /// The alarm's tags when some routing rule needs them. A failure to read
    /// them never holds up paging: rules on tags then simply do not match.
    async fn tags_for(
        &self,
        config: &OncallConfig,
        change: &AlarmStateChange,
    ) -> Option<BTreeMap<String, String>> {
        if !config.routing.needs_tags() {
            return None;
        }
        match self.tags.tags(&change.alarm_arn).await {
            Ok(tags) => Some(tags),
            Err(e) => {
                warn!(alarm = %change.alarm_name, error = %e, "alarm tags unavailable; rules on tags will not match");
                None
            }
        }
    }

    async fn on_ok(
        &self,
        config: &OncallConfig,
        change: &AlarmStateChange,
    ) -> Result<IntakeOutcome, AppError> {
        let key = dedup_key(change);
        // Remembered whatever happens next: an ALARM older than this OK
        // arriving later must not open an incident.
        self.memory
            .note_ok(&key, change.changed_at, self.clock.now())
            .await?;
        let Some(id) = self.incidents.open_for_dedup_key(&key).await? else {
            return self.ok_without_open_incident(&key).await;
        };
        // The OK itself goes on the timeline whatever happens next.
        self.incidents
            .append(&id, &TimelineEntry::alarm(change, self.clock.now()))
            .await?;
        let Some(incident) = self.incidents.get(&id).await? else {
            return Ok(IntakeOutcome::Ignored {
                reason: format!("incident {id} vanished"),
            });
        };
        if !incident.self_test && !config.auto_resolves(&incident.service) {
            return Ok(IntakeOutcome::Ignored {
                reason: format!(
                    "OK does not resolve: service {} has auto_resolve: false",
                    incident.service
                ),
            });
        }
        if change.changed_at < incident.alarm_state_at {
            return self
                .ok_out_of_order(change, &id, incident.alarm_state_at)
                .await;
        }
        let resolved = TimelineEntry::new(
            self.clock.now(),
            "resolved",
            transition_event(Transition::Resolve, &Actor::Alarm),
        );
        match self
            .incidents
            .transition(
                &id,
                Transition::Resolve,
                &Actor::Alarm,
                Requirement::AlarmNotAfter(change.changed_at),
                &resolved,
            )
            .await?
        {
            TransitionOutcome::Done(incident) => {
                if let Some(execution) = &incident.escalation_execution {
                    self.escalations
                        .stop(execution, "alarm returned to OK")
                        .await?;
                }
                info!(incident = %id, "incident resolved by alarm OK");
                Ok(IntakeOutcome::Resolved { incident_id: id })
            }
            // An ALARM newer than this OK was folded in meanwhile.
            TransitionOutcome::Stale => {
                let newer = self
                    .incidents
                    .get(&id)
                    .await?
                    .map_or(change.changed_at, |i| i.alarm_state_at);
                self.ok_out_of_order(change, &id, newer).await
            }
            other => Ok(IntakeOutcome::Ignored {
                reason: format!("incident {id} not resolved: {other:?}"),
            }),
        }
    }

    /// An OK with no open incident. If an OK resolved the alarm's last
    /// incident (a redelivery of it, or a later OK), its escalation is
    /// stopped again: the first run may have died between the resolve and
    /// the stop. Stopping a finished execution is harmless.
    async fn ok_without_open_incident(&self, key: &str) -> Result<IntakeOutcome, AppError> {
        let resolved = self.memory.last_ok(key).await?.and_then(|m| m.resolved);
        if let Some(resolved) = resolved
            && let Some(incident) = self.incidents.get(&resolved.incident_id).await?
            && !incident.status.is_open()
        {
            if let Some(execution) = &incident.escalation_execution {
                self.escalations
                    .stop(execution, "alarm returned to OK")
                    .await?;
            }
            return Ok(IntakeOutcome::Duplicate {
                incident_id: incident.id,
            });
        }
        Ok(IntakeOutcome::Ignored {
            reason: "OK for an alarm with no open incident".into(),
        })
    }

    async fn ok_out_of_order(
        &self,
        change: &AlarmStateChange,
        incident_id: &str,
        newer: Timestamp,
    ) -> Result<IntakeOutcome, AppError> {
        let entry = TimelineEntry::out_of_order(change, newer, self.clock.now());
        self.incidents.append(incident_id, &entry).await?;
        warn!(incident = %incident_id, alarm_time = %iso(change.changed_at), "OK older than the incident's newest ALARM: not resolving");
        Ok(IntakeOutcome::OutOfOrder {
            incident_id: Some(incident_id.to_string()),
            reason: entry.event.summary(),
        })
    }
}

/// Whether a new incident is a flap: its service suppresses flapping and
/// the alarm's last incident was resolved by its OK within the window.
/// Returns that incident and how long to hold paging.
fn flapping(
    config: &OncallConfig,
    incident: &Incident,
    memory: &LastOk,
    now: Timestamp,
) -> Option<(String, u32)> {
    if incident.self_test {
        return None;
    }
    let window = config
        .service(&incident.service)
        .map_or(0, |s| s.flapping_window_secs());
    let resolved = memory.resolved.as_ref()?;
    flap_hold(window, resolved.at, now).map(|hold| (resolved.incident_id.clone(), hold))
}

/// A new incident for an alarm, with its first timeline entries: the alarm
/// state, the classification decision and the opening. Pure: no I/O.
///
/// A self-test alarm is never routed by the configuration: it gets the
/// built-in decision (the sink's policy) and a self-test id.
pub fn new_incident(
    config: &OncallConfig,
    change: &AlarmStateChange,
    tags: Option<&BTreeMap<String, String>>,
    now: Timestamp,
    id: String,
    code: &AckCode,
) -> (Incident, Vec<TimelineEntry>) {
    let incident = match change.route {
        Route::SelfTest => {
            let id = self_test::incident_id(&id);
            let mut incident = Incident::open(id, change, &self_test::decision(), code, now);
            incident.decided_by = self_test::DECIDED_BY.into();
            incident
        }
        _ => Incident::open(id, change, &config.decide(change, tags), code, now),
    };
    let entries = vec![
        TimelineEntry::alarm(change, now),
        TimelineEntry::new(
            now,
            "classified",
            TimelineEvent::Classified {
                service: incident.service.clone(),
                severity: incident.severity,
                urgency: incident.urgency,
                policy: incident.policy.clone(),
                decided_by: incident.decided_by.clone(),
                severity_from: incident.severity_from.clone(),
                matched: incident.matched.clone(),
            },
        ),
        TimelineEntry::new(now, "opened", TimelineEvent::Opened),
    ];
    (incident, entries)
}

#[cfg(test)]
mod tests;
