//! Long escalations: after [`RUNS_PER_GENERATION`] steps, an execution
//! hands the escalation over to the next generation of itself, so its
//! history stays far below Step Functions' 25,000 events.

use tracing::info;

use super::StepRequest;
use super::{Escalator, EscalatorPorts};
use crate::AppError;
use klaxon_core::escalation::generation;
use klaxon_core::incident::{TimelineEntry, TimelineEvent};
use klaxon_ports::{Escalations, Incidents, StepResult};

/// Steps one execution runs before handing over: at about 12 history
/// events each (plus 4 per step timeout retried), well within 25,000.
pub const RUNS_PER_GENERATION: u32 = 1000;

impl<P: EscalatorPorts> Escalator<'_, P> {
    /// `result`, or, once the execution that sent `request` has run
    /// [`RUNS_PER_GENERATION`] steps, the same continuing in the next
    /// generation: recorded on the incident (only while it is triggered
    /// and still names this execution, so an acknowledgement wins), started
    /// to wait what this one would have waited and run the same step, and
    /// this execution told it is done.
    pub(super) async fn hand_over_if_long(
        &self,
        request: &StepRequest,
        result: StepResult,
    ) -> Result<StepResult, AppError> {
        let Some(execution) = &request.execution else {
            return Ok(result);
        };
        if result.done || request.runs < RUNS_PER_GENERATION {
            return Ok(result);
        }
        let id = &request.incident_id;
        let next_generation = generation(execution) + 1;
        let next = self.escalations.execution(id, next_generation)?;
        let entry = TimelineEntry::new(
            self.clock.now(),
            format!("escalation#{next_generation}"),
            TimelineEvent::EscalationStarted {
                execution: next.clone(),
            },
        );
        let recorded = self
            .incidents
            .replace_escalation(id, Some(execution), &next, &entry)
            .await?
            // A retry after the record and before the start.
            || self
                .incidents
                .get(id)
                .await?
                .and_then(|i| i.escalation_execution)
                .as_deref()
                == Some(next.as_str());
        if !recorded {
            // Acknowledged or resolved meanwhile: this execution goes on
            // and ends at its next step.
            return Ok(result);
        }
        self.escalations
            .restart(id, next_generation, result.step, result.wait_seconds)
            .await?;
        info!(incident = %id, from = %execution, to = %next, runs = request.runs, "escalation continues in its next generation");
        Ok(StepResult {
            done: true,
            wait_seconds: 0,
            ..result
        })
    }
}
