//! Status changes: which acknowledgements and resolutions may happen. Every
//! store decides with [`check_transition`], then makes the same checks part
//! of its write, so a concurrent change cannot slip between the two.

use jiff::Timestamp;

use super::incident::{Incident, Status};
use super::phone::Phone;

/// A status change requested by a responder, an operator or the alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Acknowledge,
    Resolve,
}

/// What must hold, in the same write, for a status change to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement<'a> {
    /// An operator: nothing beyond the status.
    None,
    /// A responder's reply: that number was paged for the incident.
    Paged(&'a Phone),
    /// The alarm's OK: no ALARM newer than this state time was folded in.
    /// A resolve with this requirement also records, in the same write,
    /// that the alarm's OK resolved this incident.
    AlarmNotAfter(Timestamp),
}

/// Result of a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionOutcome {
    Done(Box<Incident>),
    /// The incident's status does not allow it (already acknowledged or resolved).
    Refused(Status),
    /// The sender was not paged for this incident.
    NotPaged,
    /// The alarm fired again after the OK that asked for it.
    Stale,
    NotFound,
}

/// Whether a status change may happen to `current`: `Err` with the
/// outcome when it must not. Every store decides with this, then makes the
/// same checks part of its write.
pub fn check_transition(
    current: &Incident,
    transition: Transition,
    requirement: Requirement<'_>,
) -> Result<(), TransitionOutcome> {
    if let Requirement::Paged(phone) = requirement
        && !current.paged_numbers.contains(phone.as_str())
    {
        return Err(TransitionOutcome::NotPaged);
    }
    let allowed = match transition {
        Transition::Acknowledge => current.status.can_acknowledge(),
        Transition::Resolve => current.status.can_resolve(),
    };
    if !allowed {
        return Err(TransitionOutcome::Refused(current.status));
    }
    if let Requirement::AlarmNotAfter(ok_at) = requirement
        && current.alarm_state_at > ok_at
    {
        return Err(TransitionOutcome::Stale);
    }
    Ok(())
}
