//! `klaxon doctor` on local stacks, healthy and broken.
//!
//! The SMS sandbox and SES's account are answered by the emulator's
//! stand-ins (`scripts/moto_ext/sandboxes.py`: out of the sandbox, sending);
//! moto 5.2.5 still answers SNS ListOriginationNumbers with HTTP 500, which
//! must then be a warning that says what could not be checked, never a
//! problem and never a crash. The channel decisions are unit tested in
//! `klaxon_core::channels` and `klaxon_app::channels`, and the self-test
//! fails on the same findings. CloudWatch answers through the emulator's CBOR
//! bridge (`scripts/moto_server.py`), so the self-test check reads the
//! metric the self-test publishes.

use jiff::Timestamp;
use klaxon_cli::doctor::{self, Check, Clients, DoctorOptions, Status};
use klaxon_cli::names::StackNames;
use klaxon_local::events::{Delivery, alarm};
use klaxon_ports::Escalations;

use super::lambda::LambdaStandIn;
use super::{FAILED_EVENTS, lambda_failure_record, names, put};
use crate::common::{PATIENCE, World, opened_id};

/// Doctor's clients as an operator of the stack with only the template's
/// `OperatorPolicy` (Lambda at the stand-in, which asks the emulator too).
/// A stack that was never deployed has no operator policy: doctor runs as
/// an administrator there, so what it reports is what is missing, not
/// what it may not see.
async fn clients(w: &World, lambda: &LambdaStandIn, names: &StackNames) -> Clients {
    let sdk = if names.stack == w.local.stack.name {
        w.local.as_operator().await.expect("operator role")
    } else {
        w.local.sdk.clone()
    };
    Clients {
        lambda: lambda.client(&sdk),
        ..Clients::from_sdk(&sdk)
    }
}

/// Every check, in the order doctor runs them.
const ALL: [&str; 24] = [
    "incidents-table",
    "config-table",
    "configuration",
    "state-machine",
    "recent-escalations",
    "escalation-queue",
    "escalation-dead-letters",
    "failed-events",
    "undelivered-notifications",
    "unpublished-events",
    "unnotified-events",
    "alarm-topic-dead-letters",
    "inbound-sms-dead-letters",
    "status-page-failed-batches",
    "functions",
    "function-roles",
    "sms-origination-number",
    "sms-sandbox",
    "sms-spend-limit",
    "email-sender",
    "ses-account",
    "voice-number",
    "self-test",
    "operator-alerts",
];

fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:?}"))
}

fn problems(checks: &[Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| c.status == Status::Problem)
        .map(|c| c.name.as_str())
        .collect()
}

async fn doctor(
    w: &World,
    lambda: &LambdaStandIn,
    names: &StackNames,
    expect_self_test: bool,
) -> Vec<Check> {
    let options = DoctorOptions {
        self_test_expected: expect_self_test,
        ..DoctorOptions::default()
    };
    doctor_with(w, lambda, names, &options).await
}

async fn doctor_with(
    w: &World,
    lambda: &LambdaStandIn,
    names: &StackNames,
    options: &DoctorOptions,
) -> Vec<Check> {
    let checks = doctor::run(
        &clients(w, lambda, names).await,
        names,
        options,
        Timestamp::now(),
    )
    .await;
    // The report, for whoever reads the test's output.
    println!("{}", doctor::render_text(&names.stack, &checks));
    checks
}

