//! `escalation-sweep`: on its own schedule, restarts the escalation of
//! every open, unacknowledged incident whose escalation is not running
//! (intake could not start it, or its execution failed or timed out),
//! where it stood.

use klaxon_app::sweep::{DEFAULT_GRACE, Sweep, only_self_test};
use klaxon_aws::{dynamo::DynamoStore, emf::EmfLog, function_sdk_config, sfn::StepFunctions};
use klaxon_runtime::{HandlerError, Settings, init_tracing, stack_name};
use klaxon_system::SystemClock;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let escalations = StepFunctions::from_sdk(&sdk, settings.state_machine_arn()?);
    let metrics = EmfLog::stdout(stack_name()?);
    let sweep = Sweep {
        incidents: &store,
        paging: &store,
        escalations: &escalations,
        metrics: &metrics,
        clock: &SystemClock,
        grace: DEFAULT_GRACE,
        exclude: only_self_test,
    };
    // The scheduler's event says nothing the sweep needs.
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let sweep = &sweep;
        async move { sweep.run().await.map_err(HandlerError::from) }
    }))
    .await
}
