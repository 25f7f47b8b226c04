//! `self-test`: on a schedule, one synthetic alarm through intake, the
//! escalation workflow and the escalator to a sink that pages nobody,
//! checked step by step and resolved, then each delivery channel read from
//! the account (SMS sandbox and spend, SES, the voice number) without
//! sending; success is published as the metric `Klaxon/SelfTestSucceeded`,
//! whose absence raises `<stack>-self-test`.

use klaxon_app::self_test::{Limits, SelfTest, SelfTestPorts};
use klaxon_aws::{
    channels::AwsDeliveryChannels, dynamo::DynamoConfig, dynamo::DynamoStore,
    metrics::CloudWatchMetrics, sdk_config, sfn::StepFunctions, with_call_timeouts,
};
use klaxon_lambda::LambdaIntake;
use klaxon_runtime::{HandlerError, SelfTestSettings, init_tracing};
use klaxon_system::{RandomIds, SystemClock, TokioSleep};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// The configuration is read once per run (the schedule's interval is minutes).
const CONFIG_CACHE: std::time::Duration = std::time::Duration::ZERO;

/// This function's adapters, as the self-test's ports.
enum Adapters {}

impl SelfTestPorts for Adapters {
    type Intake = LambdaIntake;
    type Incidents = DynamoStore;
    type Escalations = StepFunctions;
    type Metrics = CloudWatchMetrics;
    type Sleep = TokioSleep;
    type Channels = AwsDeliveryChannels;
    type Config = DynamoConfig;
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = SelfTestSettings::from_env()?;
    let tools = sdk_config().await;
    let sdk = with_call_timeouts(&tools);
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let config = DynamoConfig::from_sdk(&sdk, &settings.config_table, CONFIG_CACHE);
    // Intake is invoked synchronously and may start cold: its own time.
    let intake = LambdaIntake::from_sdk(&tools, &settings.intake_function);
    let escalations = StepFunctions::without_state_machine(&sdk);
    let metrics = CloudWatchMetrics::from_sdk(&sdk, &settings.stack);
    let channels = AwsDeliveryChannels::from_sdk(&sdk);
    let self_test = SelfTest::<Adapters> {
        intake: &intake,
        incidents: &store,
        escalations: &escalations,
        metrics: &metrics,
        channels: &channels,
        config: &config,
        stack_channels: &settings.channels,
        sleep: &TokioSleep,
        clock: &SystemClock,
        ids: &RandomIds,
        account: &settings.account,
        region: &settings.region,
        limits: Limits::default(),
    };
    // The scheduler's event says nothing the run needs.
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let self_test = &self_test;
        async move { self_test.run().await.map_err(HandlerError::from) }
    }))
    .await
}
