//! The local AWS harness: Klaxon's stack in an emulator, `infra/template.yaml`
//! deployed by the emulator's CloudFormation ([`stack`]), plus the event
//! routing the emulator cannot do (EventBridge/SNS invoking Lambda, event
//! source mappings), run with the settings read back from the deployed
//! stack. Handlers are Klaxon's real code, called with the JSON AWS would
//! deliver.

pub mod emulator;
pub mod events;
pub mod faults;
mod handlers;
pub use handlers::{LocalIntake, LocalPorts};
pub mod incident_manager;
pub mod invoke;
pub mod notifications;
pub mod phone;
pub mod receiver;
pub mod roles;
pub mod runner;
pub mod stack;
pub mod status_page;
pub mod storm;
pub mod streams;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use jiff::{SignedDuration, Timestamp};
use klaxon_aws::chime::ChimeCalls;
use klaxon_aws::cloudwatch::CloudWatchTags;
use klaxon_aws::dynamo::{DynamoConfig, DynamoStore};
use klaxon_aws::eventbridge::EventBridgeBus;
use klaxon_aws::metrics::CloudWatchMetrics;
use klaxon_aws::ses::SesEmail;
use klaxon_aws::sfn::StepFunctions;
use klaxon_aws::sns::SnsSms;
use klaxon_config::OncallConfig;
use klaxon_ports::{AlarmDelivery, BackendError};
use klaxon_runtime::{PublisherSettings, SelfTestSettings};
use serde_json::{Value, json};

pub use emulator::{Emulator, IamCall, SentEmail, SentSms};
pub use stack::Stack;
pub use template::Template;

/// Logical ids in `infra/template.yaml` the harness relies on.
pub mod ids {
    pub const INTAKE: &str = "AlarmIntakeFunction";
    pub const SMS_REPLY: &str = "SmsReplyFunction";
    pub const ESCALATOR: &str = "EscalatorFunction";
    pub const SELF_TEST: &str = "SelfTestFunction";
    pub const VOICE_CALL: &str = "VoiceCallFunction";
    pub const EVENT_PUBLISHER: &str = "EventPublisherFunction";
    pub const NOTIFIER: &str = "NotifierFunction";
    pub const STATUS_PAGE: &str = "StatusPageFunction";
    pub const ESCALATION_SWEEP: &str = "EscalationSweepFunction";
    pub const EVENT_BUS: &str = "EventBus";
    pub const SIP_MEDIA_APPLICATION: &str = "SipMediaApplication";
    pub const ESCALATION_QUEUE: &str = "EscalationQueue";
    pub const INCIDENTS_TABLE: &str = "IncidentsTable";
    pub const CONFIG_TABLE: &str = "ConfigTable";
    pub const STATE_MACHINE: &str = "EscalationStateMachine";
    pub const ALARM_RULE_EVENT: &str = "AlarmStateChange";
    /// The incidents stream's event of the publisher, the notifier and the
    /// status page function (each its own event source mapping).
    pub const STREAM_EVENT: &str = "IncidentChanges";
    /// The escalator's SQS event (its event source mapping).
    pub const ESCALATION_EVENT: &str = "EscalationTasks";
}

/// The variable that sets [`time_scale`].
pub const TIME_SCALE_VAR: &str = "KLAXON_TIME_SCALE";
/// The harness's time scale unless `KLAXON_TIME_SCALE` says otherwise.
pub const DEFAULT_TIME_SCALE: f64 = 0.05;

/// How much faster than AWS the local stack's waits run: the queue's
/// visibility timeout as the event source mappings see it, and the
/// workflow's timings (its template parameters). `1` is AWS's own timing;
/// the default, 1/20, brings a failed escalation step back after 4.5 s
/// instead of 90 s.
pub fn time_scale() -> f64 {
    std::env::var(TIME_SCALE_VAR)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= 1.0)
        .unwrap_or(DEFAULT_TIME_SCALE)
}

/// A duration of AWS's, scaled by [`time_scale`] (never under a second,
/// SQS's and Step Functions' unit).
pub fn scaled(seconds: u64) -> Duration {
    let s = (seconds as f64 * time_scale()).ceil();
    Duration::from_secs((s as u64).max(1))
}

