//! `status-page`: the incidents table's stream -> the public status page
//! (index.html and status.json on S3), published again after each batch
//! that changed an incident. Only on stacks with `StatusPage=enabled`; a
//! batch that fails is retried by the event source mapping from its last
//! change.

use aws_lambda_events::dynamodb::Event;
use klaxon_app::status_page::StatusPageRefresh;
use klaxon_aws::{dynamo::DynamoConfig, dynamo::DynamoStore, dynamo::stream, function_sdk_config};
use klaxon_runtime::{StatusPageSettings, init_tracing};
use klaxon_s3::S3StatusPages;
use klaxon_system::SystemClock;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = StatusPageSettings::from_env()?;
    let sdk = function_sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, &settings.incidents_table);
    let config = DynamoConfig::from_sdk(&sdk, &settings.config_table, settings.config_cache);
    let pages = S3StatusPages::from_sdk(&sdk, &settings.bucket, None);
    let function = StatusPageRefresh {
        incidents: &store,
        config: &config,
        pages: &pages,
        clock: &SystemClock,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let function = &function;
        async move {
            let report = function.handle(&stream::records(&event.payload)).await;
            Ok::<_, lambda_runtime::Error>(report.response())
        }
    }))
    .await
}
