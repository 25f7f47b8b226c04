//! `event-publisher`: the incidents table's stream -> Klaxon's EventBridge
//! bus. Each committed timeline entry becomes one incident event; a batch
//! that fails is retried by the event source mapping from the first record
//! not published. The same entries are counted as Klaxon's metrics
//! (pages sent and failed per channel, escalations exhausted or failed),
//! written as EMF lines on standard output.

use aws_lambda_events::dynamodb::Event;
use klaxon_app::publisher::Publisher;
use klaxon_aws::{
    dynamo::DynamoStore, dynamo::stream, emf::EmfLog, eventbridge::EventBridgeBus,
    function_sdk_config,
};
use klaxon_runtime::{PublisherSettings, init_tracing};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = PublisherSettings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let bus = EventBridgeBus::from_sdk(&sdk, &settings.event_bus);
    let metrics = EmfLog::stdout(&settings.stack);
    let publisher = Publisher {
        incidents: &store,
        bus: &bus,
        metrics: &metrics,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let publisher = &publisher;
        async move {
            let report = publisher.handle(&stream::records(&event.payload)).await;
            Ok::<_, lambda_runtime::Error>(report.response())
        }
    }))
    .await
}