/// The template parameter that sets the workflow's step timeout
/// (NotifyStep's `TimeoutSecondsPath`, through `DefinitionSubstitutions`).
pub const STEP_TIMEOUT_PARAMETER: &str = "EscalationStepTimeoutSeconds";

/// The escalator's deadline as a share of the escalation queue's visibility
/// timeout, as deployed (15 s of 90 s: AWS's advice of a visibility six
/// times the function's timeout). A failed step comes back no sooner than
/// the deadline of the invocation that took it, so the escalation loop's
/// waits shrink no further than this; [`Local::up`] checks it against the
/// deployed values.
pub const ESCALATOR_DEADLINE_SHARE: f64 = 15.0 / 90.0;

/// How much faster than AWS the escalation loop runs at `scale`: the
/// scale, but no faster than a failed step can come back. The workflow's
/// step timeout keeps its proportion to the queue's visibility timeout (300
/// to 90 in AWS), so a failing step is retried by the queue about three
/// times before the workflow queues it again, as in AWS.
pub fn escalation_loop_scale(scale: f64) -> f64 {
    scale.max(ESCALATOR_DEADLINE_SHARE)
}

/// The template parameters that time a failing page's retries
/// (`PageRetryFirstSeconds`, `PageRetryMaxSeconds`, `PageRetryMinutes`).
pub const PAGE_RETRY_PARAMETERS: [&str; 3] = [
    "PageRetryFirstSeconds",
    "PageRetryMaxSeconds",
    "PageRetryMinutes",
];

/// The workflow's timing parameters for a local stack at `scale`: the
/// template's defaults (AWS's timings) shrunk, the step timeout by
/// [`escalation_loop_scale`], a failing page's retries by `scale` itself
/// (they wait in the workflow, not in the queue). At 1 they are the
/// defaults.
pub fn workflow_parameters(scale: f64) -> Result<BTreeMap<String, String>, HarnessError> {
    let template = Template::repo()?;
    let default = |name: &str| -> Result<f64, HarnessError> {
        let text = template.parameter_default(name)?;
        text.parse()
            .map_err(|_| HarnessError::Template(format!("{name}: default {text:?}")))
    };
    let step_timeout = default(STEP_TIMEOUT_PARAMETER)?;
    let local = (step_timeout * escalation_loop_scale(scale))
        .ceil()
        .max(1.0) as u64;
    let mut params = BTreeMap::from([(STEP_TIMEOUT_PARAMETER.to_string(), local.to_string())]);
    for name in PAGE_RETRY_PARAMETERS {
        params.insert(name.to_string(), format!("{:.3}", default(name)? * scale));
    }
    Ok(params)
}

/// A plain HTTP client for the harness (the emulator and stand-ins speak
/// HTTP only).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::new()
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("template: {0}")]
    Template(String),
    #[error("AWS: {0}")]
    Aws(String),
    #[error("emulator: {0}")]
    Emulator(String),
    #[error("config: {0}")]
    Config(String),
}

