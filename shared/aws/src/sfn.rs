//! The escalation workflow on AWS Step Functions.

use serde_json::json;

use super::{backend_error, error_code};
use klaxon_ports::{BackendError, EscalationStatus, Escalations, StepResult};

/// Starts, stops and answers escalation executions of one state machine.
#[derive(Clone, Debug)]
pub struct StepFunctions {
    client: aws_sdk_sfn::Client,
    /// Needed to start executions; stopping and answering use execution
    /// ARNs and task tokens only.
    state_machine_arn: Option<String>,
}

impl StepFunctions {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, state_machine_arn: impl Into<String>) -> Self {
        Self::new(aws_sdk_sfn::Client::new(sdk), state_machine_arn)
    }

    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: Some(state_machine_arn.into()),
        }
    }

    /// For callers that only stop executions they know by ARN (the SMS
    /// reply function, the CLI): starting one fails.
    pub fn without_state_machine(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_sfn::Client::new(sdk),
            state_machine_arn: None,
        }
    }

    fn state_machine(&self) -> Result<&str, BackendError> {
        self.state_machine_arn.as_deref().ok_or(BackendError {
            service: "Step Functions",
            operation: "StartExecution",
            message: "no state machine configured (KLAXON_STATE_MACHINE_ARN)".into(),
            retryable: false,
        })
    }

    /// The execution ARN for an incident: the execution is named after it.
    pub fn execution_arn(&self, incident_id: &str) -> Result<String, BackendError> {
        self.generation_arn(incident_id, 0)
    }

    fn generation_arn(&self, incident_id: &str, generation: u32) -> Result<String, BackendError> {
        Ok(format!(
            "{}:{}",
            self.state_machine()?
                .replacen(":stateMachine:", ":execution:", 1),
            generation_name(incident_id, generation)
        ))
    }

    /// Starts the execution `name` with `input`; one that exists already
    /// (same name) counts as started.
    async fn start_named(
        &self,
        name: &str,
        input: serde_json::Value,
        existing: impl FnOnce() -> Result<String, BackendError>,
    ) -> Result<String, BackendError> {
        // Same name and same input: a second start is a no-op on AWS; a
        // different input means it was started already.
        match self
            .client
            .start_execution()
            .state_machine_arn(self.state_machine()?)
            .name(name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(out) => Ok(out.execution_arn),
            Err(e) if error_code(&e) == Some("ExecutionAlreadyExists") => existing(),
            Err(e) => Err(backend_error("Step Functions", "StartExecution", e)),
        }
    }
}

/// The name of generation `generation` of an incident's escalation.
pub fn generation_name(incident_id: &str, generation: u32) -> String {
    let suffix = klaxon_core::escalation::generation_suffix(generation);
    let mut name = execution_name(incident_id);
    name.truncate(80 - suffix.len());
    name + &suffix
}

/// Execution names allow 80 characters of `[A-Za-z0-9_-]`; incident ids fit.
pub fn execution_name(incident_id: &str) -> String {
    incident_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// Codes meaning the workflow no longer waits for this task.
const GONE: &[&str] = &["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"];

impl Escalations for StepFunctions {
    async fn start(&self, incident_id: &str, hold_seconds: u32) -> Result<String, BackendError> {
        let input = json!({"incident_id": incident_id, "step": 0, "hold_seconds": hold_seconds});
        self.start_named(&execution_name(incident_id), input, || {
            self.execution_arn(incident_id)
        })
        .await
    }

    fn execution(&self, incident_id: &str, generation: u32) -> Result<String, BackendError> {
        self.generation_arn(incident_id, generation)
    }

    async fn restart(
        &self,
        incident_id: &str,
        generation: u32,
        step: u32,
        hold_seconds: u32,
    ) -> Result<String, BackendError> {
        let input = json!({"incident_id": incident_id, "step": step, "hold_seconds": hold_seconds});
        self.start_named(&generation_name(incident_id, generation), input, || {
            self.generation_arn(incident_id, generation)
        })
        .await
    }

    async fn stop(&self, execution: &str, reason: &str) -> Result<(), BackendError> {
        match self
            .client
            .stop_execution()
            .execution_arn(execution)
            .cause(reason)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ExecutionDoesNotExist") => Ok(()),
            Err(e) => Err(backend_error("Step Functions", "StopExecution", e)),
        }
    }

    async fn complete_step(
        &self,
        task_token: &str,
        result: &StepResult,
    ) -> Result<bool, BackendError> {
        let output = serde_json::to_string(result).map_err(|e| BackendError {
            service: "Step Functions",
            operation: "SendTaskSuccess",
            message: e.to_string(),
            retryable: false,
        })?;
        match self
            .client
            .send_task_success()
            .task_token(task_token)
            .output(output)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e).is_some_and(|c| GONE.contains(&c)) => Ok(false),
            Err(e) => Err(backend_error("Step Functions", "SendTaskSuccess", e)),
        }
    }

    async fn fail_step(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<bool, BackendError> {
        let cause: String = cause.chars().take(32_000).collect();
        match self
            .client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e).is_some_and(|c| GONE.contains(&c)) => Ok(false),
            Err(e) => Err(backend_error("Step Functions", "SendTaskFailure", e)),
        }
    }
}

impl EscalationStatus for StepFunctions {
    async fn has_ended(&self, execution: &str) -> Result<bool, BackendError> {
        match self
            .client
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
        {
            Ok(out) => Ok(out.status != aws_sdk_sfn::types::ExecutionStatus::Running),
            Err(e) if error_code(&e) == Some("ExecutionDoesNotExist") => Ok(true),
            Err(e) => Err(backend_error("Step Functions", "DescribeExecution", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_is_named_after_the_incident() {
        let conf = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .build();
        let sfn = StepFunctions::new(
            aws_sdk_sfn::Client::from_conf(conf),
            "arn:aws:states:us-east-1:123456789012:stateMachine:klaxon-escalation",
        );
        assert_eq!(
            sfn.execution_arn("20261121-K7Q2XM").unwrap(),
            "arn:aws:states:us-east-1:123456789012:execution:klaxon-escalation:20261121-K7Q2XM"
        );
        assert_eq!(execution_name("a b/c"), "a_b_c");
    }
}
