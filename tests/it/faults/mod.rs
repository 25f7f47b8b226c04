//! The fault-injection matrix: Klaxon's real handlers and adapters against
//! the emulator, through a proxy that injects faults on the wire
//! ([`klaxon_local::faults`]).
//!
//! Every scenario runs the whole loop on its own alarm: the ALARM (intake),
//! the level-1 page to Alice by SMS and email (escalator), her ACK by SMS
//! (sms-reply), then the OK (intake). Deliveries are retried as AWS retries
//! them: an alarm or a reply as the function's deployed asynchronous
//! invocation config says (twice more, a scaled minute and two apart, then
//! the failed-events queue), an escalation step until it succeeds (the SQS
//! event source mapping; redelivered after the queue's visibility timeout,
//! scaled as the harness scales AWS's waits). A "crash" is a failed invocation whose instance is
//! gone: the retry runs on a healthy network.
//!
//! Each scenario is checked against the same invariants, and counts what
//! was lost (an incident not opened, a page not sent, an ack or resolve not
//! applied, an escalation not stopped) and what was duplicated (a second
//! incident, page or confirmation, a timeline entry written twice for one
//! event, a page after the ack committed).

mod matrix;
mod survival;

use std::collections::BTreeMap;
use std::time::Duration;

use klaxon_app::AppError;
use klaxon_core::incident::{Incident, Status, TimelineEntry};
use klaxon_local::events::{Delivery, alarm, sms_reply};
use klaxon_local::faults::{Fate, Fault, FaultProxy, Operation};
use klaxon_local::ids;
use klaxon_local::invoke::Invoked;
use klaxon_ports::Incidents;

use crate::common::{World, ack_code};

/// The alarm's state times: the OK comes five minutes after the ALARM.
const ALARM_AT: &str = "2026-11-21T06:00:00.000Z";
const OK_AT: &str = "2026-11-21T06:05:00.000Z";

/// Level 1's timeout: Bob (level 2) is never due during a scenario, so any
/// page to him is a page after the ack.
const LEVEL_SECONDS: u32 = 300;

/// How long a scenario waits for the level-1 page.
const PAGE_PATIENCE: Duration = Duration::from_secs(90);

/// One stage of the loop, each a different handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Alarm,
    Escalate,
    Ack,
    Ok,
}

impl Phase {
    pub fn handler(self) -> &'static str {
        match self {
            Phase::Alarm => "intake (ALARM)",
            Phase::Escalate => "escalator",
            Phase::Ack => "sms-reply (ACK)",
            Phase::Ok => "intake (OK)",
        }
    }
}

/// The fault a scenario injects.
#[derive(Debug, Clone)]
pub enum Arm {
    None,
    /// From the start of the loop, each injection at once.
    Inject(Vec<Injection>),
    /// The handler of `phase` dies after its `n`-th AWS call.
    Crash(Phase, usize),
    /// The first escalation step message is lost on its way to the
    /// escalator (received and deleted): the workflow queues the step
    /// again after its step timeout.
    LoseStepMessage,
    /// Step Functions' own `SendMessage` of the step to the escalation
    /// queue (NotifyStep's service integration) answers 500 this many
    /// times: the workflow's retry sends it again.
    WorkflowSendFails(usize),
}

/// The first `times` calls of an operation (or of every operation of a
/// service) get `fault`.
#[derive(Debug, Clone)]
pub struct Injection {
    pub service: String,
    pub operation: Option<String>,
    pub fault: Fault,
    pub times: usize,
}

impl Arm {
    /// One injection.
    pub fn inject(service: &str, operation: Option<&str>, fault: Fault, times: usize) -> Self {
        Arm::Inject(vec![Injection {
            service: service.to_string(),
            operation: operation.map(str::to_string),
            fault,
            times,
        }])
    }
}

