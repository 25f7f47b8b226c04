//! `sms-reply`: two-way SMS replies (`ACK 4821`, `RES 4821`) from the SNS
//! topic AWS End User Messaging publishes them to.

use klaxon_app::reply::{Replies, RepliesPorts};
use klaxon_aws::{
    chime::ChimeCalls, dynamo::DynamoConfig, dynamo::DynamoStore, function_sdk_config,
    sfn::StepFunctions, sns::SnsSms,
};
use klaxon_runtime::{HandlerError, Settings, init_tracing};
use klaxon_system::SystemClock;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// This function's adapters, as the reply handler's ports.
enum Adapters {}

impl RepliesPorts for Adapters {
    type Incidents = DynamoStore;
    type Inbound = DynamoStore;
    type Sms = SnsSms;
    type Escalations = StepFunctions;
    type Config = DynamoConfig;
    type Calls = ChimeCalls;
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let sms = SnsSms::from_sdk(&sdk, settings.sms_origination_number.clone());
    // Stopping executions needs only their ARNs, which incidents record.
    let escalations =
        StepFunctions::from_sdk(&sdk, settings.state_machine_arn.clone().unwrap_or_default());
    let config = DynamoConfig::from_sdk(&sdk, &settings.config_table, settings.config_cache);
    let calls = settings
        .voice
        .as_ref()
        .map(|v| ChimeCalls::from_sdk(&sdk, &v.sip_media_application_id, v.from.clone()));
    let replies = Replies::<Adapters> {
        calls: calls.as_ref(),
        incidents: &store,
        inbound: &store,
        clock: &SystemClock,
        sms: &sms,
        escalations: &escalations,
        config: &config,
        deadline: None,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        // A confirmation claim is held until this invocation must end.
        let deadline = i64::try_from(event.context.deadline)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        let mut replies = replies;
        replies.deadline = deadline;
        async move {
            replies
                .handle(&event.payload)
                .await
                .map_err(HandlerError::from)
        }
    }))
    .await
}