#[tokio::test]
async fn on_a_healthy_local_stack_doctor_finds_no_problem_and_exits_zero() {
    // GIVEN a local stack with a valid configuration, one incident opened
    // and resolved (its escalation aborted by the resolve, as always)
    let w = World::new(2, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let pump = w.pump();
    let name = w.alarm_name("healthy");
    let at = "2026-11-30T06:00:00.000Z";
    let id = opened_id(
        &w.local
            .deliver_alarm(&alarm(Delivery::EventBridge, &name, "ALARM", at).unwrap())
            .await
            .unwrap(),
    );
    w.wait_for_sms(&w.alice, 1).await;
    let ok = alarm(
        Delivery::EventBridge,
        &name,
        "OK",
        "2026-11-30T06:01:00.000Z",
    )
    .unwrap();
    w.local.deliver_alarm(&ok).await.unwrap();
    assert_eq!(w.wait_execution_end(&id).await, "ABORTED");
    pump.stop().await;

    // WHEN doctor runs (a local stack has no self-test)
    let checks = doctor(&w, &stand_in, &names(&w), false).await;

    // THEN every check ran, none found a problem, and the exit status is 0
    let ran: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(ran, ALL);
    assert_eq!(problems(&checks), Vec::<&str>::new());
    assert_eq!(doctor::exit_code(&checks), 0);
    for name in [
        "incidents-table",
        "config-table",
        "configuration",
        "state-machine",
        "recent-escalations",
        "escalation-queue",
        "escalation-dead-letters",
        "failed-events",
        "undelivered-notifications",
        "unpublished-events",
        "unnotified-events",
        "functions",
        "function-roles",
        "email-sender",
        "operator-alerts",
        // The emulator's stand-ins: out of the SMS sandbox, SES sending.
        "sms-sandbox",
        "ses-account",
        "voice-number",
    ] {
        assert_eq!(
            check(&checks, name).status,
            Status::Ok,
            "{name}: {checks:?}"
        );
    }
    // The operator, with only the template's OperatorPolicy, was allowed
    // every call doctor made.
    let operator = klaxon_local::roles::operator_role(&w.local.stack);
    let calls = w.local.emulator.iam_calls(&operator).await.unwrap();
    assert!(calls.len() > 10, "{calls:#?}");
    let denied: Vec<_> = calls.iter().filter(|c| !c.allowed).collect();
    assert!(denied.is_empty(), "{denied:#?}");
    assert!(
        check(&checks, "recent-escalations")
            .message
            .contains("(1 ended by an acknowledgement or resolve)")
    );
    // The origination number and the sender come from the escalator's
    // environment, as the template deploys it locally.
    let origination = check(&checks, "sms-origination-number");
    assert_eq!(origination.status, Status::Warning);
    assert!(origination.message.contains("no SmsOriginationNumber"));
    assert!(
        check(&checks, "email-sender")
            .message
            .starts_with("pages@klaxon.example can send")
    );
    // The rest (no origination number, no spend limit set, what moto cannot
    // answer) are warnings with a fix.
    for c in checks.iter().filter(|c| c.status != Status::Ok) {
        assert_eq!(c.status, Status::Warning);
        assert!(c.fix.is_some(), "{c:?}");
    }
}

#[tokio::test]
async fn on_a_broken_stack_doctor_names_each_problem_with_its_fix_and_exits_one() {
    // GIVEN a stack with no configuration applied, a failed sms-reply
    // invocation in FailedEventsQueue, an escalation that failed, and no
    // sms-reply function deployed
    let w = World::bare().await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &["sms-reply"]).await;
    put(
        &w,
        FAILED_EVENTS,
        &lambda_failure_record(&w).to_string(),
        &[],
    )
    .await;
    let pump = w.pump();
    let id = format!("20261130-GONE{}", w.tag);
    let execution = w.local.escalations.start(&id, 0).await.unwrap();
    assert_eq!(
        w.wait_execution_arn_end(&execution, PATIENCE).await,
        "FAILED"
    );
    pump.stop().await;
    // AND nobody subscribed to the operator alerts any longer
    let sns = aws_sdk_sns::Client::new(&w.local.sdk);
    for sub in w.local.operator_subscriptions().await.unwrap() {
        sns.unsubscribe()
            .subscription_arn(sub.subscription_arn().unwrap())
            .send()
            .await
            .unwrap();
    }

    // WHEN doctor runs
    let checks = doctor(&w, &stand_in, &names(&w), true).await;

    // THEN each of those is a problem with a fix, and the exit status is 1
    let found = problems(&checks);
    for name in [
        "configuration",
        "recent-escalations",
        "failed-events",
        "functions",
        "operator-alerts",
    ] {
        assert!(found.contains(&name), "{name} not a problem: {checks:?}");
        assert!(check(&checks, name).fix.is_some());
    }
    assert_eq!(doctor::exit_code(&checks), 1);
    let config = check(&checks, "configuration");
    assert!(config.message.starts_with("no configuration applied to"));
    assert!(
        config
            .fix
            .as_deref()
            .unwrap()
            .contains("klaxon config apply")
    );
    let escalations = check(&checks, "recent-escalations");
    assert!(
        escalations.message.contains(&format!("{id} FAILED at ")),
        "{escalations:?}"
    );
    assert!(
        escalations
            .fix
            .as_deref()
            .unwrap()
            .contains(&format!("klaxon incidents show {id}"))
    );
    assert!(
        check(&checks, "failed-events")
            .fix
            .as_deref()
            .unwrap()
            .contains("klaxon dlq list --queue failed-events")
    );
    assert_eq!(
        check(&checks, "functions").message,
        format!("not found: {}-sms-reply", w.local.stack.name)
    );
    let unheard = check(&checks, "operator-alerts");
    assert!(
        unheard
            .message
            .starts_with("nobody hears Klaxon's alarms on itself")
            && unheard.message.contains("it has no subscription"),
        "{unheard:?}"
    );
    assert!(unheard.fix.as_deref().unwrap().contains("OperatorEmail="));
    // The rest of the stack is fine.
    assert_eq!(check(&checks, "incidents-table").status, Status::Ok);
    assert_eq!(check(&checks, "escalation-dead-letters").status, Status::Ok);
}