/// What a scenario observed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lost: Vec<String>,
    pub duplicated: Vec<String>,
    /// A second copy of a message whose provider accepted the first but
    /// whose answer was lost: Klaxon cannot know the first went out, and
    /// sends again rather than risk a page that never arrives.
    pub resent: Vec<String>,
    /// Deliveries that failed every attempt, with the last error.
    pub dead_letters: Vec<String>,
    /// The AWS calls each phase made (the faulted ones included).
    pub calls: BTreeMap<Phase, Vec<Operation>>,
    /// Whether the armed fault was triggered at all.
    pub fault_fired: bool,
}

/// A stack whose Klaxon adapters reach the emulator through a fault proxy.
pub struct Rig {
    pub w: World,
    pub proxy: FaultProxy,
    /// How many times each ALARM, ACK and OK is delivered, at once.
    pub copies: usize,
    runs: usize,
    /// The emulator's fault on the workflow's own calls, armed for this run.
    integration_fault: Option<u64>,
}

fn oncall_yaml(w: &World) -> String {
    format!(
        r#"
version: 1
people:
  alice: {{name: Alice, phone: "{}", email: "{}"}}
  bob: {{name: Bob, phone: "{}"}}
services:
  checkout: {{escalation_policy: default}}
escalation_policies:
  default:
    levels:
      - {{targets: [alice], timeout_seconds: {LEVEL_SECONDS}}}
      - {{targets: [bob], timeout_seconds: {LEVEL_SECONDS}}}
routing:
  default: {{service: checkout, severity: SEV1}}
"#,
        w.alice,
        w.email("alice"),
        w.bob
    )
}

impl Rig {
    pub async fn new() -> Self {
        let (w, proxy) = World::proxied(&[]).await;
        w.local
            .apply_config(&oncall_yaml(&w))
            .await
            .expect("apply config");
        proxy.clear_calls();
        Self {
            w,
            proxy,
            copies: 1,
            runs: 0,
            integration_fault: None,
        }
    }

    /// Runs the loop once on a new alarm with `arm` injected.
    pub async fn run(&mut self, arm: &Arm) -> Outcome {
        let name = self.next_alarm(arm).await;
        let mut out = Outcome::default();
        self.alarm_phase(&name, arm, &mut out).await;
        self.finish(&name, arm, out).await
    }

    /// A new alarm's name, on a healed proxy with `arm`'s faults injected.
    async fn next_alarm(&mut self, arm: &Arm) -> String {
        self.runs += 1;
        let name = self.w.alarm_name(&format!("f{:03}", self.runs));
        self.proxy.heal();
        self.proxy.clear_calls();
        if let Arm::Inject(injections) = arm {
            for i in injections {
                self.proxy
                    .inject(&i.service, i.operation.as_deref(), i.fault, i.times);
            }
        }
        self.integration_fault = None;
        if let Arm::WorkflowSendFails(times) = arm {
            let local = &self.w.local;
            let queue = local.stack.physical(ids::ESCALATION_QUEUE).expect("queue");
            let name = queue.rsplit('/').next().unwrap_or(queue);
            let id = local
                .emulator
                .fail_integration("sqs", "SendMessage", name, 500, *times)
                .await
                .expect("arm the workflow's send to fail");
            self.integration_fault = Some(id);
        }
        name
    }

    /// The loop after the ALARM: the page, the ACK, the OK; then the checks.
    async fn finish(&self, name: &str, arm: &Arm, mut out: Outcome) -> Outcome {
        let lost_step = match arm {
            Arm::LoseStepMessage => self.lose_step_message().await,
            _ => false,
        };
        let page = self.escalate_phase(name, arm, &mut out).await;
        if let Some(code) = page {
            self.ack_phase(name, &code, arm, &mut out).await;
        }
        self.ok_phase(name, arm, &mut out).await;
        out.fault_fired = match arm {
            Arm::None => true,
            Arm::Inject(_) => self.proxy.faults_spent(),
            Arm::Crash(..) => self.proxy.crashes() > 0,
            Arm::LoseStepMessage => lost_step,
            Arm::WorkflowSendFails(times) => match self.integration_fault {
                Some(id) => {
                    let fired = self.w.local.emulator.integration_fault_fired(id).await;
                    fired.expect("integration fault") == *times as u64
                }
                None => false,
            },
        };
        let cut_sends = cut_sends(&self.proxy);
        self.proxy.heal();
        self.check(name, &cut_sends, &mut out).await;
        out
    }

