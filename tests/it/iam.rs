//! Each function's calls run under its own execution role: the harness
//! signs them with the role's credentials and the emulator allows or
//! denies them as IAM would (`scripts/moto_ext/iam.py`).

use std::time::Duration;

use klaxon_core::incident::TimelineEvent;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::faults::Fault;
use klaxon_local::{IamCall, ids};

use crate::common::{World, opened_id};

/// An incident whose first page (an SMS) fails while SNS is failed by the
/// fault proxy: the escalator records the page as failed (UpdateItem) and
/// reads its failed pages back (Query) to retry them; what its role allows
/// decides whether that works.
async fn a_failing_page(w: &World, name: &str) -> String {
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name(name),
        "ALARM",
        "2026-12-07T06:00:00.000Z",
    )
    .unwrap();
    opened_id(&w.local.deliver_alarm(&event).await.unwrap())
}

fn escalator_role(w: &World) -> String {
    role_of(w, ids::ESCALATOR)
}

#[tokio::test]
async fn the_escalator_records_a_failing_page_as_its_role_allows_and_retries_it_when_sms_returns() {
    let (w, proxy) = World::behind_proxy().await;
    // SNS fails past the SDK's own retries.
    proxy.inject("sns", Some("Publish"), Fault::Status(500), 1000);
    let id = a_failing_page(&w, "retry").await;
    let pump = w.pump();
    let role = escalator_role(&w);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if w.timeline(&id)
            .await
            .iter()
            .any(|e| matches!(e.event, TimelineEvent::PageFailed { .. }))
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    proxy.heal();
    w.wait_for_sms(&w.alice, 1).await;
    pump.stop().await;
    let calls = w.local.emulator.iam_calls(&role).await.unwrap();
    let table = w.local.stack.arn(ids::INCIDENTS_TABLE).unwrap();
    for action in ["dynamodb:UpdateItem", "dynamodb:Query"] {
        assert!(
            calls
                .iter()
                .any(|c| c.action == action && c.resource == table),
            "{action}: {calls:#?}"
        );
    }
    assert!(calls.iter().all(|c| c.allowed), "{calls:#?}");
}

/// What this enforcement exists for: with a permission the escalator
/// needs taken out of its role (`dynamodb:Query`, with which every step
/// reads the incident's failed pages), its calls are denied as in AWS, and
/// the escalation stops with `escalation_failed` on the timeline, naming
/// the permission, instead of failing unseen.
#[tokio::test]
async fn without_query_in_the_escalators_role_its_steps_are_denied_and_the_escalation_fails() {
    let (w, _proxy) = World::behind_proxy().await;
    let role = escalator_role(&w);
    take_out_of_role(&w, &role, "dynamodb:Query").await;

    let id = a_failing_page(&w, "denied").await;
    let pump = w.pump();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let failure = loop {
        let timeline = w.timeline(&id).await;
        if let Some(failure) = timeline.iter().find_map(|e| match &e.event {
            TimelineEvent::EscalationFailed { failure } => Some(failure.clone()),
            _ => None,
        }) {
            break failure;
        }
        assert!(tokio::time::Instant::now() < deadline, "{timeline:#?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    pump.stop().await;
    assert_eq!(failure["Error"], "Klaxon.StepFailed", "{failure}");
    let calls = w.local.emulator.iam_calls(&role).await.unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c.action == "dynamodb:Query" && !c.allowed),
        "{calls:#?}"
    );
    assert!(w.sms_to(&w.alice).await.is_empty(), "nobody was paged");
    // The timeline says which permission is missing, on what.
    let table = w.local.stack.arn(ids::INCIDENTS_TABLE).unwrap();
    let timeline = w.timeline(&id).await;
    assert!(
        timeline.iter().any(|e| matches!(&e.event,
            TimelineEvent::Warning { message, .. }
                if message.starts_with(&format!("permission missing: dynamodb:Query on {table}")))),
        "{timeline:#?}"
    );
}

