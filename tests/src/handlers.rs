//! Klaxon's handlers on a local stack, each wired to its function's own
//! adapters (signed as its execution role, [`crate::roles`]), invoked as
//! AWS would invoke the deployed function.

use klaxon_app::AppError;
use klaxon_app::channels::StackChannels;
use klaxon_app::escalator::{Escalator, EscalatorPorts};
use klaxon_app::intake::{Intake, IntakeOutcome, IntakePorts};
use klaxon_app::publisher::Publisher;
use klaxon_app::reply::{Replies, RepliesPorts, ReplyOutcome};
use klaxon_app::self_test::{Limits, SelfTest, SelfTestPorts};
use klaxon_app::voice::VoiceCalls;
use klaxon_aws::channels::AwsDeliveryChannels;
use klaxon_aws::chime::ChimeCalls;
use klaxon_aws::dynamo::{DynamoConfig, DynamoStore, stream};
use klaxon_aws::emf::EmfLog;
use klaxon_aws::eventbridge::EventBridgeBus;
use klaxon_aws::metrics::CloudWatchMetrics;
use klaxon_aws::ses::SesEmail;
use klaxon_aws::sfn::StepFunctions;
use klaxon_aws::sns::SnsSms;
use klaxon_ports::AlarmTags;
use klaxon_system::{RandomIds, SystemClock, TokioSleep};
use serde_json::Value;
use std::marker::PhantomData;

use crate::{HarnessError, Local, PublishRound, deadline_in};

/// The local stack's adapters as the handlers' ports: the harness's
/// composition root (each function's adapters, signed as its role; the
/// escalator's metrics in memory).
pub enum LocalPorts {}

impl EscalatorPorts for LocalPorts {
    type Incidents = DynamoStore;
    type Paging = DynamoStore;
    type Sms = SnsSms;
    type Email = SesEmail;
    type Escalations = StepFunctions;
    type Config = DynamoConfig;
    type Calls = ChimeCalls;
    type Limits = DynamoStore;
    type Metrics = EmfLog<Vec<u8>>;
}

impl RepliesPorts for LocalPorts {
    type Incidents = DynamoStore;
    type Inbound = DynamoStore;
    type Sms = SnsSms;
    type Escalations = StepFunctions;
    type Config = DynamoConfig;
    type Calls = ChimeCalls;
}

impl SelfTestPorts for LocalPorts {
    // The harness stands in for the synchronous invoke of the intake function.
    type Intake = Local;
    type Incidents = DynamoStore;
    type Escalations = StepFunctions;
    type Metrics = CloudWatchMetrics;
    type Sleep = TokioSleep;
    type Channels = AwsDeliveryChannels;
    type Config = DynamoConfig;
}

/// The intake's ports on the local stack, its alarm tags read from `T`
/// (CloudWatch as intake's role, or a test's fake).
pub struct LocalIntake<T>(PhantomData<T>);

impl<T: AlarmTags> IntakePorts for LocalIntake<T> {
    type Incidents = DynamoStore;
    type Memory = DynamoStore;
    type Escalations = StepFunctions;
    type Config = DynamoConfig;
    type Tags = T;
}

/// The self-test handler on a local stack, as its role.
pub type LocalSelfTest<'a> = SelfTest<'a, LocalPorts>;

/// The escalator as the local stack runs it.
pub type LocalEscalator<'a> = Escalator<'a, LocalPorts>;

impl Local {
    /// Delivers an event to the intake handler, as EventBridge, SNS or a
    /// CloudWatch alarm action would invoke the function.
    pub async fn deliver_alarm(&self, event: &Value) -> Result<Vec<IntakeOutcome>, AppError> {
        self.intake(&self.as_intake.tags).handle(event).await
    }

    /// The intake handler on this stack, reading alarm tags from `tags`.
    pub fn intake<'a, T: AlarmTags>(&'a self, tags: &'a T) -> Intake<'a, LocalIntake<T>> {
        let side = &self.as_intake;
        Intake {
            incidents: &side.store,
            memory: &side.store,
            escalations: &side.escalations,
            config: &side.config,
            tags,
            clock: &SystemClock,
            ids: &RandomIds,
        }
    }