/// One local stack with Klaxon's adapters wired to it.
pub struct Local {
    pub sdk: SdkConfig,
    pub emulator: Emulator,
    pub stack: Stack,
    pub store: DynamoStore,
    pub config: DynamoConfig,
    pub sms: SnsSms,
    pub email: Option<SesEmail>,
    pub tags: CloudWatchTags,
    pub escalations: StepFunctions,
    pub sqs: aws_sdk_sqs::Client,
    /// How long one escalator invocation may run (the template's timeout).
    pub escalator_timeout: Duration,
    /// How the escalator retries a failing page (the template's
    /// `PageRetry*` parameters, scaled).
    pub page_retry: klaxon_core::escalation::PageRetry,
    /// How long one sms-reply invocation may run.
    pub reply_timeout: Duration,
    /// The escalation queue's visibility timeout, scaled ([`scaled`]).
    pub escalation_visibility: Duration,
    /// What the self-test function would be configured with on this stack.
    pub self_test: SelfTestSettings,
    /// The self-test's success metric of this stack (moto's CloudWatch).
    pub metrics: CloudWatchMetrics,
    /// The EMF lines the functions run here wrote (in Lambda, their
    /// standard output, which CloudWatch Logs reads as metrics).
    pub metric_log: klaxon_aws::emf::EmfLog<Vec<u8>>,
    /// Voice pages, on a stack with a voice number ([`Local::up_voice`]).
    pub calls: Option<ChimeCalls>,
    /// The Chime SDK Voice client the voice-call handler updates calls with.
    pub chime: aws_sdk_chimesdkvoice::Client,
    /// The stack's event bus, as the event publisher is configured.
    pub bus: EventBridgeBus,
    /// The publisher's event source mapping on the incidents table's stream.
    pub stream: streams::StreamMapping,
    /// The notifier's event source mapping, queue and adapters.
    pub as_notifier: notifications::NotifierSide,
    /// The status page function's event source mapping and bucket (local
    /// stacks are deployed with `StatusPage=enabled`).
    pub status_page: Option<status_page::StatusPageSide>,
    /// Each function's adapters, signed as its execution role
    /// ([`roles`]); the fields above are the harness's own (an
    /// administrator's), for setting up and checking.
    pub as_intake: roles::Side,
    pub as_escalator: roles::Side,
    pub as_reply: roles::Side,
    pub as_publisher: roles::Side,
    /// On a stack with voice ([`Local::up_voice`]).
    pub as_voice: Option<roles::Side>,
    /// On a stack with the self-test (`SelfTestIntervalMinutes` not 0).
    pub as_self_test: Option<roles::Side>,
    pub as_sweep: roles::Side,
}

/// What handing the stream's new records to the publisher came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishRound {
    pub published: usize,
    /// The record the publisher asked to retry from, and why.
    pub failed_at: Option<(String, String)>,
}

/// The voice number local stacks with voice call from (`VoiceFromNumber`).
pub const LOCAL_VOICE_FROM: &str = "+12065550100";

/// The deadline of an invocation starting now that may run `timeout`.
fn deadline_in(timeout: Duration) -> Option<Timestamp> {
    SignedDuration::try_from(timeout)
        .ok()
        .and_then(|d| Timestamp::now().checked_add(d).ok())
}

/// The sender address local stacks use for pages by email (the template's
/// `EmailFrom` parameter; the SES identity is created in the emulator).
pub const LOCAL_EMAIL_FROM: &str = "pages@klaxon.example";

impl Local {
    /// Connects to the emulator and provisions (or reuses) a stack.
    pub async fn up(stack_name: &str) -> Result<Self, HarnessError> {
        Self::up_via(stack_name, None).await
    }

    /// Like [`Local::up`], with Klaxon's adapters reaching the emulator
    /// through `endpoint` (a [`faults::FaultProxy`]) when given. The
    /// harness's own calls (provisioning, the escalation queue's event
    /// source mapping, reading what the emulator observed) stand in for
    /// AWS and go direct.
    pub async fn up_via(stack_name: &str, endpoint: Option<&str>) -> Result<Self, HarnessError> {
        Self::up_with(stack_name, endpoint, None, time_scale(), &[]).await
    }

    /// Like [`Local::up_via`], with some template parameters set as given
    /// (after the scaled ones).
    pub async fn up_with_parameters(
        stack_name: &str,
        endpoint: Option<&str>,
        parameters: &[(&str, String)],
    ) -> Result<Self, HarnessError> {
        Self::up_with(stack_name, endpoint, None, time_scale(), parameters).await
    }

    /// Like [`Local::up`], with the workflow's timings at `scale` instead of
    /// [`time_scale`] (1: AWS's own, for a benchmark whose steps wait in a
    /// slow emulator's queue far longer than in AWS).
    pub async fn up_with_workflow_scale(
        stack_name: &str,
        scale: f64,
    ) -> Result<Self, HarnessError> {
        Self::up_with(stack_name, None, None, scale, &[]).await
    }

