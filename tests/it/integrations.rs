//! The README's integration examples (`examples/integrations/`), on the
//! stack's bus in the emulator: each example's own rule pattern and input
//! transformer, with an SQS queue standing in for the API destination (the
//! emulator does not send bodies to API destinations), so the queue holds
//! exactly the request body Jira or ServiceNow would receive.

use std::collections::BTreeMap;

use klaxon::core::classify::Severity;
use klaxon::core::events::bus_event;
use klaxon::ports::EventBus;
use klaxon::testing::contract::{incident, t0, unique};
use klaxon::testing::events::sample_entries;
use klaxon_local::stack::LOCAL_ACCOUNT;
use klaxon_local::template::{Context, Template, repo_root, resolve};
use klaxon_local::{ids, streams::BusTap};
use serde_json::Value;
use serde_norway::Value as Yaml;

use crate::common::World;

fn example(name: &str, w: &World, params: &[(&str, &str)]) -> (Template, Context) {
    let template = Template::load(&repo_root().join("examples/integrations").join(name)).unwrap();
    let mut refs = template.parameter_defaults();
    refs.insert("KlaxonStack".into(), w.local.stack.name.clone());
    for (k, v) in params {
        assert!(
            refs.contains_key(*k) || template.doc["Parameters"].get(*k).is_some(),
            "{name}: no parameter {k}"
        );
        refs.insert((*k).into(), (*v).into());
    }
    let ctx = Context {
        stack_name: format!("{}-example", w.local.stack.name),
        region: w.local.stack.ctx.region.clone(),
        account: LOCAL_ACCOUNT.into(),
        refs,
        ..Context::default()
    };
    (template, ctx)
}

/// The example's rule on the stack's bus, its target's input transformer
/// kept and its API destination replaced by a new queue.
async fn rule_into_queue(w: &World, template: &Template, ctx: &Context, rule: &str) -> BusTap {
    let p = &template.resource(rule).unwrap()["Properties"];
    let bus = resolve(&p["EventBusName"], ctx).unwrap();
    assert_eq!(
        bus,
        w.local.stack.physical(ids::EVENT_BUS).unwrap(),
        "{rule} listens to Klaxon's bus"
    );
    let pattern = serde_json::to_string(&p["EventPattern"]).unwrap();
    let target = &p["Targets"][0];
    let paths: BTreeMap<String, String> = target["InputTransformer"]["InputPathsMap"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect();
    let input: &Yaml = &target["InputTransformer"]["InputTemplate"];
    let input = resolve(input, ctx).unwrap();
    BusTap::attach_with(
        &w.local.sdk,
        &bus,
        &format!(
            "{}-{}-{}",
            w.local.stack.name,
            rule.to_lowercase(),
            &unique()[..6]
        ),
        &pattern,
        Some((paths, input)),
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
    let (t, ctx) = example(
        "jira.yaml",
        &w,
        &[
            ("JiraBaseUrl", "https://example.atlassian.net"),
            ("JiraProjectKey", "OPS"),
            ("JiraUser", "ops@example.com"),
            ("JiraTokenSecretName", "jira-token"),
        ],
    );
    let jira = rule_into_queue(&w, &t, &ctx, "OpenedIncidents").await;
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
    let (t, ctx) = example(
        "servicenow.yaml",
        &w,
        &[
            ("ServiceNowInstanceUrl", "https://example.service-now.com"),
            ("ServiceNowUser", "klaxon"),
            ("ServiceNowPasswordSecretName", "sn-password"),
        ],
    );
    let sn = rule_into_queue(&w, &t, &ctx, "OpenedIncidents").await;
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
    let (t, ctx) = example("archive.yaml", &w, &[]);
    let p = &t.resource("IncidentEventsArchive").unwrap()["Properties"];
    let events = aws_sdk_eventbridge::Client::new(&w.local.sdk);
    let name = resolve(&p["ArchiveName"], &ctx).unwrap();
    let source = resolve(&p["SourceArn"], &ctx).unwrap();
    assert_eq!(
        source,
        w.local.stack.ctx.attrs[&format!("{}.Arn", ids::EVENT_BUS)],
        "the archive is of Klaxon's bus"
    );
    events
        .create_archive()
        .archive_name(&name)
        .event_source_arn(&source)
        .event_pattern(serde_json::to_string(&p["EventPattern"]).unwrap())
        .retention_days(90)
        .send()
        .await
        .unwrap();
    publish_incidents(&w).await;
    let archive = events
        .describe_archive()
        .archive_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        archive.event_count,
        3 * klaxon::core::events::DetailType::ALL.len() as i64
    );
}