/// Takes `action` out of every inline policy of `role` (as someone editing
/// it in the console would); panics unless the role granted it.
pub async fn take_out_of_role(w: &World, role: &str, action: &str) {
    let iam = aws_sdk_iam::Client::new(&w.local.sdk);
    let name = role.rsplit('/').next().unwrap().to_string();
    let policies = iam
        .list_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    let mut removed = false;
    for policy in policies.policy_names() {
        let document = iam
            .get_role_policy()
            .role_name(&name)
            .policy_name(policy)
            .send()
            .await
            .unwrap()
            .policy_document()
            .to_string();
        let mut decoded: serde_json::Value =
            serde_json::from_str(&percent_decoded(&document)).unwrap();
        let mut found = false;
        for statement in decoded["Statement"].as_array_mut().unwrap() {
            if let Some(actions) = statement["Action"].as_array_mut() {
                let before = actions.len();
                actions.retain(|a| a != action);
                found |= actions.len() < before;
            }
        }
        if found {
            // moto refuses a document without a Version (SAM writes none).
            decoded["Version"] = "2012-10-17".into();
            let edited = decoded.to_string();
            assert!(!edited.contains(&format!("\"{action}\"")), "{edited}");
            iam.put_role_policy()
                .role_name(&name)
                .policy_name(policy)
                .policy_document(edited)
                .send()
                .await
                .unwrap();
            removed = true;
        }
    }
    assert!(removed, "{role} grants {action}");
}

/// IAM returns policy documents URL-encoded.
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A whole incident without faults, through every function that takes
/// part: each makes its calls as its own execution role, and the
/// emulator's record of those calls (action and resource, call by call)
/// shows the role allowed every one.
#[tokio::test]
async fn a_whole_incident_makes_every_call_as_its_functions_role_and_each_role_allows_them() {
    let w = World::new(60, 0).await;
    let pump = w.pump();
    let id = a_failing_page(&w, "whole").await;
    let sms = w.wait_for_sms(&w.alice, 1).await;
    let code = crate::common::ack_code(&sms[0].message);
    w.local
        .deliver_reply(
            &klaxon_local::events::sms_reply(&w.alice, &format!("ACK {code}"), &w.tag).unwrap(),
        )
        .await
        .unwrap();
    let ok = alarm(
        Delivery::Sns,
        &w.alarm_name("whole"),
        "OK",
        "2026-12-07T06:05:00.000Z",
    )
    .unwrap();
    w.local.deliver_alarm(&ok).await.unwrap();
    pump.stop().await;
    w.local.publish_events().await.unwrap();
    w.local.refresh_status_page().await.unwrap();
    assert!(
        w.timeline(&id)
            .await
            .iter()
            .any(|e| matches!(e.event, TimelineEvent::Resolved { .. })),
        "the incident went all the way"
    );
    // AND `klaxon doctor` asks IAM's simulator about every call made.
    for function in [
        ids::INTAKE,
        ids::ESCALATOR,
        ids::SMS_REPLY,
        ids::EVENT_PUBLISHER,
        ids::STATUS_PAGE,
    ] {
        every_call_allowed_and_checked_by_doctor(&w, function).await;
    }
}

/// THEN-step: `function` made calls as its role, its role allowed each,
/// and `klaxon doctor`'s `function-roles` check asks the simulator about
/// each (on the deployed stack, with the applied configuration).
/// Returns the calls.
pub(crate) async fn every_call_allowed_and_checked_by_doctor(
    w: &World,
    function: &str,
) -> Vec<IamCall> {
    let calls = w
        .local
        .emulator
        .iam_calls(&role_of(w, function))
        .await
        .unwrap();
    assert!(!calls.is_empty(), "{function} made no call as its role");
    let denied: Vec<_> = calls.iter().filter(|c| !c.allowed).collect();
    assert!(denied.is_empty(), "{function}: {denied:#?}");
    assert_doctor_asks_about(w, function, &calls).await;
    calls
}

