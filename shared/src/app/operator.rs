//! What operators do from the CLI: list incidents, acknowledge and resolve
//! by hand.

use super::{AppError, transition_event};
use crate::core::incident::{Actor, Incident, TimelineEntry};
use crate::ports::{Clock, Escalations, Incidents, Requirement, Transition, TransitionOutcome};

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

#[cfg(test)]
mod tests;
