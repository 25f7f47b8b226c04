//! The escalation workflows (Step Functions).

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::BackendError;

/// What the escalation workflow is told after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub incident_id: String,
    /// The next step to run.
    pub step: u32,
    /// Seconds to wait before it.
    pub wait_seconds: u32,
    /// No more steps: the workflow ends.
    pub done: bool,
}

/// The escalation workflows.
pub trait Escalations: Send + Sync {
    /// Starts the incident's escalation, first holding `hold_seconds` (a
    /// flapping alarm); starting it again is harmless. Returns the
    /// execution id.
    fn start(
        &self,
        incident_id: &str,
        hold_seconds: u32,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// The execution id generation `generation` of the incident's
    /// escalation has (0: the one [`Escalations::start`] starts).
    fn execution(&self, incident_id: &str, generation: u32) -> Result<String, BackendError>;

    /// Starts generation `generation` of the incident's escalation at
    /// `step`, after `hold_seconds`: an escalation picked up where it stood
    /// (it stopped running while its incident still pages, or its previous
    /// generation ran long). Starting it again is harmless. Returns the
    /// execution id.
    fn restart(
        &self,
        incident_id: &str,
        generation: u32,
        step: u32,
        hold_seconds: u32,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// Stops an escalation; stopping a finished one is harmless.
    fn stop(
        &self,
        execution: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Reports a finished step. `Ok(false)` when the workflow no longer waits
    /// for it (stopped, or the step timed out).
    fn complete_step(
        &self,
        task_token: &str,
        result: &StepResult,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Reports a step that cannot succeed.
    fn fail_step(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}

/// Whether an escalation execution is still running (the self-test checks
/// that resolving its incident ended its escalation).
pub trait EscalationStatus: Send + Sync {
    /// `true` once the execution has stopped, failed or finished; an
    /// execution that does not exist has ended too.
    fn has_ended(&self, execution: &str)
    -> impl Future<Output = Result<bool, BackendError>> + Send;
}