    /// Like [`Local::up_voice`], with Klaxon's adapters reaching the
    /// emulator through `endpoint` (a fault proxy) and some template
    /// parameters set as given.
    pub async fn up_voice_with(
        stack_name: &str,
        network: &phone::PhoneNetwork,
        endpoint: Option<&str>,
        parameters: &[(&str, String)],
    ) -> Result<Arc<Self>, HarnessError> {
        let local = Arc::new(
            Self::up_with(
                stack_name,
                endpoint,
                Some(&network.endpoint),
                time_scale(),
                parameters,
            )
            .await?,
        );
        Self::answer_calls(&local, network);
        Ok(local)
    }

    /// A stack with a voice number, whose calls go to `network` (reached as
    /// `AWS_ENDPOINT_URL_CHIME_SDK_VOICE`); the network's calls go to this
    /// stack's voice-call handler.
    pub async fn up_voice(
        stack_name: &str,
        network: &phone::PhoneNetwork,
    ) -> Result<Arc<Self>, HarnessError> {
        Self::up_voice_with(stack_name, network, None, &[]).await
    }

    /// The network's calls go to this stack's voice-call handler.
    fn answer_calls(local: &Arc<Self>, network: &phone::PhoneNetwork) {
        let handler = Arc::clone(local);
        network.connect(Arc::new(move |event| {
            let local = Arc::clone(&handler);
            Box::pin(async move {
                local
                    .voice()
                    .handle(&event)
                    .await
                    .map_err(|e| e.to_string())
            })
        }));
    }

