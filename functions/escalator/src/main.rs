//! `escalator`: runs one escalation step per queued message from the
//! escalation workflow, sends the notifications that are due, and answers the workflow.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use klaxon_app::escalator::{Escalator, EscalatorPorts};
use klaxon_aws::{
    chime::ChimeCalls, dynamo::DynamoConfig, dynamo::DynamoStore, emf::EmfLog, function_sdk_config,
    ses::SesEmail, sfn::StepFunctions, sns::SnsSms,
};
use klaxon_runtime::{Settings, init_tracing, stack_name};
use klaxon_system::SystemClock;
use lambda_runtime::{LambdaEvent, service_fn};

/// This function's adapters, as the escalator's ports.
enum Adapters {}

impl EscalatorPorts for Adapters {
    type Incidents = DynamoStore;
    type Paging = DynamoStore;
    type Sms = SnsSms;
    type Email = SesEmail;
    type Escalations = StepFunctions;
    type Config = DynamoConfig;
    type Calls = ChimeCalls;
    type Limits = DynamoStore;
    type Metrics = EmfLog<std::io::Stdout>;
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let sms = SnsSms::from_sdk(&sdk, settings.sms_origination_number.clone());
    let email = settings
        .email_from
        .as_deref()
        .map(|from| SesEmail::from_sdk(&sdk, from));
    let calls = settings
        .voice
        .as_ref()
        .map(|v| ChimeCalls::from_sdk(&sdk, &v.sip_media_application_id, v.from.clone()));
    let escalations = StepFunctions::from_sdk(&sdk, settings.state_machine_arn()?);
    let config = DynamoConfig::from_sdk(&sdk, &settings.config_table, settings.config_cache);
    let metrics = EmfLog::stdout(stack_name()?);
    let escalator = Escalator::<Adapters> {
        incidents: &store,
        paging: &store,
        clock: &SystemClock,
        metrics: &metrics,
        deadline: None,
        sms: &sms,
        email: email.as_ref(),
        calls: calls.as_ref(),
        limits: &store,
        escalations: &escalations,
        config: &config,
        retry: settings.page_retry,
        send_timeout: klaxon_app::escalator::SEND_TIMEOUT,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        // Page claims are held until this invocation must end.
        let deadline = i64::try_from(event.context.deadline)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        let mut escalator = escalator;
        escalator.deadline = deadline;
        async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                escalator.handle_batch(&event.payload).await,
            )
        }
    }))
    .await
}
