//! Each function's calls run under its own execution role: the harness
//! signs them with the role's credentials and the emulator allows or
//! denies them as IAM would (`scripts/moto_ext/iam.py`).

use std::time::Duration;

use klaxon::core::incident::TimelineEvent;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::faults::Fault;
use klaxon_local::ids;

use crate::common::{World, opened_id};

/// A failing SMS makes the escalator release the page's claim
/// (`release_page`, a DynamoDB DeleteItem) so the step's next delivery
/// pages; what the escalator's role allows decides whether that works.
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
    w.local.stack.function(ids::ESCALATOR).unwrap().role.clone()
}

#[tokio::test]
async fn the_escalator_releases_a_failing_pages_claim_as_its_role_allows_and_pages_on_the_next_delivery()
 {
    let (w, proxy) = World::behind_proxy().await;
    // SNS fails past the SDK's own retries until the claim is released.
    proxy.inject("sns", Some("Publish"), Fault::Status(500), 1000);
    a_failing_page(&w, "release").await;
    let pump = w.pump();
    let role = escalator_role(&w);
    let table = w.local.stack.arn(ids::INCIDENTS_TABLE).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let calls = w.local.emulator.iam_calls(&role).await.unwrap();
        if calls
            .iter()
            .any(|c| c.action == "dynamodb:DeleteItem" && c.resource == table)
        {
            assert!(calls.iter().all(|c| c.allowed), "{calls:#?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{calls:#?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    proxy.heal();
    w.wait_for_sms(&w.alice, 1).await;
    pump.stop().await;
}

/// The bug this enforcement exists for: with `dynamodb:DeleteItem` taken
/// out of the escalator's role (as it was before), the release is denied
/// as in AWS, and the escalation stops with `escalation_failed` on the
/// timeline instead of paging on.
#[tokio::test]
async fn without_delete_item_in_the_escalators_role_its_release_is_denied_and_the_escalation_fails()
{
    let (w, proxy) = World::behind_proxy().await;
    let role = escalator_role(&w);
    take_out_of_role(&w, &role, "dynamodb:DeleteItem").await;

    proxy.inject("sns", Some("Publish"), Fault::Status(500), 1000);
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
            .any(|c| c.action == "dynamodb:DeleteItem" && !c.allowed),
        "{calls:#?}"
    );
    assert!(w.sms_to(&w.alice).await.is_empty(), "nobody was paged");
    // The timeline says which permission is missing, on what.
    let table = w.local.stack.arn(ids::INCIDENTS_TABLE).unwrap();
    let timeline = w.timeline(&id).await;
    assert!(
        timeline.iter().any(|e| matches!(&e.event,
            TimelineEvent::Warning { message, .. }
                if message.starts_with(&format!("permission missing: dynamodb:DeleteItem on {table}")))),
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
    // AND `klaxon doctor`'s list of the calls each function makes (which
    // it asks IAM's simulator about) has every call made.
    let facts = deployed_facts(&w);
    for function in [
        ids::INTAKE,
        ids::ESCALATOR,
        ids::SMS_REPLY,
        ids::EVENT_PUBLISHER,
        ids::STATUS_PAGE,
    ] {
        let deployed = w.local.stack.function(function).unwrap();
        let calls = w.local.emulator.iam_calls(&deployed.role).await.unwrap();
        assert!(!calls.is_empty(), "{function} made no call as its role");
        let denied: Vec<_> = calls.iter().filter(|c| !c.allowed).collect();
        assert!(denied.is_empty(), "{function}: {denied:#?}");
        let suffix = deployed
            .name
            .strip_prefix(&format!("{}-", w.local.stack.name))
            .unwrap();
        let listed: Vec<(&str, String)> = klaxon_cli::doctor::roles::calls_of(suffix)
            .iter()
            .filter_map(|c| facts.resource(c.on).map(|r| (c.action, r)))
            .collect();
        for made in &calls {
            assert!(
                listed.iter().any(|(action, pattern)| *action == made.action
                    && glob::Pattern::new(pattern).unwrap().matches(&made.resource)),
                "{suffix} calls {} on {}, which klaxon doctor does not check: add it to \
                 cli/src/doctor/roles.rs CALLS",
                made.action,
                made.resource
            );
        }
    }
}

/// What `klaxon doctor` learns of the deployed stack, from the functions'
/// ARNs and environments.
fn deployed_facts(w: &World) -> klaxon_cli::doctor::roles::Facts {
    let mut facts = klaxon_cli::doctor::roles::Facts {
        stack: w.local.stack.name.clone(),
        ..Default::default()
    };
    for function in [ids::ESCALATOR, ids::EVENT_PUBLISHER, ids::STATUS_PAGE] {
        let deployed = w.local.stack.function(function).unwrap();
        facts.learn(&deployed.arn, |k| deployed.environment.get(k).cloned());
    }
    facts
}
