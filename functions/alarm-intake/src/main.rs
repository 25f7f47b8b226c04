//! `alarm-intake`: CloudWatch alarm state changes (EventBridge, SNS or a
//! direct alarm action) in; incidents opened, folded or resolved out.

use klaxon_app::intake::{Intake, IntakePorts};
use klaxon_aws::{
    cloudwatch::CloudWatchTags, dynamo::DynamoConfig, dynamo::DynamoStore, function_sdk_config,
    sfn::StepFunctions,
};
use klaxon_runtime::{HandlerError, Settings, init_tracing};
use klaxon_system::{RandomIds, SystemClock};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// This function's adapters, as the intake's ports.
enum Adapters {}

impl IntakePorts for Adapters {
    type Incidents = DynamoStore;
    type Memory = DynamoStore;
    type Escalations = StepFunctions;
    type Config = DynamoConfig;
    type Tags = CloudWatchTags;
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let escalations = StepFunctions::from_sdk(&sdk, settings.state_machine_arn()?);
    let config = DynamoConfig::from_sdk(&sdk, &settings.config_table, settings.config_cache);
    let tags = CloudWatchTags::from_sdk(&sdk);
    let intake = Intake::<Adapters> {
        incidents: &store,
        memory: &store,
        escalations: &escalations,
        config: &config,
        tags: &tags,
        clock: &SystemClock,
        ids: &RandomIds,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let intake = &intake;
        async move {
            intake
                .handle(&event.payload)
                .await
                .map_err(HandlerError::from)
        }
    }))
    .await
}
