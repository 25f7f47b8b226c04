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
use klaxon_aws::chime::ChimeCalls;
use klaxon_aws::cloudwatch::CloudWatchTags;
use klaxon_aws::dynamo::{DynamoConfig, DynamoStore};
use klaxon_aws::eventbridge::EventBridgeBus;
use klaxon_aws::metrics::CloudWatchMetrics;
use klaxon_aws::ses::SesEmail;
use klaxon_aws::sfn::StepFunctions;
use klaxon_aws::sns::SnsSms;
use klaxon_core::phone::Phone;

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
    Ok(assume(base, role, function_id).await)
}

/// Credentials of `role` in a session named `session`, assumed with
/// `base`'s (an administrator's) and refreshed as they expire.
pub async fn assume(base: &SdkConfig, role: &str, session: &str) -> SharedCredentialsProvider {
    let provider = AssumeRoleProvider::builder(role)
        .session_name(session)
        .session_length(Duration::from_secs(12 * 3600))
        .configure(base)
        .build()
        .await;
    SharedCredentialsProvider::new(provider)
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
    /// The delivery channels' reads (SNS, SES, CloudWatch, Chime SDK).
    pub channels: klaxon_aws::channels::AwsDeliveryChannels,
    /// The role's signed configuration, for adapters a test builds itself.
    pub sdk: SdkConfig,
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
        // Without the functions' call timeouts (5 s): the emulator answers
        // 10 to 100 times slower than AWS, and under the tests' load a
        // call that AWS answers in milliseconds can take longer here, so
        // timeouts made for AWS would cut calls that succeed. The
        // escalator here is told its sends have no timeout.
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
            channels: klaxon_aws::channels::AwsDeliveryChannels::from_sdk(&sdk),
            sdk,
        })
    }
}

/// The logical id of the template's managed policy for the `klaxon` CLI.
pub const OPERATOR_POLICY: &str = "OperatorPolicy";

/// The ARN of the role the tests' operator of `stack` has.
pub fn operator_role(stack: &Stack) -> String {
    format!(
        "arn:aws:iam::{}:role/{}-operator",
        stack.account, stack.name
    )
}

/// Credentials of an operator whose only permissions are the stack's
/// [`OPERATOR_POLICY`]: a role `<stack>-operator` that the account may
/// assume, with that policy attached (made once per stack), so the CLI's
/// commands run as an operator given just what the template ships.
pub async fn operator_credentials(
    base: &SdkConfig,
    stack: &Stack,
) -> Result<SharedCredentialsProvider, HarnessError> {
    let policy = stack.physical(OPERATOR_POLICY)?;
    let iam = aws_sdk_iam::Client::new(base);
    let role = operator_role(stack);
    let name = role.rsplit('/').next().unwrap_or_default().to_string();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", stack.account)},
            "Action": "sts:AssumeRole",
        }],
    });
    let iam_err = |what: &str, e: String| HarnessError::Aws(format!("{what} {name}: {e}"));
    match iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists_exception()) => {}
        Err(e) => {
            return Err(iam_err(
                "CreateRole",
                aws_sdk_iam::error::DisplayErrorContext(&e).to_string(),
            ));
        }
    }
    iam.attach_role_policy()
        .role_name(&name)
        .policy_arn(policy)
        .send()
        .await
        .map_err(|e| {
            iam_err(
                "AttachRolePolicy",
                aws_sdk_iam::error::DisplayErrorContext(&e).to_string(),
            )
        })?;
    Ok(assume(base, &role, "operator").await)
}

impl crate::Local {
    /// The SDK configuration of an operator with only the stack's
    /// [`OPERATOR_POLICY`]: what the CLI's commands run with in the tests.
    pub async fn as_operator(&self) -> Result<SdkConfig, HarnessError> {
        let credentials = operator_credentials(&self.sdk, &self.stack).await?;
        Ok(signed(&self.sdk, &credentials))
    }
}
