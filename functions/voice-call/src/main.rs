//! `voice-call`: the SIP media application's handler. Every event of a
//! voice page (placed, answered, a key, silence, an update, the hang-up)
//! comes here; the answer is what the call says and does next.

use klaxon_app::voice::VoiceCalls;
use klaxon_aws::{
    chime::ChimeCalls, dynamo::DynamoConfig, dynamo::DynamoStore, function_sdk_config,
    sfn::StepFunctions,
};
use klaxon_runtime::{HandlerError, Settings, init_tracing};
use klaxon_system::SystemClock;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    // Stopping executions needs only their ARNs, which incidents record.
    let escalations =
        StepFunctions::from_sdk(&sdk, settings.state_machine_arn.clone().unwrap_or_default());
    let config = DynamoConfig::from_sdk(&sdk, &settings.config_table, settings.config_cache);
    let chime = aws_sdk_chimesdkvoice::Client::new(&sdk);
    // Calls are only updated here, never placed: the number is not needed.
    let calls = |sma: &str| ChimeCalls::updater(chime.clone(), sma);
    let voice = VoiceCalls {
        incidents: &store,
        escalations: &escalations,
        config: &config,
        calls,
        clock: &SystemClock,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let voice = &voice;
        async move {
            voice
                .handle(&event.payload)
                .await
                .map_err(HandlerError::from)
        }
    }))
    .await
}
