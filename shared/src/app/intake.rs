//! Alarm intake: parse, classify, open or fold, start or stop escalation.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use tracing::{info, warn};

use super::alarm_event::parse_alarm_event;
use super::{AppError, transition_event};
use crate::config::OncallConfig;
use crate::core::alarm::{AlarmState, AlarmStateChange};
use crate::core::escalation::flap_hold;
use crate::core::incident::{
    AckCode, Actor, Incident, TimelineEntry, TimelineEvent, dedup_key, new_incident_id,
};
use crate::core::routing::InsufficientData;
use crate::core::time::iso;
use crate::ports::{
    AlarmTags, ConfigSource, Escalations, FoldOutcome, IncidentStore, OpenOutcome, Transition,
    TransitionOutcome,
};

/// How many times to retry when concurrent writers interleave.
const MAX_ATTEMPTS: u32 = 8;

/// What intake did with one alarm state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    Ignored {
        reason: String,
    },
}

/// The ports intake needs.
pub struct Intake<'a, S, E, C, T> {
    pub store: &'a S,
    pub escalations: &'a E,
    pub config: &'a C,
    /// Alarm tags, fetched only when a routing rule matches on tags.
    pub tags: &'a T,
}

impl<S: IncidentStore, E: Escalations, C: ConfigSource, T: AlarmTags> Intake<'_, S, E, C, T> {
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
        let alarm_entry = alarm_entry(change);
        for _ in 0..MAX_ATTEMPTS {
            if let Some(id) = self.store.open_for_dedup_key(&key).await? {
                match self.store.fold_repeat(&id, &alarm_entry).await? {
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
            let tags = self.tags_for(config, change).await;
            let now = Timestamp::now();
            let (incident, entries) = new_incident_with(config, change, tags.as_ref(), now);
            let mut entries = entries.to_vec();
            let hold = self.flapping(config, &incident, now).await?;
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
            match self.store.open(&incident, &entries).await? {
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

    /// Whether this ALARM is a flap: its service suppresses flapping and
    /// the alarm's last incident was resolved by its OK within the window.
    /// Returns that incident and how long to hold paging.
    async fn flapping(
        &self,
        config: &OncallConfig,
        incident: &Incident,
        now: Timestamp,
    ) -> Result<Option<(String, u32)>, AppError> {
        let window = config
            .service(&incident.service)
            .map_or(0, |s| s.flapping_window_secs());
        if window == 0 {
            return Ok(None);
        }
        let Some((previous, resolved_at)) = self
            .store
            .last_resolved_by_alarm(&incident.dedup_key)
            .await?
        else {
            return Ok(None);
        };
        Ok(flap_hold(window, resolved_at, now).map(|hold| (previous, hold)))
    }

    async fn start_escalation(&self, incident_id: &str, hold_seconds: u32) -> Result<(), AppError> {
        let execution = self.escalations.start(incident_id, hold_seconds).await?;
        let entry = TimelineEntry::new(
            Timestamp::now(),
            "escalation",
            TimelineEvent::EscalationStarted {
                execution: execution.clone(),
            },
        );
        self.store
            .set_escalation(incident_id, &execution, &entry)
            .await?;
        Ok(())
    }

    /// Starts the escalation if an earlier run opened the incident but died
    /// before starting it.
    async fn ensure_escalation(&self, incident_id: &str) -> Result<(), AppError> {
        if let Some(incident) = self.store.get(incident_id).await?
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
        let Some(id) = self.store.open_for_dedup_key(&dedup_key(change)).await? else {
            return Ok(IntakeOutcome::Ignored {
                reason: "OK for an alarm with no open incident".into(),
            });
        };
        let entry = alarm_entry(change);
        // The OK itself goes on the timeline whatever happens next.
        self.store.append(&id, &entry).await?;
        if let Some(incident) = self.store.get(&id).await?
            && !config.auto_resolves(&incident.service)
        {
            return Ok(IntakeOutcome::Ignored {
                reason: format!(
                    "OK does not resolve: service {} has auto_resolve: false",
                    incident.service
                ),
            });
        }
        let resolved = TimelineEntry::new(
            change.changed_at,
            "resolved",
            transition_event(Transition::Resolve, &Actor::Alarm),
        );
        match self
            .store
            .transition(&id, Transition::Resolve, &Actor::Alarm, None, &resolved)
            .await?
        {
            TransitionOutcome::Done(incident) => {
                if let Some(execution) = &incident.escalation_execution {
                    self.escalations
                        .stop(execution, "alarm returned to OK")
                        .await?;
                }
                self.store
                    .note_resolved_by_alarm(&incident.dedup_key, &id, Timestamp::now())
                    .await?;
                info!(incident = %id, "incident resolved by alarm OK");
                Ok(IntakeOutcome::Resolved { incident_id: id })
            }
            other => Ok(IntakeOutcome::Ignored {
                reason: format!("incident {id} not resolved: {other:?}"),
            }),
        }
    }
}

/// A new incident for an alarm, with its first timeline entries: the alarm
/// state, the classification decision and the opening. Pure: no I/O.
pub fn new_incident(
    config: &OncallConfig,
    change: &AlarmStateChange,
    now: Timestamp,
) -> (Incident, [TimelineEntry; 3]) {
    new_incident_with(config, change, None, now)
}

/// Like [`new_incident`], with the alarm's tags for rules that match on them.
pub fn new_incident_with(
    config: &OncallConfig,
    change: &AlarmStateChange,
    tags: Option<&BTreeMap<String, String>>,
    now: Timestamp,
) -> (Incident, [TimelineEntry; 3]) {
    let decision = config.decide(change, tags);
    let incident = Incident::open(
        new_incident_id(now),
        change,
        &decision,
        &AckCode::random(),
        now,
    );
    let entries = [
        alarm_entry(change),
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

/// The timeline entry for an alarm state change. Its key is derived from the
/// change itself, so a redelivery maps to the same entry.
fn alarm_entry(change: &AlarmStateChange) -> TimelineEntry {
    TimelineEntry::new(
        change.changed_at,
        format!("alarm#{}", change.state.as_str()),
        TimelineEvent::AlarmState {
            state: change.state,
            reason: change.reason.clone(),
            route: change.route.as_str().into(),
            changed_at: iso(change.changed_at),
        },
    )
}
