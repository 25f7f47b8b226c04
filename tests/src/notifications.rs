//! The notifier on a local stack: its own event source mapping on the
//! incidents table's stream (a checkpoint apart from the publisher's), the
//! undelivered-notifications queue from the template, and the real
//! notifier handler. The destinations' side (Slack, Teams, webhooks) is
//! the harness's receiver ([`crate::receiver`]).

use klaxon_app::notifier::{Notifier, NotifierPorts, NotifyReport};
use klaxon_aws::dynamo::{DynamoConfig, DynamoStore, stream};
use klaxon_aws::ses::SesEmail;
use klaxon_incident_manager::SsmIncidentManager;
use klaxon_ports::{Endpoints, Secrets, UndeliveredNotification};
use klaxon_runtime::NotifierSettings;
use klaxon_sqs::SqsUndelivered;
use klaxon_system::SystemClock;

use crate::{HarnessError, Local, ids, roles, streams};

/// The notifier's wiring on a stack, as the template configures it, its
/// adapters signed as its execution role ([`crate::roles`]).
pub struct NotifierSide {
    pub settings: NotifierSettings,
    pub stream: streams::StreamMapping,
    pub store: DynamoStore,
    pub config: DynamoConfig,
    pub undelivered: SqsUndelivered,
    pub incident_manager: SsmIncidentManager,
    pub email: SesEmail,
    /// The notifier's signed configuration, for the secrets adapter a test
    /// hands it.
    pub sdk: aws_config::SdkConfig,
}

impl NotifierSide {
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        klaxon_sdk: &aws_config::SdkConfig,
        stack: &crate::Stack,
        incidents_table: &str,
        config_table: &str,
    ) -> Result<Self, HarnessError> {
        let env = stack.function_env(ids::NOTIFIER)?;
        let settings = NotifierSettings::from_lookup(|k| env.get(k).cloned())
            .map_err(|e| HarnessError::Template(format!("{}: {e}", ids::NOTIFIER)))?;
        let credentials = roles::role_credentials(sdk, stack, ids::NOTIFIER).await?;
        let signed = roles::signed(klaxon_sdk, &credentials);
        Ok(Self {
            stream: streams::StreamMapping::deployed(sdk, stack, ids::NOTIFIER)?,
            store: DynamoStore::from_sdk(&signed, incidents_table),
            config: DynamoConfig::from_sdk(&signed, config_table, std::time::Duration::ZERO),
            undelivered: SqsUndelivered::from_sdk(&signed, &settings.undelivered_queue_url),
            incident_manager: SsmIncidentManager::from_sdk(&signed),
            email: SesEmail::from_sdk(
                &signed,
                settings
                    .email_from
                    .clone()
                    .unwrap_or_else(|| crate::LOCAL_EMAIL_FROM.to_string()),
            ),
            settings,
            sdk: signed,
        })
    }
}

/// What handing the stream's new records to the notifier came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyRound {
    pub delivered: usize,
    pub failed: usize,
    /// The record the notifier asked to retry from, and why.
    pub failed_at: Option<(String, String)>,
}

/// The notifier's ports on the local stack: its own adapters, delivering
/// through `E` with secrets from `S` (a test's stand-ins, or the real ones).
pub struct LocalNotifierPorts<E, S>(std::marker::PhantomData<(E, S)>);

impl<E: Endpoints, S: Secrets> NotifierPorts for LocalNotifierPorts<E, S> {
    type Incidents = DynamoStore;
    type Config = DynamoConfig;
    type Endpoints = E;
    type Secrets = S;
    type Email = SesEmail;
    type IncidentManager = SsmIncidentManager;
    type Undelivered = SqsUndelivered;
}

type LocalNotifier<'a, E, S> = Notifier<'a, LocalNotifierPorts<E, S>>;

impl Local {
    /// The notifier on this stack, delivering through `endpoints` with
    /// secrets from `secrets`, Slack's Web API at `slack_api`.
    pub fn notifier<'a, E: Endpoints, S: Secrets>(
        &'a self,
        endpoints: &'a E,
        secrets: &'a S,
        slack_api: &'a str,
    ) -> LocalNotifier<'a, E, S> {
        Notifier {
            incidents: &self.as_notifier.store,
            config: &self.as_notifier.config,
            endpoints,
            secrets,
            email: &self.as_notifier.email,
            incident_manager: &self.as_notifier.incident_manager,
            undelivered: &self.as_notifier.undelivered,
            clock: &SystemClock,
            slack_api,
        }
    }

    /// What the notifier's event source mapping does with the records
    /// written since its checkpoint (see [`Local::publish_events`]).
    pub async fn notify_events<E: Endpoints, S: Secrets>(
        &self,
        endpoints: &E,
        secrets: &S,
        slack_api: &str,
    ) -> Result<NotifyRound, HarnessError> {
        let notifier = self.notifier(endpoints, secrets, slack_api);
        let mut round = NotifyRound::default();
        self.as_notifier
            .stream
            .deliver(async |event| {
                let report: NotifyReport = notifier.handle(&stream::records(event)).await;
                round.delivered += report.delivered;
                round.failed += report.failed;
                round.failed_at = report.failed_at.clone();
                Ok(report.response())
            })
            .await?;
        Ok(round)
    }

    /// The messages in the undelivered-notifications queue (left there).
    pub async fn undelivered(&self) -> Result<Vec<UndeliveredNotification>, HarnessError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.as_notifier.settings.undelivered_queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| {
                HarnessError::Aws(format!(
                    "ReceiveMessage: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ))
            })?;
        out.messages
            .unwrap_or_default()
            .iter()
            .map(|m| {
                serde_json::from_str(m.body().unwrap_or_default())
                    .map_err(|e| HarnessError::Emulator(format!("undelivered message: {e}")))
            })
            .collect()
    }
}