    async fn up_with(
        stack_name: &str,
        endpoint: Option<&str>,
        phone: Option<&str>,
        workflow_scale: f64,
        overrides: &[(&str, String)],
    ) -> Result<Self, HarnessError> {
        let emulator = Emulator::from_env()?;
        emulator.enable_step_functions().await?;
        let sdk = klaxon_aws::sdk_config().await;
        let sdk = match phone {
            Some(url) => sdk
                .to_builder()
                .service_config(phone::VoiceEndpoint(url.to_string()))
                .build(),
            None => sdk,
        };
        let klaxon_sdk = match endpoint {
            // The environment's endpoint would win over the configuration's
            // (`AWS_ENDPOINT_URL` is read again per service): replace it.
            Some(url) => sdk
                .to_builder()
                .endpoint_url(url)
                .service_config(faults::Endpoint {
                    all: url.to_string(),
                    voice: phone.map(str::to_string),
                })
                .build(),
            None => sdk.clone(),
        };
        let mut params = workflow_parameters(workflow_scale)?;
        params.insert("EmailFrom".into(), LOCAL_EMAIL_FROM.into());
        params.insert("StatusPage".into(), "enabled".into());
        for (name, value) in overrides {
            params.insert((*name).to_string(), value.clone());
        }
        let mut deploy_env = Vec::new();
        if let Some(url) = phone {
            params.insert("VoiceFromNumber".into(), LOCAL_VOICE_FROM.into());
            // The custom resource's function creates the SIP media
            // application on the simulated network, as it would on Chime.
            deploy_env.push(("AWS_ENDPOINT_URL_CHIME_SDK_VOICE", url));
        }
        let stack = Stack::provision_with(&sdk, stack_name, params, &deploy_env).await?;
        // Each adapter is configured from the settings the template gives
        // the function that uses it.
        let intake = stack.settings(ids::INTAKE)?;
        let escalator = stack.settings(ids::ESCALATOR)?;
        let store = DynamoStore::from_sdk(&klaxon_sdk, &intake.incidents_table);
        // No caching locally, so an applied configuration takes effect at once.
        let config = DynamoConfig::from_sdk(&klaxon_sdk, &intake.config_table, Duration::ZERO);
        let sms = SnsSms::from_sdk(&klaxon_sdk, escalator.sms_origination_number.clone());
        // The sender must be an SES identity, as in a real account.
        let email = match &escalator.email_from {
            Some(from) => {
                let created = aws_sdk_sesv2::Client::new(&sdk)
                    .create_email_identity()
                    .email_identity(from)
                    .send()
                    .await;
                if let Err(e) = created
                    && !e
                        .as_service_error()
                        .is_some_and(|se| se.is_already_exists_exception())
                {
                    return Err(HarnessError::Aws(
                        aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string(),
                    ));
                }
                Some(SesEmail::from_sdk(&klaxon_sdk, from))
            }
            None => None,
        };
        let tags = CloudWatchTags::from_sdk(&klaxon_sdk);
        let escalations = StepFunctions::from_sdk(
            &klaxon_sdk,
            escalator
                .state_machine_arn()
                .map_err(|e| HarnessError::Template(e.to_string()))?,
        );
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let escalator_timeout = Duration::from_secs(stack.function_timeout(ids::ESCALATOR)?);
        let reply_timeout = Duration::from_secs(stack.function_timeout(ids::SMS_REPLY)?);
        let visibility = sqs
            .get_queue_attributes()
            .queue_url(stack.physical(ids::ESCALATION_QUEUE)?)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .map_err(|e| {
                HarnessError::Aws(format!(
                    "GetQueueAttributes: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ))
            })?
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                    .cloned()
            })
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                HarnessError::Emulator("the escalation queue has no visibility timeout".into())
            })?;
        let escalation_visibility = scaled(visibility);
        if escalator_timeout.as_secs_f64() > visibility as f64 * ESCALATOR_DEADLINE_SHARE {
            return Err(HarnessError::Template(format!(
                "the escalator's timeout ({} s) is now more than {ESCALATOR_DEADLINE_SHARE:.3} of the \
                 escalation queue's visibility timeout ({visibility} s): update \
                 ESCALATOR_DEADLINE_SHARE, which scales the workflow's step timeout",
                escalator_timeout.as_secs()
            )));
        }
        let self_test = stack.self_test_settings()?;
        let metrics = CloudWatchMetrics::from_sdk(&sdk, &self_test.stack);
        let calls = escalator.voice.as_ref().map(|v| {
            ChimeCalls::from_sdk(&klaxon_sdk, &v.sip_media_application_id, v.from.clone())
        });
        let chime = aws_sdk_chimesdkvoice::Client::new(&klaxon_sdk);
        let metric_log = klaxon_aws::emf::EmfLog::new(stack.name.clone(), Vec::new());
        let publisher_env = stack.function_env(ids::EVENT_PUBLISHER)?;
        let publisher = PublisherSettings::from_lookup(|k| publisher_env.get(k).cloned())
            .map_err(|e| HarnessError::Template(format!("{}: {e}", ids::EVENT_PUBLISHER)))?;
        let bus = EventBridgeBus::from_sdk(&klaxon_sdk, &publisher.event_bus);
        let stream = streams::StreamMapping::deployed(&sdk, &stack, ids::EVENT_PUBLISHER)?;
        let wiring = roles::Wiring {
            incidents_table: intake.incidents_table.clone(),
            config_table: intake.config_table.clone(),
            state_machine: escalator
                .state_machine_arn()
                .map_err(|e| HarnessError::Template(e.to_string()))?
                .to_string(),
            sms_origination: escalator.sms_origination_number.clone(),
            email_from: escalator.email_from.clone(),
            voice: escalator
                .voice
                .as_ref()
                .map(|v| (v.sip_media_application_id.clone(), v.from.clone())),
            event_bus: publisher.event_bus.clone(),
            stack: self_test.stack.clone(),
        };
        let side = async |id: &str| roles::Side::of(&klaxon_sdk, &sdk, &stack, id, &wiring).await;
        let as_intake = side(ids::INTAKE).await?;
        let as_escalator = side(ids::ESCALATOR).await?;
        let as_reply = side(ids::SMS_REPLY).await?;
        let as_publisher = side(ids::EVENT_PUBLISHER).await?;
        let as_voice = match stack.has(ids::VOICE_CALL) {
            true => Some(side(ids::VOICE_CALL).await?),
            false => None,
        };
        let as_self_test = match stack.has(ids::SELF_TEST) {
            true => Some(side(ids::SELF_TEST).await?),
            false => None,
        };
        let as_sweep = side(ids::ESCALATION_SWEEP).await?;
        let notifier = notifications::NotifierSide::new(
            &sdk,
            &klaxon_sdk,
            &stack,
            &intake.incidents_table,
            &intake.config_table,
        )
        .await?;
        let status_page = status_page::StatusPageSide::new(
            &sdk,
            &klaxon_sdk,
            &stack,
            &intake.incidents_table,
            &intake.config_table,
        )
        .await?;
        Ok(Self {
            as_intake,
            as_escalator,
            as_reply,
            as_publisher,
            as_voice,
            as_self_test,
            as_sweep,
            as_notifier: notifier,
            status_page,
            bus,
            stream,
            calls,
            chime,
            sdk,
            emulator,
            stack,
            store,
            config,
            sms,
            email,
            tags,
            escalations,
            sqs,
            escalator_timeout,
            page_retry: escalator.page_retry,
            reply_timeout,
            escalation_visibility,
            metric_log,
            self_test,
            metrics,
        })
    }

    /// The subscriptions of this stack's operator alerts topic, as SNS
    /// lists them.
    pub async fn operator_subscriptions(
        &self,
    ) -> Result<Vec<aws_sdk_sns::types::Subscription>, HarnessError> {
        let topic = self.stack.physical("OperatorAlertsTopic")?;
        let out = aws_sdk_sns::Client::new(&self.sdk)
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .send()
            .await
            .map_err(|e| {
                HarnessError::Aws(aws_sdk_sns::error::DisplayErrorContext(&e).to_string())
            })?;
        Ok(out.subscriptions().to_vec())
    }

    /// Validates and stores an on-call configuration, as `klaxon config apply` does.
    pub async fn apply_config(&self, yaml: &str) -> Result<(), HarnessError> {
        OncallConfig::from_yaml(yaml).map_err(|e| HarnessError::Config(e.to_string()))?;
        let revision = self
            .config
            .load()
            .await
            .map_err(|e| HarnessError::Aws(e.to_string()))?
            .map_or(0, |c| c.revision);
        self.config
            .store(yaml, "klaxon-local", revision)
            .await
            .map_err(|e| HarnessError::Aws(e.to_string()))?;
        Ok(())
    }

    /// A rule on this stack's bus copying every event to a new queue.
    pub async fn tap_bus(&self, name: &str) -> Result<streams::BusTap, HarnessError> {
        let bus = self.stack.physical(ids::EVENT_BUS)?;
        streams::BusTap::attach(&self.sdk, bus, &format!("{}-tap-{name}", self.stack.name)).await
    }

    /// One round of the escalator's SQS event source mapping, as deployed:
    /// receive up to its batch size of step messages, hand them to the
    /// escalator as the SQS event AWS would send, delete the ones it did not
    /// report as failed (all of them fail when the mapping does not report
    /// batch item failures and the invocation failed). A failed or
    /// unfinished message stays invisible for the queue's visibility
    /// timeout (scaled by [`time_scale`]) and comes back then, as SQS
    /// brings it back; the queue's redrive policy moves it to the
    /// dead-letter queue after its last receive.
    pub async fn pump_once(&self, wait: Duration) -> Result<usize, HarnessError> {
        let queue = self.stack.physical(ids::ESCALATION_QUEUE)?.to_string();
        let mapping = self.stack.mapping(ids::ESCALATOR, ids::ESCALATION_EVENT)?;
        let out = self
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(i32::try_from(mapping.batch_size.min(10)).unwrap_or(10))
            .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(1))
            .send()
            .await
            .map_err(|e| {
                HarnessError::Aws(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
            })?;
        let received_at = tokio::time::Instant::now();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(0);
        }
        let queue_arn = self.stack.arn(ids::ESCALATION_QUEUE)?;
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                    "awsRegion": self.stack.region,
                })
            })
            .collect();
        let event: aws_lambda_events::sqs::SqsEvent =
            serde_json::from_value(json!({ "Records": records }))
                .map_err(|e| HarnessError::Aws(format!("building SQS event: {e}")))?;
        // Lambda ends an invocation at its deadline: whatever it had not
        // done by then is not done, and the whole batch comes back.
        let Ok(response) = tokio::time::timeout(
            self.escalator_timeout,
            self.escalator().handle_batch(&event),
        )
        .await
        else {
            tracing::warn!(messages = messages.len(), "escalator batch timed out");
            for m in &messages {
                self.back_after_visibility(&queue, m, received_at).await?;
            }
            return Ok(messages.len());
        };
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let all_failed = !failed.is_empty() && !mapping.report_batch_item_failures;
        for m in &messages {
            if all_failed || failed.contains(&m.message_id().unwrap_or_default()) {
                self.back_after_visibility(&queue, m, received_at).await?;
                continue;
            }
            if let Some(handle) = m.receipt_handle() {
                self.sqs
                    .delete_message()
                    .queue_url(&queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| {
                        HarnessError::Aws(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
                    })?;
            }
        }
        Ok(messages.len())
    }
}

