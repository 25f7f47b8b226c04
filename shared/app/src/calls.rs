//! Ending the calls still ringing or under way about an incident that was
//! acknowledged or resolved: each is told (UpdateSipMediaApplicationCall),
//! and its handler says who closed it and hangs up.

use std::collections::{BTreeMap, BTreeSet};

use tracing::{info, warn};

use super::AppError;
use klaxon_core::incident::{Channel, Incident, Status, TimelineEntry, TimelineEvent};
use klaxon_core::voice::{CallNote, CallOutcome};
use klaxon_ports::{Clock, Incidents, PhoneCalls};

/// Update argument: the status the incident moved to.
pub const UPDATE_STATUS: &str = "klaxon_status";
/// Update argument: who moved it (as recorded).
pub const UPDATE_BY: &str = "klaxon_by";

/// The calls placed for an incident that have not ended, oldest first:
/// (transaction id, person called).
pub fn live_calls(timeline: &[TimelineEntry]) -> Vec<(String, String)> {
    let mut ended = BTreeSet::new();
    for e in timeline {
        if let TimelineEvent::Call {
            call,
            note: CallNote::Ended { .. } | CallNote::Updated { .. },
            ..
        } = &e.event
        {
            ended.insert(call.as_str());
        }
    }
    timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Paged {
                channel: Channel::Voice,
                message_id,
                person,
                ..
            } if !ended.contains(message_id.as_str()) => Some((message_id.clone(), person.clone())),
            _ => None,
        })
        .collect()
}

/// One call of an incident, from its timeline (`klaxon incidents show`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallSummary {
    pub call: String,
    pub person: String,
    /// The masked number called.
    pub to: String,
    #[serde(with = "klaxon_core::time::iso_ms")]
    pub placed_at: jiff::Timestamp,
    pub answered: bool,
    /// Keys pressed, each with what it did: `4: acknowledged`.
    pub keys: Vec<String>,
    /// `None` while the call is under way.
    pub outcome: Option<CallOutcome>,
    /// Set when Klaxon asked the call to end.
    pub ended_by_klaxon: Option<String>,
}

/// The incident's calls, in the order they were placed.
pub fn call_summaries(timeline: &[TimelineEntry]) -> Vec<CallSummary> {
    let mut calls: Vec<CallSummary> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Paged {
                channel: Channel::Voice,
                message_id,
                person,
                to,
                ..
            } => Some(CallSummary {
                call: message_id.clone(),
                person: person.clone(),
                to: to.clone(),
                placed_at: e.at,
                answered: false,
                keys: Vec::new(),
                outcome: None,
                ended_by_klaxon: None,
            }),
            _ => None,
        })
        .collect();
    for e in timeline {
        let TimelineEvent::Call { call, note, .. } = &e.event else {
            continue;
        };
        let Some(c) = calls.iter_mut().find(|c| &c.call == call) else {
            continue;
        };
        match note {
            CallNote::Answered => c.answered = true,
            CallNote::Key { key, effect } => c.keys.push(format!("{key}: {effect}")),
            CallNote::Updated { reason } => c.ended_by_klaxon = Some(reason.clone()),
            CallNote::Ended { outcome, .. } => c.outcome = Some(*outcome),
        }
    }
    calls
}

/// The arguments that tell a call its incident is closed.
pub fn closed_arguments(status: Status, by: Option<&str>) -> BTreeMap<String, String> {
    let mut args = BTreeMap::from([(UPDATE_STATUS.to_string(), status.as_str().to_string())]);
    if let Some(by) = by {
        args.insert(UPDATE_BY.to_string(), by.to_string());
    }
    args
}

/// Tells every live call about `incident` (but `except`, the call that
/// closed it) that it is closed, and notes it on the timeline. A call that
/// already ended is noted too. Errors are returned after every call was
/// tried: the caller's retry tries the rest again.
pub async fn end_calls<I: Incidents, V: PhoneCalls>(
    incidents: &I,
    calls: &V,
    clock: &dyn Clock,
    incident: &Incident,
    except: Option<&str>,
) -> Result<(), AppError> {
    if incident.status.pages() {
        return Ok(());
    }
    let timeline = incidents.timeline(&incident.id).await?;
    let by = match incident.status {
        Status::Resolved => incident.resolved_by.as_deref(),
        _ => incident.acknowledged_by.as_deref(),
    };
    let args = closed_arguments(incident.status, by);
    let mut failed = None;
    for (call, person) in live_calls(&timeline) {
        if Some(call.as_str()) == except {
            continue;
        }
        match calls.update_call(&call, &args).await {
            Ok(outcome) => {
                info!(incident = %incident.id, call = %call, ?outcome, "call told its incident is closed");
                let reason = format!(
                    "{} by {}",
                    incident.status.as_str().to_ascii_lowercase(),
                    by.unwrap_or("someone")
                );
                incidents
                    .append(
                        &incident.id,
                        &TimelineEntry::new(
                            clock.now(),
                            format!("call#{call}#updated"),
                            TimelineEvent::Call {
                                call: call.clone(),
                                person,
                                note: CallNote::Updated { reason },
                            },
                        ),
                    )
                    .await?;
            }
            Err(e) => {
                warn!(incident = %incident.id, call = %call, error = %e, "could not end a call");
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