/// Every one of `calls` is among the questions `klaxon doctor` asks about
/// `function`'s role.
pub(crate) async fn assert_doctor_asks_about(w: &World, function: &str, calls: &[IamCall]) {
    let deployed = w.local.stack.function(function).unwrap();
    let suffix = deployed
        .name
        .strip_prefix(&format!("{}-", w.local.stack.name))
        .unwrap();
    let asked = deployed_facts(w).await.questions(suffix);
    for made in calls {
        assert!(
            asked.iter().any(|a| a.action == made.action
                && glob::Pattern::new(&a.resource)
                    .unwrap()
                    .matches(&made.resource)),
            "{suffix} calls {} on {}, which klaxon doctor does not ask about: add it to \
             cli/src/doctor/roles.rs",
            made.action,
            made.resource
        );
    }
}

fn role_of(w: &World, function: &str) -> String {
    w.local.stack.function(function).unwrap().role.clone()
}

/// What `klaxon doctor` learns of the deployed stack, from the functions'
/// ARNs and environments and the applied configuration.
async fn deployed_facts(w: &World) -> klaxon_cli::doctor::roles::Facts {
    use klaxon_ports::ConfigSource;
    let mut facts = klaxon_cli::doctor::roles::Facts {
        stack: w.local.stack.name.clone(),
        ..Default::default()
    };
    for function in [ids::ESCALATOR, ids::EVENT_PUBLISHER, ids::STATUS_PAGE] {
        let deployed = w.local.stack.function(function).unwrap();
        facts.learn(&deployed.arn, |k| deployed.environment.get(k).cloned());
    }
    let config = w.local.as_notifier.config.current().await.unwrap();
    facts.learn_config(&config);
    facts
}

/// Runs `klaxon-local lambda-runner env` as cargo does under `cargo lambda
/// watch` (`scripts/dev.sh watch`), for the function watch names
/// `function`: what `env` prints is what the function would be given.
async fn run_under_watch(w: &World, function: &str) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_klaxon-local"))
        .args(["--stack", &w.local.stack.name, "lambda-runner", "env"])
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_function_run_by_cargo_lambda_watch_has_its_deployed_roles_credentials_and_only_its_permissions()
 {
    use aws_sdk_dynamodb::types::AttributeValue;
    let w = World::bare().await;
    // WHEN watch runs the escalator through the runner
    let out = run_under_watch(&w, "escalator").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let given: std::collections::HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // THEN it is given a session of its role, not the administrator's keys
    let key = &given["AWS_ACCESS_KEY_ID"];
    assert_ne!(Some(key), std::env::var("AWS_ACCESS_KEY_ID").ok().as_ref());
    let credentials = aws_credential_types::Credentials::new(
        key,
        &given["AWS_SECRET_ACCESS_KEY"],
        Some(given["AWS_SESSION_TOKEN"].clone()),
        None,
        "watch",
    );
    let sdk = w
        .local
        .sdk
        .to_builder()
        .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    // AND a call its role allows succeeds
    dynamodb
        .get_item()
        .table_name(w.local.stack.physical(ids::INCIDENTS_TABLE).unwrap())
        .key("pk", AttributeValue::S("INCIDENT#none".into()))
        .key("sk", AttributeValue::S("META".into()))
        .send()
        .await
        .unwrap();
    // AND one it does not (the escalator only reads the configuration) is denied
    let denied = dynamodb
        .put_item()
        .table_name(w.local.stack.physical(ids::CONFIG_TABLE).unwrap())
        .item("pk", AttributeValue::S("CONFIG".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        denied.into_service_error().meta().code(),
        Some("AccessDeniedException")
    );
    // AND the emulator judged both as the escalator's role, in the
    // session watch gave (the stack's own escalations use other sessions)
    let calls = w
        .local
        .emulator
        .iam_calls(&escalator_role(&w))
        .await
        .unwrap();
    let judged: Vec<(&str, bool)> = calls
        .iter()
        .filter(|c| &c.access_key == key)
        .map(|c| (c.action.as_str(), c.allowed))
        .collect();
    assert_eq!(
        judged,
        [("dynamodb:GetItem", true), ("dynamodb:PutItem", false)]
    );
}

#[tokio::test]
async fn watch_refuses_to_run_a_function_the_stack_does_not_have_and_says_which() {
    let w = World::bare().await;
    let out = run_under_watch(&w, "pager").await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("no function {}-pager", w.local.stack.name)),
        "{stderr}"
    );
}
