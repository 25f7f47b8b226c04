//! What operators do from the CLI: list incidents, acknowledge and resolve
//! by hand, post status updates.

use super::{AppError, transition_event};
use klaxon_core::incident::{Actor, Incident, TimelineEntry, TimelineEvent};
use klaxon_core::status_update::{UpdateStatus, message};
use klaxon_core::time::iso;
use klaxon_ports::{Clock, Escalations, Incidents, Requirement, Transition, TransitionOutcome};

/// Acknowledges or resolves an incident as an operator, and stops its
/// escalation when that succeeds.
pub async fn change_status<I: Incidents, E: Escalations>(
    incidents: &I,
    escalations: &E,
    clock: &dyn Clock,
    incident_id: &str,
    transition: Transition,
    user: &str,
) -> Result<TransitionOutcome, AppError> {
    let actor = Actor::Cli {
        user: user.to_string(),
    };
    let event = transition_event(transition, &actor);
    let entry = TimelineEntry::new(clock.now(), event.kind(), event);
    let outcome = incidents
        .transition(incident_id, transition, &actor, Requirement::None, &entry)
        .await?;
    if let TransitionOutcome::Done(incident) = &outcome
        && let Some(execution) = &incident.escalation_execution
    {
        let reason = match transition {
            Transition::Acknowledge => "acknowledged from the CLI",
            Transition::Resolve => "resolved from the CLI",
        };
        escalations.stop(execution, reason).await?;
    }
    Ok(outcome)
}

/// Open incidents (newest first), or a UTC month's (`2026-11`). The
/// self-test's incidents are left out unless `self_tests` asks for them.
pub async fn list_incidents<I: Incidents>(
    incidents: &I,
    month: Option<&str>,
    self_tests: bool,
) -> Result<Vec<Incident>, AppError> {
    let all = match month {
        Some(m) => incidents.list_month(m).await?,
        None => incidents.list_open().await?,
    };
    Ok(all
        .into_iter()
        .filter(|i| self_tests || !i.self_test)
        .collect())
}

/// What posting a status update came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// On the timeline (and from there on the bus, to stakeholders).
    Posted(TimelineEntry),
    NotFound,
    /// The message cannot be posted; why.
    Invalid(String),
}

/// Posts a status update on an incident's timeline. Without a `status`,
/// the latest update's status holds (`investigating` before the first).
pub async fn post_update<I: Incidents>(
    incidents: &I,
    clock: &dyn Clock,
    incident_id: &str,
    status: Option<UpdateStatus>,
    text: &str,
    user: &str,
) -> Result<UpdateOutcome, AppError> {
    let text = match message(text) {
        Ok(t) => t,
        Err(why) => return Ok(UpdateOutcome::Invalid(why)),
    };
    if incidents.get(incident_id).await?.is_none() {
        return Ok(UpdateOutcome::NotFound);
    }
    let status = match status {
        Some(s) => s,
        None => incidents
            .timeline(incident_id)
            .await?
            .iter()
            .rev()
            .find_map(|e| match &e.event {
                TimelineEvent::StatusUpdate { status, .. } => Some(*status),
                _ => None,
            })
            .unwrap_or(UpdateStatus::Investigating),
    };
    let now = clock.now();
    let entry = TimelineEntry::new(
        now,
        format!("update#{}", iso(now)),
        TimelineEvent::StatusUpdate {
            status,
            message: text,
            by: user.to_string(),
        },
    );
    incidents.append(incident_id, &entry).await?;
    Ok(UpdateOutcome::Posted(entry))
}

#[cfg(test)]
mod tests;