    fn arm_phase(&self, arm: &Arm, phase: Phase) {
        if let Arm::Crash(p, n) = arm
            && *p == phase
        {
            self.proxy.crash_after(*n);
        }
    }

    /// The calls since the last phase ended, for the record. A crash armed
    /// for the phase that did not happen is disarmed.
    fn end_phase(&self, phase: Phase, out: &mut Outcome) {
        self.proxy.heal_crash();
        let calls = self.proxy.calls();
        let before: usize = out.calls.values().map(Vec::len).sum();
        out.calls.insert(
            phase,
            calls
                .into_iter()
                .skip(before)
                .map(|c| c.operation)
                .collect(),
        );
    }

    /// Lambda's asynchronous invocation of an alarm or reply handler, as
    /// the function's deployed `EventInvokeConfig` says (the first attempt
    /// and two retries, a scaled minute and two apart; then the on-failure
    /// record to the failed-events queue). A crashed instance's retry runs
    /// on a healthy network.
    /// With [`Rig::copies`] above one, that many deliveries run at once.
    async fn invoke<T, F>(
        &self,
        what: &str,
        function: &str,
        event: &serde_json::Value,
        attempt: F,
        out: &mut Outcome,
    ) where
        F: AsyncFn() -> Result<T, AppError>,
    {
        let deliveries = (0..self.copies.max(1)).map(|_| async {
            let heal = || {
                if self.proxy.crashed() {
                    self.proxy.heal_crash();
                }
            };
            match self
                .w
                .local
                .invoke_async(function, event, &attempt, heal)
                .await
                .expect("asynchronous invocation")
            {
                Invoked::Done { .. } => Ok(()),
                Invoked::GaveUp {
                    error, attempts, ..
                } => Err(format!(
                    "{error} (retryable: {}) after {attempts} attempts",
                    error.retryable()
                )),
            }
        });
        for result in futures_util::future::join_all(deliveries).await {
            if let Err(last) = result {
                out.dead_letters.push(format!("{what}: {last}"));
            }
        }
    }

    async fn alarm_phase(&self, name: &str, arm: &Arm, out: &mut Outcome) {
        self.arm_phase(arm, Phase::Alarm);
        let event = alarm(Delivery::EventBridge, name, "ALARM", ALARM_AT).expect("event");
        let local = &self.w.local;
        self.invoke(
            "ALARM",
            ids::INTAKE,
            &event,
            async || local.deliver_alarm(&event).await,
            out,
        )
        .await;
        self.end_phase(Phase::Alarm, out);
    }

    /// Runs the escalation queue until Alice has her SMS and email page and
    /// the step is answered; returns the ACK code of her page.
    async fn escalate_phase(&self, name: &str, arm: &Arm, out: &mut Outcome) -> Option<String> {
        self.arm_phase(arm, Phase::Escalate);
        let deadline = tokio::time::Instant::now() + PAGE_PATIENCE;
        let mut code = None;
        loop {
            self.w
                .local
                .pump_once(Duration::from_secs(1))
                .await
                .expect("pump");
            if self.proxy.crashed() {
                self.proxy.heal_crash();
            }
            if code.is_none()
                && let Some(sms) = self.pages_to_alice(name).await.first()
                && !self.emails_to_alice(name).await.is_empty()
            {
                code = Some(ack_code(&sms.message));
            }
            if code.is_some() && self.queue_settled().await {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                out.lost.push("the level-1 page (not sent in time)".into());
                break;
            }
        }
        self.end_phase(Phase::Escalate, out);
        code
    }

