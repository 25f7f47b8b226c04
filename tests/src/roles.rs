//! Each function's calls signed with its own execution role.
//!
//! The harness assumes the role each deployed function runs with (read
//! back with `GetFunctionConfiguration`) and builds that function's
//! adapters from the role's credentials, so the emulator
//! (`scripts/moto_ext/iam.py`) allows or denies every call its code makes
//! as IAM would for the deployed function. The harness's own calls
//! (deploying, reading back, the tests' checks, operator actions such as
//! `klaxon config apply`) stand for AWS or an administrator and are not
//! judged.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_types::sdk_config::SharedCredentialsProvider;
use klaxon::aws::chime::ChimeCalls;
use klaxon::aws::cloudwatch::CloudWatchTags;
use klaxon::aws::dynamo::{DynamoConfig, DynamoStore};
use klaxon::aws::eventbridge::EventBridgeBus;
use klaxon::aws::metrics::CloudWatchMetrics;
use klaxon::aws::ses::SesEmail;
use klaxon::aws::sfn::StepFunctions;
use klaxon::aws::sns::SnsSms;
use klaxon::core::phone::Phone;

use crate::{HarnessError, Stack};

/// Credentials of `function_id`'s execution role, refreshed as they expire.
pub async fn role_credentials(
    base: &SdkConfig,
    stack: &Stack,
    function_id: &str,
) -> Result<SharedCredentialsProvider, HarnessError> {
    let role = &stack.function(function_id)?.role;
    if role.is_empty() {
        return Err(HarnessError::Template(format!(
            "{function_id} was deployed without an execution role"
        )));
    }
    let provider = AssumeRoleProvider::builder(role.clone())
        .session_name(function_id)
        .session_length(Duration::from_secs(12 * 3600))
        .configure(base)
        .build()
        .await;
    Ok(SharedCredentialsProvider::new(provider))
}

/// `base` signing as `credentials`.
pub fn signed(base: &SdkConfig, credentials: &SharedCredentialsProvider) -> SdkConfig {
    base.to_builder()
        .credentials_provider(credentials.clone())
        .build()
}

/// What every function's adapters are built with, from the deployed
/// functions' settings.
#[derive(Debug, Clone)]
pub struct Wiring {
    pub incidents_table: String,
    pub config_table: String,
    pub state_machine: String,
    pub sms_origination: Option<Phone>,
    pub email_from: Option<String>,
    /// (SIP media application id, the number calls come from).
    pub voice: Option<(String, Phone)>,
    pub event_bus: String,
    pub stack: String,
}

/// One function's adapters, each call signed as its role.
pub struct Side {
    pub store: DynamoStore,
    pub config: DynamoConfig,
    pub escalations: StepFunctions,
    pub sms: SnsSms,
    pub email: Option<SesEmail>,
    pub calls: Option<ChimeCalls>,
    pub chime: aws_sdk_chimesdkvoice::Client,
    pub bus: EventBridgeBus,
    pub tags: CloudWatchTags,
    pub metrics: CloudWatchMetrics,
}

impl Side {
    /// The adapters of `function_id` on `stack`: its role assumed through
    /// `klaxon_sdk` (the adapters' endpoint, a fault proxy or the
    /// emulator); CloudWatch metrics go to the emulator directly
    /// (`direct_sdk`), as before.
    pub async fn of(
        klaxon_sdk: &SdkConfig,
        direct_sdk: &SdkConfig,
        stack: &Stack,
        function_id: &str,
        wiring: &Wiring,
    ) -> Result<Self, HarnessError> {
        let credentials = role_credentials(direct_sdk, stack, function_id).await?;
        let sdk = signed(klaxon_sdk, &credentials);
        let direct = signed(direct_sdk, &credentials);
        Ok(Self {
            store: DynamoStore::from_sdk(&sdk, &wiring.incidents_table),
            // No caching locally, so an applied configuration takes effect at once.
            config: DynamoConfig::from_sdk(&sdk, &wiring.config_table, Duration::ZERO),
            escalations: StepFunctions::from_sdk(&sdk, &wiring.state_machine),
            sms: SnsSms::from_sdk(&sdk, wiring.sms_origination.clone()),
            email: wiring
                .email_from
                .as_ref()
                .map(|from| SesEmail::from_sdk(&sdk, from)),
            calls: wiring
                .voice
                .as_ref()
                .map(|(sma, from)| ChimeCalls::from_sdk(&sdk, sma, from.clone())),
            chime: aws_sdk_chimesdkvoice::Client::new(&sdk),
            bus: EventBridgeBus::from_sdk(&sdk, &wiring.event_bus),
            tags: CloudWatchTags::from_sdk(&sdk),
            metrics: CloudWatchMetrics::from_sdk(&direct, &wiring.stack),
        })
    }
}
