//! The README's integration examples (`examples/integrations/`), on the
//! stack's bus in the emulator: each example's own rule pattern and input
//! transformer, with an SQS queue standing in for the API destination (the
//! emulator does not send bodies to API destinations), so the queue holds
//! exactly the request body Jira or ServiceNow would receive.

use std::collections::BTreeMap;

use klaxon_core::classify::Severity;
use klaxon_core::events::bus_event;
use klaxon_local::Stack;
use klaxon_local::template::repo_root;
use klaxon_local::{ids, streams::BusTap};
use klaxon_ports::EventBus;
use klaxon_testing::contract::{incident, t0, unique};
use klaxon_testing::events::sample_entries;
use serde_json::Value;

use crate::common::World;

/// The example deployed next to the stack by the emulator's
/// CloudFormation, as a user would deploy it.
async fn example(name: &str, w: &World, params: &[(&str, &str)]) -> Stack {
    let mut parameters: BTreeMap<String, String> =
        BTreeMap::from([("KlaxonStack".into(), w.local.stack.name.clone())]);
    let secrets = aws_sdk_secretsmanager::Client::new(&w.local.sdk);
    for (k, v) in params {
        parameters.insert((*k).into(), (*v).into());
        // The secret a connection reads exists first, as the example's
        // instructions say.
        if k.ends_with("SecretName") {
            let created = secrets
                .create_secret()
                .name(*v)
                .secret_string("example-token")
                .send()
                .await;
            if let Err(e) = created {
                assert!(
                    e.as_service_error()
                        .is_some_and(|se| se.is_resource_exists_exception()),
                    "{}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                );
            }
        }
    }
    let stem = name.trim_end_matches(".yaml");
    Stack::deploy(
        &w.local.sdk,
        &format!("{}-{stem}", w.local.stack.name),
        &repo_root().join("examples/integrations").join(name),
        parameters,
        &[],
    )
    .await
    .unwrap()
}

/// The example's deployed rule, read back: its pattern and its target's
/// input transformer on a new rule whose target is a queue instead of the
/// API destination.
async fn rule_into_queue(w: &World, example: &Stack, rule: &str) -> BusTap {
    let events = aws_sdk_eventbridge::Client::new(&w.local.sdk);
    let name = example.physical(rule).unwrap();
    let bus = w.local.stack.physical(ids::EVENT_BUS).unwrap();
    let described = events
        .describe_rule()
        .name(name)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.event_bus_name(),
        Some(bus),
        "{rule} listens to Klaxon's bus"
    );
    let targets = events
        .list_targets_by_rule()
        .rule(name)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap();
    let target = &targets.targets()[0];
    assert!(
        target.arn().contains(":api-destination/"),
        "{rule} targets an API destination: {}",
        target.arn()
    );
    let transformer = target.input_transformer().unwrap();
    let paths: BTreeMap<String, String> = transformer
        .input_paths_map()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    BusTap::attach_with(
        &w.local.sdk,
        bus,
        &format!(
            "{}-{}-{}",
            w.local.stack.name,
            rule.to_lowercase(),
            &unique()[..6]
        ),
        described.event_pattern().unwrap(),
        Some((paths, transformer.input_template().to_string())),
    )
    .await
    .unwrap()
}

/// Incidents of SEV1, SEV2 and SEV3, each with an event of every
/// detail-type, published through Klaxon's own adapter.
async fn publish_incidents(w: &World) -> BTreeMap<String, (Severity, String)> {
    let u = unique();
    let mut ids = BTreeMap::new();
    for (name, severity) in [
        ("ONE", Severity::Sev1),
        ("TWO", Severity::Sev2),
        ("THREE", Severity::Sev3),
    ] {
        let mut i = incident(&u, name, t0());
        i.severity = severity;
        let events: Vec<_> = sample_entries(t0())
            .iter()
            .map(|e| bus_event(&i.id, Some(&i), e).unwrap())
            .collect();
        w.local.bus.publish(&events).await.unwrap();
        ids.insert(i.id.clone(), (severity, i.title.clone()));
    }
    ids
}

#[tokio::test]
async fn the_jira_example_opens_one_issue_per_sev1_or_sev2_incident() {
    let w = World::bare().await;
    let jira = example(
        "jira.yaml",
        &w,
        &[
            ("JiraBaseUrl", "https://example.atlassian.net"),
            ("JiraProjectKey", "OPS"),
            ("JiraUser", "ops@example.com"),
            ("JiraTokenSecretName", "jira-token"),
        ],
    )
    .await;
    let jira = rule_into_queue(&w, &jira, "OpenedIncidents").await;
    let incidents = publish_incidents(&w).await;
    let bodies: Vec<Value> = jira.drain().await.unwrap();
    assert_eq!(
        bodies.len(),
        2,
        "SEV1 and SEV2 only, once each: {bodies:#?}"
    );
    for body in &bodies {
        let fields = &body["fields"];
        assert_eq!(fields["project"]["key"], "OPS");
        let id = fields["labels"][1].as_str().unwrap();
        let (severity, title) = &incidents[id];
        assert!(matches!(severity, Severity::Sev1 | Severity::Sev2));
        assert_eq!(fields["summary"], format!("[{severity}] checkout: {title}"));
        assert!(
            fields["description"]
                .as_str()
                .unwrap()
                .contains("console.aws.amazon.com/cloudwatch")
        );
    }
}

#[tokio::test]
async fn the_servicenow_example_opens_one_incident_per_klaxon_incident() {
    let w = World::bare().await;
    let sn = example(
        "servicenow.yaml",
        &w,
        &[
            ("ServiceNowInstanceUrl", "https://example.service-now.com"),
            ("ServiceNowUser", "klaxon"),
            ("ServiceNowPasswordSecretName", "sn-password"),
        ],
    )
    .await;
    let sn = rule_into_queue(&w, &sn, "OpenedIncidents").await;
    let incidents = publish_incidents(&w).await;
    let bodies: Vec<Value> = sn.drain().await.unwrap();
    let correlated: std::collections::BTreeSet<&str> = bodies
        .iter()
        .map(|b| b["correlation_id"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 3);
    assert_eq!(correlated, incidents.keys().map(String::as_str).collect());
    for b in &bodies {
        assert_eq!(b["correlation_display"], "Klaxon");
        assert!(
            b["short_description"]
                .as_str()
                .unwrap()
                .contains("checkout")
        );
    }
}

#[tokio::test]
async fn the_archive_example_keeps_every_event() {
    let w = World::bare().await;
    let example = example("archive.yaml", &w, &[]).await;
    let events = aws_sdk_eventbridge::Client::new(&w.local.sdk);
    let name = example.physical("IncidentEventsArchive").unwrap();
    let described = events
        .describe_archive()
        .archive_name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.event_source_arn(),
        Some(w.local.stack.arn(ids::EVENT_BUS).unwrap().as_str()),
        "the archive is of Klaxon's bus"
    );
    publish_incidents(&w).await;
    let archive = events
        .describe_archive()
        .archive_name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        archive.event_count,
        3 * klaxon_core::events::DetailType::ALL.len() as i64
    );
}
