//! What operators do from the CLI: acknowledge and resolve by hand.

use super::{AppError, transition_event};
use crate::core::incident::{Actor, TimelineEntry};
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

#[cfg(test)]
mod tests;