#[tokio::test]
async fn an_applied_configuration_with_a_person_without_contact_is_a_problem_naming_the_person() {
    let w = World::new(2, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    // Written past `klaxon config apply`, which would have refused it.
    let yaml =
        crate::common::oncall_yaml(&w, 2, 0).replace("people:\n", "people:\n  dan: {name: Dan}\n");
    w.local.config.store(&yaml, "by-hand", 1).await.unwrap();

    let checks = doctor(&w, &stand_in, &names(&w), false).await;

    let config = check(&checks, "configuration");
    assert_eq!(config.status, Status::Problem);
    assert!(
        config.message.contains("people.dan: has no contact method"),
        "{config:?}"
    );
    assert!(config.message.contains("revision 2"), "{config:?}");
    assert_eq!(doctor::exit_code(&checks), 1);
}

#[tokio::test]
async fn an_escalation_stopped_by_hand_while_nobody_acknowledged_is_a_problem() {
    // GIVEN an open incident whose escalation someone stopped in the console
    let w = World::new(30, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let pump = w.pump();
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name("stopped"),
        "ALARM",
        "2026-11-30T06:00:00.000Z",
    )
    .unwrap();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    w.wait_for_sms(&w.alice, 1).await;
    let execution = w.incident(&id).await.escalation_execution.unwrap();
    aws_sdk_sfn::Client::new(&w.local.sdk)
        .stop_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    assert_eq!(w.wait_execution_end(&id).await, "ABORTED");
    pump.stop().await;

    // WHEN doctor runs
    let checks = doctor(&w, &stand_in, &names(&w), false).await;

    // THEN the stop is a problem: nobody is paged for a triggered incident
    let escalations = check(&checks, "recent-escalations");
    assert_eq!(escalations.status, Status::Problem, "{escalations:?}");
    assert!(
        escalations.message.contains(&format!("{id} ABORTED at ")),
        "{escalations:?}"
    );
}

#[tokio::test]
async fn doctor_on_a_stack_that_does_not_exist_reports_what_is_missing_and_does_not_crash() {
    let w = World::bare().await;
    let stand_in =
        LambdaStandIn::for_stack(&w.local, &["alarm-intake", "sms-reply", "escalator"]).await;
    let missing = StackNames::new(&format!("gone{}", w.tag));
    // What the escalator would have said, given by hand.
    let options = DoctorOptions {
        origination_number: Some("+14155550100".into()),
        email_from: Some(format!("nobody@{}.invalid", w.tag)),
        ..DoctorOptions::default()
    };

    let checks = doctor_with(&w, &stand_in, &missing, &options).await;

    let found = problems(&checks);
    for name in [
        "incidents-table",
        "config-table",
        "state-machine",
        "escalation-queue",
        "escalation-dead-letters",
        "failed-events",
        "undelivered-notifications",
        "unpublished-events",
        "unnotified-events",
        "functions",
    ] {
        assert!(found.contains(&name), "{name} not a problem: {checks:?}");
    }
    assert!(
        check(&checks, "incidents-table")
            .message
            .contains(&format!("gone{}-incidents does not exist", w.tag))
    );
    // The sender given by hand is checked: no SES identity has it.
    let sender = check(&checks, "email-sender");
    assert_eq!(sender.status, Status::Problem, "{sender:?}");
    assert!(sender.message.starts_with("no SES identity for nobody@"));
    // The number given by hand is checked as far as the account answers
    // (moto cannot list origination numbers: then a warning, masked).
    let origination = check(&checks, "sms-origination-number");
    assert_ne!(origination.status, Status::Ok);
    assert!(
        origination.message.contains("+14*****0100"),
        "{origination:?}"
    );
    assert!(!origination.message.contains("+14155550100"));
    assert_eq!(doctor::exit_code(&checks), 1);

    // Without the escalator and without the options, the settings are
    // unknown: said, not guessed.
    let checks = doctor(&w, &stand_in, &missing, true).await;
    let origination = check(&checks, "sms-origination-number");
    assert_eq!(origination.status, Status::Warning);
    assert!(origination.message.contains("could not learn"));
    assert_eq!(doctor::exit_code(&checks), 1);
}

#[tokio::test]
async fn the_sms_spend_limit_is_read_from_the_account_and_the_default_is_a_warning() {
    let w = World::bare().await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let sns = aws_sdk_sns::Client::new(&w.local.sdk);
    // Account-wide in moto: only doctor reads it, and never as a problem.
    sns.set_sms_attributes()
        .attributes("MonthlySpendLimit", "50")
        .send()
        .await
        .unwrap();
    let checks = doctor(&w, &stand_in, &names(&w), false).await;
    let limit = check(&checks, "sms-spend-limit");
    assert_eq!(limit.status, Status::Ok, "{limit:?}");
    assert_eq!(limit.message, "monthly SMS spend limit: 50 USD");

    sns.set_sms_attributes()
        .attributes("MonthlySpendLimit", "1")
        .send()
        .await
        .unwrap();
    let checks = doctor(&w, &stand_in, &names(&w), false).await;
    assert_eq!(check(&checks, "sms-spend-limit").status, Status::Warning);
}

#[tokio::test]
async fn after_a_self_test_run_doctor_finds_its_success() {
    // GIVEN a local stack whose self-test just ran, its escalator pumped
    let w = World::new(60, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let pump = w.pump();
    w.local
        .self_test_handler(crate::self_test::limits())
        .run()
        .await
        .expect("self-test succeeds");
    pump.stop().await;
    // WHEN doctor runs, expecting a self-test
    let checks = doctor(&w, &stand_in, &names(&w), true).await;
    // THEN it reads the very metric the self-test published
    let self_test = check(&checks, "self-test");
    assert_eq!(self_test.status, Status::Ok, "{self_test:?}");
    assert!(
        self_test.message.starts_with("last success at"),
        "{self_test:?}"
    );
}

#[tokio::test]
async fn a_function_role_edited_to_lose_a_call_klaxon_makes_is_a_problem_naming_it() {
    // GIVEN a stack whose escalator role lost dynamodb:DeleteItem, as by a
    // hand edit in the console
    let w = World::new(60, 0).await;
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;
    let role = w
        .local
        .stack
        .function(klaxon_local::ids::ESCALATOR)
        .unwrap()
        .role
        .clone();
    crate::iam::take_out_of_role(&w, &role, "dynamodb:DeleteItem").await;

    // WHEN doctor runs
    let checks = doctor(&w, &stand_in, &names(&w), false).await;

    // THEN the roles check is a problem naming the function, its role,
    // the action and the table, and nothing else about the roles
    let roles = check(&checks, "function-roles");
    assert_eq!(roles.status, Status::Problem, "{roles:?}");
    let table = w
        .local
        .stack
        .arn(klaxon_local::ids::INCIDENTS_TABLE)
        .unwrap();
    let escalator = format!("{}-escalator", w.local.stack.name);
    assert!(
        roles.message.contains(&format!(
            "{escalator} ({role}) may not dynamodb:DeleteItem on {table} (implicitDeny)"
        )),
        "{roles:?}"
    );
    assert!(roles.message.starts_with("1 call(s)"), "{roles:?}");
    assert_eq!(doctor::exit_code(&checks), 1);
}

#[tokio::test]
async fn a_secret_named_outside_the_stacks_prefix_is_a_problem_the_notifier_could_not_read_it() {
    // GIVEN a configuration whose Slack token is a parameter outside the
    // stack's SecretsPrefix, which the notifier's role may not read
    let w = World::bare().await;
    let yaml = format!(
        "{}
notifications:
  incidents-slack:
    type: slack
    channel: C0INCIDENTS
    token: ssm:/elsewhere/slack-token
",
        crate::common::oncall_yaml(&w, 60, 0)
    );
    w.local.apply_config(&yaml).await.unwrap();
    let stand_in = LambdaStandIn::for_stack(&w.local, &[]).await;

    // WHEN doctor runs
    let checks = doctor(&w, &stand_in, &names(&w), false).await;

    // THEN the roles check names the notifier and the parameter
    let roles = check(&checks, "function-roles");
    assert_eq!(roles.status, Status::Problem, "{roles:?}");
    let notifier = format!("{}-notifier", w.local.stack.name);
    assert!(
        roles.message.contains(&format!(
            "may not ssm:GetParameter on arn:aws:ssm:us-east-1:{}:parameter/elsewhere/slack-token",
            klaxon_local::stack::LOCAL_ACCOUNT
        )) && roles.message.contains(&notifier),
        "{roles:?}"
    );
    assert!(roles.message.starts_with("1 call(s)"), "{roles:?}");
}
