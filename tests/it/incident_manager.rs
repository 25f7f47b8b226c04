//! The notifier's Incident Manager mirror through a stand-in for Incident
//! Manager's API (`klaxon_local::incident_manager`), each call judged from
//! the notifier's execution role as IAM would: the response plan is the
//! resource of StartIncident, and what Incident Manager does next with the
//! notifier's forward access session needs `ssm-contacts:StartEngagement`
//! and `ssm:CreateOpsItem` under `aws:CalledViaFirst`.

use std::time::Duration;

use klaxon_app::notifier::INCIDENT_MANAGER_TARGET;
use klaxon_aws::dynamo::stream;
use klaxon_http::HttpEndpoints;
use klaxon_incident_manager::SsmIncidentManager;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::incident_manager::IncidentManagerStandIn;
use klaxon_local::notifications::LocalNotifierPorts;
use klaxon_local::stack::LOCAL_ACCOUNT;
use klaxon_ports::RetryPolicy;
use klaxon_secrets::AwsSecrets;
use klaxon_system::SystemClock;

use crate::common::{World, oncall_yaml, opened_id};

#[tokio::test]
async fn the_mirror_starts_a_record_as_the_notifiers_role_and_a_plan_it_may_not_use_is_parked() {
    // GIVEN checkout mirrored to a response plan of this account, and
    // payments to one of another account, which the role does not name
    let w = World::bare().await;
    let plan = format!(
        "arn:aws:ssm-incidents::{LOCAL_ACCOUNT}:response-plan/klaxon-{}",
        w.tag
    );
    let foreign = "arn:aws:ssm-incidents::999999999999:response-plan/elsewhere";
    let yaml = oncall_yaml(&w, 60, 0)
        .replace(
            "checkout: {escalation_policy: default}",
            &format!(
                "checkout: {{escalation_policy: default, incident_manager: {{response_plan_arn: \"{plan}\"}}}}"
            ),
        )
        .replace(
            "payments: {escalation_policy: payments}",
            &format!(
                "payments: {{escalation_policy: payments, incident_manager: {{response_plan_arn: \"{foreign}\"}}}}"
            ),
        );
    w.local.apply_config(&yaml).await.unwrap();
    let stand_in = IncidentManagerStandIn::start().await.unwrap();
    // The notifier's own signed configuration, its mirror at the stand-in.
    let incident_manager = SsmIncidentManager::new(stand_in.client(&w.local.as_notifier.sdk));
    let endpoints = HttpEndpoints::new(RetryPolicy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        timeout: Duration::from_secs(2),
        ..RetryPolicy::default()
    });
    let secrets = AwsSecrets::from_sdk(&w.local.as_notifier.sdk);
    let notifier = klaxon_app::notifier::Notifier::<LocalNotifierPorts<_, _>> {
        incidents: &w.local.as_notifier.store,
        config: &w.local.as_notifier.config,
        endpoints: &endpoints,
        secrets: &secrets,
        email: &w.local.as_notifier.email,
        incident_manager: &incident_manager,
        undelivered: &w.local.as_notifier.undelivered,
        clock: &SystemClock,
        slack_api: "http://127.0.0.1:9/api",
    };

    // WHEN an alarm of each service opens an incident and the notifier
    // reads the stream
    let at = "2026-12-07T06:00:00.000Z";
    let mut ids = Vec::new();
    for name in ["checkout", "payments"] {
        let event = alarm(Delivery::EventBridge, &w.alarm_name(name), "ALARM", at).unwrap();
        ids.push(opened_id(&w.local.deliver_alarm(&event).await.unwrap()));
    }
    w.local
        .as_notifier
        .stream
        .deliver(async |event| Ok(notifier.handle(&stream::records(event)).await.response()))
        .await
        .unwrap();

    // THEN checkout's record was started under the notifier's role, and
    // Incident Manager's forward access as that role was allowed
    let judged = stand_in.judged();
    let of = |action: &str, resource: &str| {
        judged
            .iter()
            .find(|j| j.action == action && j.resource == resource)
            .unwrap_or_else(|| panic!("{action} on {resource} not judged: {judged:#?}"))
            .clone()
    };
    assert_eq!(of("ssm-incidents:StartIncident", &plan).denied, None);
    for forwarded in ["ssm-contacts:StartEngagement", "ssm:CreateOpsItem"] {
        let verdicts: Vec<_> = judged.iter().filter(|j| j.action == forwarded).collect();
        assert!(!verdicts.is_empty(), "{forwarded}: {judged:#?}");
        assert!(verdicts.iter().all(|j| j.denied.is_none()), "{verdicts:#?}");
    }
    let started: Vec<_> = stand_in
        .requests()
        .into_iter()
        .filter(|(op, _)| op == "startIncident")
        .collect();
    // (one record: a repeated start carries the same client token)
    let tokens: std::collections::BTreeSet<_> = started
        .iter()
        .map(|(_, body)| body["clientToken"].to_string())
        .collect();
    assert_eq!(tokens.len(), 1, "{started:#?}");
    assert!(
        started
            .iter()
            .all(|(_, body)| body["responsePlanArn"] == plan.as_str())
    );

    // AND the other account's plan was denied as IAM would, and parked
    // as undelivered with IAM's reason, not retried
    let denied = of("ssm-incidents:StartIncident", foreign)
        .denied
        .expect("a plan the role does not name is denied");
    assert!(denied.contains("is not authorized to perform: ssm-incidents:StartIncident"));
    let parked = w.local.undelivered().await.unwrap();
    let mine: Vec<_> = parked
        .iter()
        .filter(|p| p.incident_id == ids[1] && p.target == INCIDENT_MANAGER_TARGET)
        .collect();
    // (each of the incident's events that reached the mirror, each parked)
    assert!(!mine.is_empty(), "{parked:#?}");
    assert!(
        mine.iter()
            .all(|p| p.error.contains("AccessDeniedException") && p.error.contains(foreign)),
        "{mine:#?}"
    );
    // AND `klaxon doctor` asks about every call the notifier made, the
    // other account's plan included (which it would report refused)
    let role = w
        .local
        .stack
        .function(klaxon_local::ids::NOTIFIER)
        .unwrap()
        .role
        .clone();
    let calls = w.local.emulator.iam_calls(&role).await.unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c.action == "ssm-contacts:StartEngagement")
    );
    crate::iam::assert_doctor_asks_about(&w, klaxon_local::ids::NOTIFIER, &calls).await;
}