    /// The escalator on this stack, for one invocation starting now: its
    /// page claims are held until the invocation's deadline, as in Lambda.
    pub fn escalator(&self) -> LocalEscalator<'_> {
        let side = &self.as_escalator;
        Escalator {
            incidents: &side.store,
            paging: &side.store,
            sms: &side.sms,
            email: side.email.as_ref(),
            calls: side.calls.as_ref(),
            limits: &side.store,
            escalations: &side.escalations,
            config: &side.config,
            clock: &SystemClock,
            metrics: &self.metric_log,
            deadline: deadline_in(self.escalator_timeout),
            retry: self.page_retry,
            // The harness's clients have no call timeouts (see roles.rs).
            send_timeout: jiff::SignedDuration::ZERO,
        }
    }

    /// The self-test handler on this stack. Its synthetic alarm goes to the
    /// intake handler itself (this harness's stand-in for the synchronous
    /// `lambda:Invoke` of the intake function, which moto cannot run); the
    /// rest is the real adapters: DynamoDB, Step Functions, CloudWatch. The
    /// escalator must be running ([`Pump`]) for a run to succeed.
    pub fn self_test_handler(&self, limits: Limits) -> LocalSelfTest<'_> {
        let side = self
            .as_self_test
            .as_ref()
            .expect("the local stacks deploy the self-test (SelfTestIntervalMinutes 15)");
        self.self_test_reading(limits, &side.channels, &self.self_test.channels)
    }

    /// The self-test handler, reading the delivery channels through
    /// `channels` (the self-test role's adapter in another region, whose
    /// account a test may break without touching other tests') for a stack
    /// with these channel settings.
    pub fn self_test_reading<'a>(
        &'a self,
        limits: Limits,
        channels: &'a AwsDeliveryChannels,
        stack_channels: &'a StackChannels,
    ) -> LocalSelfTest<'a> {
        // The self-test's own role; the intake it invokes runs as intake's.
        let side = self
            .as_self_test
            .as_ref()
            .expect("the local stacks deploy the self-test (SelfTestIntervalMinutes 15)");
        SelfTest {
            intake: self,
            incidents: &side.store,
            escalations: &side.escalations,
            metrics: &side.metrics,
            channels,
            config: &side.config,
            stack_channels,
            sleep: &TokioSleep,
            clock: &SystemClock,
            ids: &RandomIds,
            account: &self.self_test.account,
            region: &self.self_test.region,
            limits,
        }
    }

    /// The escalation sweep on this stack, as its role, leaving alone
    /// incidents younger than `grace` (the function's is
    /// [`klaxon_app::sweep::DEFAULT_GRACE`]); the scheduler's runs are the
    /// harness's calls of [`Sweep::run`].
    pub fn sweep_handler(
        &self,
        grace: jiff::SignedDuration,
    ) -> klaxon_app::sweep::Sweep<'_, DynamoStore, DynamoStore, StepFunctions, EmfLog<Vec<u8>>>
    {
        let side = &self.as_sweep;
        klaxon_app::sweep::Sweep {
            incidents: &side.store,
            paging: &side.store,
            escalations: &side.escalations,
            metrics: &self.metric_log,
            clock: &SystemClock,
            grace,
            exclude: klaxon_app::sweep::only_self_test,
        }
    }

    /// Delivers an inbound-SMS SNS event to the reply handler.
    pub async fn deliver_reply(&self, event: &Value) -> Result<Vec<ReplyOutcome>, AppError> {
        let side = &self.as_reply;
        Replies::<LocalPorts> {
            incidents: &side.store,
            inbound: &side.store,
            clock: &SystemClock,
            sms: &side.sms,
            escalations: &side.escalations,
            calls: side.calls.as_ref(),
            config: &side.config,
            deadline: deadline_in(self.reply_timeout),
        }
        .handle(event)
        .await
    }

    /// The voice-call handler on this stack (the SIP media application's
    /// events come to it from [`phone::PhoneNetwork`]).
    #[allow(clippy::type_complexity)]
    pub fn voice(
        &self,
    ) -> VoiceCalls<
        '_,
        DynamoStore,
        StepFunctions,
        DynamoConfig,
        impl Fn(&str) -> ChimeCalls + Send + Sync + '_,
    > {
        let side = self
            .as_voice
            .as_ref()
            .expect("voice() on a stack with voice (Local::up_voice)");
        let chime = &side.chime;
        VoiceCalls {
            incidents: &side.store,
            escalations: &side.escalations,
            config: &side.config,
            calls: move |sma: &str| ChimeCalls::updater(chime.clone(), sma),
            clock: &SystemClock,
        }
    }

    /// The event publisher on this stack.
    pub fn publisher(&self) -> Publisher<'_, DynamoStore, EventBridgeBus, EmfLog<Vec<u8>>> {
        Publisher {
            incidents: &self.as_publisher.store,
            bus: &self.as_publisher.bus,
            metrics: &self.metric_log,
        }
    }

    /// What the publisher's event source mapping does with the records
    /// written since its checkpoint: hands them over in batches, as the
    /// Lambda event AWS sends, and moves the checkpoint past each batch
    /// the publisher reported no failure in. At a failure it stops, with
    /// the checkpoint just before the failed record (the next call
    /// retries from there).
    pub async fn publish_events(&self) -> Result<PublishRound, HarnessError> {
        let publisher = self.publisher();
        let mut round = PublishRound::default();
        self.stream
            .deliver(async |event| {
                let report = publisher.handle(&stream::records(event)).await;
                round.published += report.published;
                round.failed_at = report.failed_at.clone();
                Ok(report.response())
            })
            .await?;
        Ok(round)
    }
}
