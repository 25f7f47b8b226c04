//! The escalation sweep, on its own schedule: finds every open,
//! unacknowledged incident whose escalation is not running (intake could
//! not start it, or the execution failed or timed out) and restarts it
//! where it stood, as a new generation of its execution.
//!
//! A restart first records the new execution on the incident, only while
//! the incident is still triggered and still records the old one, then
//! starts it. So an acknowledgement that comes first wins (nothing is
//! restarted); one that comes between the two stops an execution not yet
//! started, which then starts, finds the incident acknowledged at its first
//! step and ends; and a restart that dies between the two is restarted by
//! the next sweep as the generation after.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tracing::{info, warn};

use super::AppError;
use klaxon_core::escalation::generation;
use klaxon_core::incident::{Incident, Status, TimelineEntry, TimelineEvent};
use klaxon_core::metrics::Metric;
use klaxon_ports::{Clock, EscalationStatus, Escalations, Incidents, MetricLog, Paging};

/// An incident younger than this is left alone: intake may still be
/// starting its escalation.
pub const DEFAULT_GRACE: SignedDuration = SignedDuration::from_secs(60);

/// Which open incidents the sweep leaves alone on purpose: the self-test's
/// (its own run checks its escalation), and any a caller names (incidents
/// whose paging is suppressed on purpose, such as during maintenance).
pub type Exclude = fn(&Incident) -> bool;

/// The ports the sweep needs.
pub struct Sweep<'a, I, G, E, L> {
    pub incidents: &'a I,
    pub paging: &'a G,
    pub escalations: &'a E,
    /// Where incidents found without a running escalation, and restarts,
    /// are counted.
    pub metrics: &'a L,
    pub clock: &'a dyn Clock,
    /// How old an incident must be before it is swept ([`DEFAULT_GRACE`]).
    pub grace: SignedDuration,
    pub exclude: Exclude,
}

/// What one sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Open, unacknowledged incidents looked at.
    pub checked: usize,
    /// Of those, with their escalation running.
    pub running: usize,
    /// Of those, with no running escalation: nobody was being paged.
    pub without_escalation: usize,
    /// Escalations restarted.
    pub restarted: Vec<Restarted>,
    /// Incidents acknowledged, resolved or restarted by another run while
    /// this one looked: left as they were.
    pub raced: Vec<String>,
}

/// One restarted escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restarted {
    pub incident_id: String,
    pub execution: String,
    pub step: u32,
}

/// Leaves no incident out but the self-test's.
pub fn only_self_test(incident: &Incident) -> bool {
    incident.self_test
}

impl SweepReport {
    /// What the sweep counts: each incident found without a running
    /// escalation, and each restart.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut metrics = vec![Metric::IncidentWithoutEscalation; self.without_escalation];
        metrics.extend(std::iter::repeat_n(
            Metric::EscalationRestarted,
            self.restarted.len(),
        ));
        metrics
    }
}

impl<I, G, E, L> Sweep<'_, I, G, E, L>
where
    I: Incidents,
    G: Paging,
    E: Escalations + EscalationStatus,
    L: MetricLog,
{
    /// One sweep over the open incidents. One incident that cannot be
    /// restarted does not stop the others; the first such error is
    /// returned at the end (the function's error, alarmed on).
    pub async fn run(&self) -> Result<SweepReport, AppError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        let mut first_error = None;
        for incident in self.incidents.list_open().await? {
            if incident.status != Status::Triggered || (self.exclude)(&incident) {
                continue;
            }
            if now.duration_since(incident.opened_at) < self.grace {
                continue;
            }
            report.checked += 1;
            if let Err(e) = self.sweep(&incident, now, &mut report).await {
                warn!(incident = %incident.id, error = %e, "sweep: could not check or restart the escalation");
                first_error.get_or_insert(e);
            }
        }
        info!(
            checked = report.checked,
            running = report.running,
            without_escalation = report.without_escalation,
            restarted = report.restarted.len(),
            "escalation sweep done"
        );
        // Counted whether or not a restart failed: the incidents were found.
        self.metrics.record(&report.metrics(), now);
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn sweep(
        &self,
        incident: &Incident,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<(), AppError> {
        let previous = incident.escalation_execution.as_deref();
        let why = match previous {
            Some(execution) if !self.escalations.has_ended(execution).await? => {
                report.running += 1;
                return Ok(());
            }
            Some(execution) => format!("{execution} has ended"),
            None => "no escalation was ever started".to_string(),
        };
        report.without_escalation += 1;
        let generation = previous.map_or(0, |e| generation(e) + 1);
        let step = self
            .paging
            .last_fired_step(&incident.id)
            .await?
            .unwrap_or(0);
        let execution = self.escalations.execution(&incident.id, generation)?;
        let entry = TimelineEntry::new(
            now,
            format!("restart#{generation}"),
            TimelineEvent::Warning {
                step,
                message: format!(
                    "escalation restarted at step {step} as {execution}: {why} while the incident was unacknowledged"
                ),
            },
        );
        if !self
            .incidents
            .replace_escalation(&incident.id, previous, &execution, &entry)
            .await?
        {
            info!(incident = %incident.id, "sweep: acknowledged, resolved or restarted meanwhile; left alone");
            report.raced.push(incident.id.clone());
            return Ok(());
        }
        let started = self
            .escalations
            .restart(&incident.id, generation, step, 0)
            .await?;
        warn!(incident = %incident.id, execution = %started, step, %why, "escalation was not running: restarted");
        report.restarted.push(Restarted {
            incident_id: incident.id.clone(),
            execution: started,
            step,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