    async fn ack_phase(&self, name: &str, code: &str, arm: &Arm, out: &mut Outcome) {
        self.arm_phase(arm, Phase::Ack);
        let reply =
            sms_reply(&self.w.alice, &format!("ACK {code}"), &format!("in-{name}")).expect("reply");
        let local = &self.w.local;
        self.invoke(
            "ACK",
            ids::SMS_REPLY,
            &reply,
            async || local.deliver_reply(&reply).await,
            out,
        )
        .await;
        self.end_phase(Phase::Ack, out);
    }

    async fn ok_phase(&self, name: &str, arm: &Arm, out: &mut Outcome) {
        self.arm_phase(arm, Phase::Ok);
        let event = alarm(Delivery::EventBridge, name, "OK", OK_AT).expect("event");
        let local = &self.w.local;
        self.invoke(
            "OK",
            ids::INTAKE,
            &event,
            async || local.deliver_alarm(&event).await,
            out,
        )
        .await;
        self.end_phase(Phase::Ok, out);
    }

    /// Receives the next escalation step message and deletes it, as if it
    /// never reached the escalator; `false` when none came.
    async fn lose_step_message(&self) -> bool {
        let local = &self.w.local;
        let queue = local.stack.physical(ids::ESCALATION_QUEUE).expect("queue");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            let got = local
                .sqs
                .receive_message()
                .queue_url(queue)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive a step message");
            if let Some(handle) = got.messages().first().and_then(|m| m.receipt_handle()) {
                local
                    .sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete the step message");
                return true;
            }
        }
        false
    }

    /// No step message waiting or in flight.
    async fn queue_settled(&self) -> bool {
        let queue = self
            .w
            .local
            .stack
            .physical(ids::ESCALATION_QUEUE)
            .expect("queue");
        let attrs = self
            .w
            .local
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .expect("queue attributes");
        let count = |k: aws_sdk_sqs::types::QueueAttributeName| {
            attrs
                .attributes()
                .and_then(|a| a.get(&k))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages) == 0
            && count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == 0
    }

    async fn pages_to_alice(&self, name: &str) -> Vec<klaxon_local::SentSms> {
        self.w
            .sms_to(&self.w.alice)
            .await
            .into_iter()
            .filter(|m| m.message.contains(name) && m.message.contains("Reply ACK"))
            .collect()
    }

    async fn emails_to_alice(&self, name: &str) -> Vec<klaxon_local::SentEmail> {
        self.w
            .local
            .emulator
            .emails_to(&self.w.email("alice"))
            .await
            .expect("emails")
            .into_iter()
            .filter(|m| m.subject.contains(name))
            .collect()
    }

    async fn incidents_of(&self, name: &str) -> Vec<Incident> {
        let store = &self.w.local.store;
        let mut found = Vec::new();
        for month in [
            "2026-11",
            &jiff::Timestamp::now().strftime("%Y-%m").to_string(),
        ] {
            for i in store.list_month(month).await.expect("list month") {
                if i.alarm_name == name && !found.iter().any(|f: &Incident| f.id == i.id) {
                    found.push(i);
                }
            }
        }
        found
    }

    /// The invariants, after the loop. `cut_sends` are the sends whose
    /// answer was lost ([`cut_sends`]): only their messages may arrive
    /// twice, once more per cut.
    async fn check(&self, name: &str, cut_sends: &[String], out: &mut Outcome) {
        let incidents = self.incidents_of(name).await;
        if incidents.len() > 1 {
            out.duplicated
                .push(format!("{} incidents for one alarm", incidents.len()));
        }
        let Some(incident) = incidents.into_iter().next() else {
            if out.dead_letters.is_empty() {
                out.lost
                    .push("the incident (no dead letter says why)".into());
            }
            return;
        };
        let id = incident.id.clone();
        let execution_ended = match &incident.escalation_execution {
            Some(arn) => {
                self.w
                    .wait_execution_arn_end(arn, Duration::from_secs(30))
                    .await
                    != "RUNNING"
            }
            None => false,
        };
        if !execution_ended {
            out.lost.push("stopping the escalation".into());
        }
        let incident = self.w.incident(&id).await;
        if incident.acknowledged_at.is_none() {
            out.lost.push("the ACK".into());
        }
        if incident.status != Status::Resolved {
            out.lost
                .push(format!("the resolve (status {})", incident.status));
        }
        let alice_sms = format!("PhoneNumber={}", self.w.alice);
        let alice_email = self.w.email("alice");
        let sms_page = |text: &str| {
            text.contains(&alice_sms) && text.contains(name) && text.contains("Reply ACK")
        };
        let email_page = |text: &str| text.contains(&alice_email) && text.contains(name);
        let confirmation = |text: &str| {
            text.contains(&alice_sms) && text.contains(name) && text.contains("acknowledged")
        };
        count_message(
            "the SMS page",
            self.pages_to_alice(name).await.len(),
            cut_sends.iter().filter(|t| sms_page(t)).count(),
            out,
        );
        count_message(
            "the email page",
            self.emails_to_alice(name).await.len(),
            cut_sends.iter().filter(|t| email_page(t)).count(),
            out,
        );
        let confirmations = self
            .w
            .sms_to(&self.w.alice)
            .await
            .iter()
            .filter(|m| m.message.contains(name) && m.message.contains("acknowledged"))
            .count();
        count_message(
            "the ACK confirmation",
            confirmations,
            cut_sends.iter().filter(|t| confirmation(t)).count(),
            out,
        );
        let to_bob = self.w.sms_to(&self.w.bob).await;
        if !to_bob.is_empty() {
            out.duplicated
                .push(format!("{} SMS to Bob after the ACK", to_bob.len()));
        }
        let timeline = self.w.timeline(&id).await;
        for (event, n) in repeated(&timeline) {
            out.duplicated
                .push(format!("timeline entry written {n} times: {event}"));
        }
        if let Some(acked) = incident.acknowledged_at {
            out.duplicated
                .extend(claimed_after(&self.w, &id, acked).await);
        }
    }
}

