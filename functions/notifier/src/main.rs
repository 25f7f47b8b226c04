//! `notifier`: the incidents table's stream -> Slack, Microsoft Teams,
//! signed webhooks, stakeholder email lists and Incident Manager. Each
//! committed timeline entry is told to the destinations that want it;
//! each outcome lands on the timeline; a batch that fails is retried by
//! the event source mapping from the record that failed.

use aws_lambda_events::dynamodb::Event;
use klaxon_app::notifier::{Notifier, NotifierPorts};
use klaxon_app::secrets::CachedSecrets;
use klaxon_aws::{
    dynamo::DynamoConfig, dynamo::DynamoStore, dynamo::stream, function_sdk_config, ses::SesEmail,
};
use klaxon_http::HttpEndpoints;
use klaxon_incident_manager::SsmIncidentManager;
use klaxon_ports::RetryPolicy;
use klaxon_runtime::{NotifierSettings, init_tracing};
use klaxon_secrets::AwsSecrets;
use klaxon_sqs::SqsUndelivered;
use klaxon_system::SystemClock;
use lambda_runtime::{LambdaEvent, service_fn};

/// This function's adapters, as the notifier's ports.
enum Adapters {}

impl NotifierPorts for Adapters {
    type Incidents = DynamoStore;
    type Config = DynamoConfig;
    type Endpoints = HttpEndpoints;
    type Secrets = CachedSecrets<AwsSecrets, SystemClock>;
    type Email = SesEmail;
    type IncidentManager = SsmIncidentManager;
    type Undelivered = SqsUndelivered;
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = NotifierSettings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let config = DynamoConfig::from_sdk(&sdk, &settings.config_table, settings.config_cache);
    let endpoints = HttpEndpoints::new(RetryPolicy::default());
    let secrets = CachedSecrets::new(AwsSecrets::from_sdk(&sdk), SystemClock);
    // Without a sender, email destinations fail on the timeline (SES
    // refuses an empty source) instead of vanishing.
    let email = SesEmail::from_sdk(&sdk, settings.email_from.clone().unwrap_or_default());
    let incident_manager = SsmIncidentManager::from_sdk(&sdk);
    let undelivered = SqsUndelivered::from_sdk(&sdk, &settings.undelivered_queue_url);
    let notifier = Notifier::<Adapters> {
        incidents: &store,
        config: &config,
        endpoints: &endpoints,
        secrets: &secrets,
        email: &email,
        incident_manager: &incident_manager,
        undelivered: &undelivered,
        clock: &SystemClock,
        slack_api: &settings.slack_api_url,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let notifier = &notifier;
        async move {
            let report = notifier.handle(&stream::records(&event.payload)).await;
            Ok::<_, lambda_runtime::Error>(report.response())
        }
    }))
    .await
}