impl Local {
    /// A received message comes back once the queue's visibility timeout,
    /// scaled, has passed since it was received, and not before the
    /// deadline of the invocation that received it (as in AWS, where the
    /// visibility timeout outlasts the function's). At scale 1, SQS's own
    /// timeout does it.
    async fn back_after_visibility(
        &self,
        queue: &str,
        m: &aws_sdk_sqs::types::Message,
        received_at: tokio::time::Instant,
    ) -> Result<(), HarnessError> {
        if time_scale() >= 1.0 {
            return Ok(());
        }
        let Some(handle) = m.receipt_handle() else {
            return Ok(());
        };
        // Never before the invocation's deadline either: in AWS the
        // timeout (90 s) outlasts the function (15 s), whose claims are
        // leased until its deadline.
        let remaining = self
            .escalation_visibility
            .max(self.escalator_timeout)
            .saturating_sub(received_at.elapsed());
        self.sqs
            .change_message_visibility()
            .queue_url(queue)
            .receipt_handle(handle)
            // Rounded up: never sooner than the timeout.
            .visibility_timeout(
                i32::try_from(remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0))
                    .unwrap_or(0),
            )
            .send()
            .await
            .map_err(|e| {
                HarnessError::Aws(format!(
                    "ChangeMessageVisibility: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }
}

/// The URL of the queue an ARN names (an on-failure destination).
async fn queue_url_of(sqs: &aws_sdk_sqs::Client, arn: &str) -> Result<String, HarnessError> {
    let name = arn.rsplit(':').next().unwrap_or(arn);
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| {
            HarnessError::Aws(format!(
                "GetQueueUrl {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            ))
        })?
        .queue_url
        .ok_or_else(|| HarnessError::Emulator(format!("no URL for queue {name}")))
}

/// Lambda's on-failure record to its destination queue (named by ARN).
pub(crate) async fn send_on_failure(
    sqs: &aws_sdk_sqs::Client,
    destination: &str,
    record: &Value,
) -> Result<(), HarnessError> {
    let url = queue_url_of(sqs, destination).await?;
    sqs.send_message()
        .queue_url(url)
        .message_body(record.to_string())
        .send()
        .await
        .map_err(|e| {
            HarnessError::Aws(format!(
                "SendMessage {destination}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            ))
        })?;
    Ok(())
}

/// The self-test's delivery, locally: the intake handler answers as the
/// intake function answers `lambda:Invoke`, with its outcomes or its error.
impl AlarmDelivery for Local {
    async fn deliver(&self, event: &Value) -> Result<Value, BackendError> {
        match self.deliver_alarm(event).await {
            Ok(outcomes) => serde_json::to_value(outcomes).map_err(|e| BackendError {
                service: "klaxon-local",
                operation: "Invoke",
                message: e.to_string(),
                retryable: false,
            }),
            Err(e) => Err(BackendError::invocation(
                &self.self_test.intake_function,
                e.error_type(),
                &e.to_string(),
            )),
        }
    }
}

/// The escalator's event source mapping, running in the background until
/// dropped.
pub struct Pump {
    stop: Arc<AtomicBool>,
    /// Step messages received so far (redeliveries included).
    received: Arc<AtomicUsize>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Pump {
    pub fn start(local: Arc<Local>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicUsize::new(0));
        let flag = Arc::clone(&stop);
        let count = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while !flag.load(Ordering::Relaxed) {
                match local.pump_once(Duration::from_secs(1)).await {
                    Ok(n) => {
                        count.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pump round failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Self {
            stop,
            received,
            task: Some(task),
        }
    }

    /// Stops after the current round; returns how many step messages it
    /// received (a message redelivered counts each time).
    pub async fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "pump task ended abnormally");
        }
        self.received.load(Ordering::Relaxed)
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