/// Operations as a row names them: `service:Name, ...`.
pub fn listed<'a>(ops: impl IntoIterator<Item = &'a Operation>) -> String {
    ops.into_iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The faults a stream function's call meets, one scenario each:
/// throttled `throttles` times, answering 500 three times, cut once after
/// it applied.
pub fn each_call_fault(throttles: usize) -> [(Fault, usize); 3] {
    [
        (Fault::Throttle, throttles),
        (Fault::Status(500), 3),
        (Fault::CutAfterApply, 1),
    ]
}

/// The sends (SNS `Publish`, SES `SendEmail`) the provider accepted but
/// whose answer the caller lost (a cut connection, a crash right after):
/// what each carried ([`klaxon_local::faults::Call::sent`]).
pub fn cut_sends(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .calls()
        .into_iter()
        .filter(|c| c.fate == Fate::Faulted(Fault::CutAfterApply))
        .filter_map(|c| c.sent)
        .collect()
}

/// Counts one message that was due once: lost when it never arrived,
/// re-sent when it arrived once more per send of it whose answer was lost
/// (`cuts`), duplicated beyond that.
pub fn count_message(what: &str, arrived: usize, cuts: usize, out: &mut Outcome) {
    match arrived {
        0 => out.lost.push(what.to_string()),
        1 => {}
        n if n - 1 <= cuts => out.resent.push(format!("{what} x{n}")),
        n => out.duplicated.push(format!("{what} x{n}")),
    }
}

/// Pages claimed (decided and about to be sent) after `acked`, as stored:
/// the claim is the write that checks the incident still pages, so none
/// may come after the acknowledgement committed. Both times are read just
/// before their writes commit, so a claim that won the race by a hair can
/// carry a slightly later time; an escalation that went on paging after
/// the ack shows a second or more later (its levels are seconds apart).
pub async fn claimed_after(w: &World, id: &str, acked: jiff::Timestamp) -> Vec<String> {
    let acked = acked + jiff::SignedDuration::from_secs(1);
    use klaxon_aws::dynamo::items::{PageItem, from_item, incident_pk};
    let table = w
        .local
        .stack
        .physical(ids::INCIDENTS_TABLE)
        .expect("table")
        .to_string();
    let out = aws_sdk_dynamodb::Client::new(&w.local.sdk)
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :page)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(incident_pk(id)),
        )
        .expression_attribute_values(
            ":page",
            aws_sdk_dynamodb::types::AttributeValue::S("PAGE#".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("page claims");
    out.items()
        .iter()
        .map(|item| from_item::<PageItem>(item.clone(), "page claim").expect("page claim"))
        .filter(|page| page.claimed_at > acked)
        .map(|page| format!("a page claimed after the ACK: {}", page.sk))
        .collect()
}

/// Timeline events written more than once (the same event, apart from when).
pub fn repeated(timeline: &[TimelineEntry]) -> Vec<(String, usize)> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in timeline {
        let text = serde_json::to_string(&e.event).unwrap_or_default();
        *seen.entry(text).or_default() += 1;
    }
    seen.into_iter().filter(|(_, n)| *n > 1).collect()
}

