//! What operators do from the CLI: acknowledge and resolve by hand.

use jiff::Timestamp;

use super::{AppError, transition_event};
use crate::core::incident::{Actor, TimelineEntry};
use crate::ports::{Escalations, IncidentStore, Transition, TransitionOutcome};

/// Acknowledges or resolves an incident as an operator, and stops its
/// escalation when that succeeds.
pub async fn change_status<S: IncidentStore, E: Escalations>(
    store: &S,
    escalations: &E,
    incident_id: &str,
    transition: Transition,
    user: &str,
) -> Result<TransitionOutcome, AppError> {
    let actor = Actor::Cli {
        user: user.to_string(),
    };
    let now = Timestamp::now();
    let event = transition_event(transition, &actor);
    let entry = TimelineEntry::new(now, event.kind(), event);
    let outcome = store
        .transition(incident_id, transition, &actor, None, &entry)
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