/// One row of the matrix: a family of scenarios and what they added up to.
#[derive(Debug, Default)]
pub struct Row {
    pub scenario: String,
    pub runs: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub resent: usize,
    pub failures: Vec<String>,
}

impl Row {
    pub fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_string(),
            ..Self::default()
        }
    }

    /// Adds one run; `what` names it in failure messages.
    pub fn add(&mut self, what: &str, out: &Outcome) {
        self.runs += 1;
        self.lost += out.lost.len();
        self.duplicated += out.duplicated.len();
        self.resent += out.resent.len();
        if !out.lost.is_empty() || !out.duplicated.is_empty() || !out.dead_letters.is_empty() {
            self.failures.push(format!(
                "{what}: lost {:?}, duplicated {:?}, dead letters {:?}",
                out.lost, out.duplicated, out.dead_letters
            ));
        }
        if !out.fault_fired {
            self.failures
                .push(format!("{what}: the fault was never triggered"));
        }
    }

    /// Prints the row (the README's matrix) and fails on any loss,
    /// duplicate, dead letter or fault that never fired.
    pub fn report(self) {
        println!(
            "| {} | {} | {} | {} | {} |",
            self.scenario, self.runs, self.lost, self.duplicated, self.resent
        );
        assert!(self.runs > 0, "{}: no run", self.scenario);
        assert!(
            self.failures.is_empty(),
            "{}:\n{}",
            self.scenario,
            self.failures.join("\n")
        );
    }
}

/// What the stack's functions have counted so far (their EMF lines), by
/// metric name and channel (`None`: the stack's total only).
pub fn metric_totals(w: &World) -> BTreeMap<(String, Option<String>), u64> {
    klaxon_testing::contract::metric_log::ReadBack::counts(&w.local.metric_log)
        .into_iter()
        .fold(BTreeMap::new(), |mut all, ((name, channel, _), n)| {
            *all.entry((name, channel)).or_default() += n;
            all
        })
}

/// How much `name` (the stack's total, no channel) grew from `before`.
pub fn metric_growth(
    before: &BTreeMap<(String, Option<String>), u64>,
    w: &World,
    name: &str,
) -> u64 {
    let key = (name.to_string(), None);
    let now = metric_totals(w).get(&key).copied().unwrap_or(0);
    now - before.get(&key).copied().unwrap_or(0)
}
