//! Configuration tests: loading, validation problems and warnings, routing
//! with the services' defaults, schedule targets resolved.

use super::*;

const GOOD: &str = r#"
version: 1
people:
  alice: {name: Alice, phone: "+819012345678", email: alice@example.com, time_zone: Asia/Tokyo}
  bob: {name: Bob, phone: "+14155550123"}
teams:
  core: {name: Core, members: [alice, bob]}
services:
  general: {escalation_policy: default, team: core}
  db: {escalation_policy: default, urgency: low, auto_resolve: false}
schedules:
  primary:
    time_zone: Asia/Tokyo
    layers:
      - {name: weekly, rotation: weekly, handoff: "09:00", start: 2026-11-02, participants: [alice, bob]}
escalation_policies:
  default:
    repeat: 2
    levels:
      - {targets: [{schedule: primary}], timeout_minutes: 5}
      - {targets: [bob, alice], timeout_seconds: 30}
routing:
  default: {service: general, severity: SEV3}
  rules:
    - {name: db, match: {alarm_name: "rds-*"}, service: db, severity: SEV1}
"#;

fn issues(yaml: &str) -> Vec<ConfigIssue> {
    OncallConfig::from_yaml(yaml).unwrap_err().issues
}

fn paths(yaml: &str) -> Vec<String> {
    issues(yaml).into_iter().map(|i| i.path).collect()
}

fn alarm(name: &str) -> AlarmStateChange {
    let event = serde_json::json!({
        "version": "0", "id": "x", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012",
        "time": "2026-11-21T06:00:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")],
        "detail": {"alarmName": name, "state": {"value": "ALARM", "reason": "r",
            "timestamp": "2026-11-21T06:00:00.000+0000"},
            "configuration": {"metrics": []}}
    });
    klaxon_core::alarm::parse_direct_event(&event).unwrap()
}

#[test]
fn loads_a_valid_file_and_routes_with_the_services_defaults() {
    let c = OncallConfig::from_yaml(GOOD).unwrap();
    assert_eq!(c.people.len(), 2);
    let p = c.policy("default").unwrap();
    assert_eq!(p.repeat, 2);
    assert_eq!(p.levels[0].timeout_secs(), 300);
    assert_eq!(p.levels[1].timeout_secs(), 30);
    let d = c.decide(&alarm("rds-cpu"), None);
    assert_eq!(d.classification.service, "db");
    assert_eq!(d.classification.rule.as_deref(), Some("db"));
    assert_eq!(d.urgency, Urgency::Low, "the service's default urgency");
    assert_eq!(d.policy, "default", "the service's policy");
    let d = c.decide(&alarm("api"), None);
    assert_eq!(d.classification.service, "general");
    assert_eq!(d.urgency, Urgency::High);
    assert!(!c.auto_resolves("db"));
    assert!(c.auto_resolves("general"));
    assert_eq!(c.person_by_phone("+14155550123").unwrap().id, "bob");
    assert_eq!(c.default_policy(), c.policy("default"), "general's policy");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn schedule_targets_resolve_at_the_moment_asked() {
    let c = OncallConfig::from_yaml(GOOD).unwrap();
    let level = &c.policy("default").unwrap().levels[0];
    // Weekly from Monday 2026-11-02 09:00 Tokyo: alice, then bob.
    let first: Timestamp = "2026-11-03T00:00:00Z".parse().unwrap();
    let second: Timestamp = "2026-11-10T00:00:00Z".parse().unwrap();
    let r = c.resolve_level(level, first);
    assert_eq!(r.targets[0].describe(), "alice (schedule primary)");
    assert_eq!(c.resolve_level(level, second).targets[0].person, "bob");
    // Before the rotation starts nobody is on call: a warning, no target.
    let before: Timestamp = "2026-10-01T00:00:00Z".parse().unwrap();
    let r = c.resolve_level(level, before);
    assert!(r.targets.is_empty());
    assert_eq!(r.warnings, vec!["schedule 'primary' has nobody on call"]);
}

#[test]
fn a_person_targeted_twice_in_a_level_is_paged_once() {
    let yaml = GOOD.replace(
        "[{schedule: primary}], timeout_minutes: 5",
        "[alice, {schedule: primary}], timeout_minutes: 5",
    );
    let c = OncallConfig::from_yaml(&yaml).unwrap();
    let level = &c.policy("default").unwrap().levels[0];
    let r = c.resolve_level(level, "2026-11-03T00:00:00Z".parse().unwrap());
    assert_eq!(r.targets.len(), 1);
    assert_eq!(r.targets[0].via, None);
}

#[test]
fn reports_unknown_references_with_their_paths() {
    let yaml = GOOD
        .replace("[bob, alice]", "[bob, carol]")
        .replace("{schedule: primary}", "{schedule: secondary}")
        .replace("members: [alice, bob]", "members: [alice, dave]")
        .replace(
            "service: db, severity: SEV1",
            "service: dbs, severity: SEV1, policy: nightly",
        )
        .replace(
            "{escalation_policy: default, team: core}",
            "{escalation_policy: default, team: ops}",
        );
    assert_eq!(
        paths(&yaml),
        vec![
            "teams.core.members[1]",
            "escalation_policies.default.levels[0].targets[0]",
            "escalation_policies.default.levels[1].targets[1]",
            "services.general.team",
            "routing.rules[0].service",
            "routing.rules[0].policy",
        ]
    );
}

#[test]
fn reports_unknown_fields_with_path_and_line() {
    let yaml = GOOD.replace("email: alice@example.com", "emial: alice@example.com");
    let found = issues(&yaml);
    assert_eq!(found[0].path, "people.alice.emial");
    assert!(
        found[0].message.starts_with("unknown field `emial`"),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].line, Some(4));
}

#[test]
fn reports_bad_timeouts_repeats_zones_and_numbers() {
    let yaml = GOOD
        .replace(
            "timeout_minutes: 5",
            "timeout_minutes: 5, timeout_seconds: 3",
        )
        .replace("repeat: 2", "repeat: 12")
        .replace("time_zone: Asia/Tokyo}", "time_zone: Asia/Tokio}")
        .replace("+14155550123", "0415 555 0123");
    assert_eq!(
        paths(&yaml),
        vec![
            "people.alice.time_zone",
            "people.bob.phone",
            "escalation_policies.default.repeat",
            "escalation_policies.default.levels[0]",
        ]
    );
}

#[test]
fn schedule_problems_carry_the_schedule_path() {
    let yaml = GOOD
        .replace("participants: [alice, bob]", "participants: []")
        .replace(
            "time_zone: Asia/Tokyo\n    layers",
            "time_zone: Mars/Base\n    layers",
        );
    let found = paths(&yaml);
    assert!(
        found
            .iter()
            .any(|p| p == "schedules.primary.layers[0].participants"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p == "schedules.primary.time_zone"),
        "{found:?}"
    );
}

#[test]
fn a_policy_only_voice_can_reach_is_valid_with_a_warning_that_calls_need_a_voice_number() {
    let yaml = r#"
version: 1
people:
  carol:
    name: Carol
    contact_methods: [{type: voice, address: "+14155550199"}]
services:
  s: {escalation_policy: default}
escalation_policies:
  default: {levels: [{targets: [carol], timeout_minutes: 1}]}
routing:
  default: {service: s, severity: SEV2}
"#;
    let config = OncallConfig::from_yaml(yaml).unwrap();
    let warned: Vec<&str> = config.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(warned, vec!["people.carol.notification_rules"]);
    assert!(config.warnings[0].message.contains("VoiceFromNumber"));
}

#[test]
fn a_policy_with_unknown_targets_reports_only_the_unknown_targets() {
    let yaml = r#"
version: 1
people:
  carol: {name: Carol, email: carol@example.com, phone: "+14155550199"}
services:
  s: {escalation_policy: default}
escalation_policies:
  default: {levels: [{targets: [ghost, {schedule: nowhere}], timeout_minutes: 1}]}
routing:
  default: {service: s, severity: SEV2}
"#;
    assert_eq!(
        paths(yaml),
        vec![
            "escalation_policies.default.levels[0].targets[0]",
            "escalation_policies.default.levels[0].targets[1]",
        ]
    );
}

#[test]
fn email_only_policies_load_with_a_warning() {
    let yaml = r#"
version: 1
people:
  carol: {name: Carol, email: carol@example.com}
services:
  s: {escalation_policy: default}
escalation_policies:
  default: {levels: [{targets: [carol], timeout_minutes: 1}]}
routing:
  default: {service: s, severity: SEV2}
"#;
    let c = OncallConfig::from_yaml(yaml).unwrap();
    assert_eq!(c.warnings[0].path, "escalation_policies.default");
}

#[test]
fn rules_that_never_fire_within_the_level_are_warned_about() {
    let yaml = GOOD.replace(
            "bob: {name: Bob, phone: \"+14155550123\"}",
            "bob: {name: Bob, phone: \"+14155550123\", notification_rules: {high: [{channel: sms, after_minutes: 1}]}}",
        );
    let c = OncallConfig::from_yaml(&yaml).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.path == "escalation_policies.default.levels[1]"
                && w.message.contains("bob's sms")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn flapping_windows_take_one_unit_and_at_most_a_day() {
    let c = OncallConfig::from_yaml(&GOOD.replace(
        "{escalation_policy: default, team: core}",
        "{escalation_policy: default, team: core, flapping_window_minutes: 10}",
    ))
    .unwrap();
    assert_eq!(c.service("general").unwrap().flapping_window_secs(), 600);
    assert_eq!(c.service("db").unwrap().flapping_window_secs(), 0);
    let both = GOOD.replace(
        "{escalation_policy: default, team: core}",
        "{escalation_policy: default, flapping_window_minutes: 1, flapping_window_seconds: 5}",
    );
    assert_eq!(paths(&both), vec!["services.general"]);
    let long = GOOD.replace(
        "{escalation_policy: default, team: core}",
        "{escalation_policy: default, flapping_window_minutes: 1441}",
    );
    assert_eq!(
        paths(&long),
        vec!["services.general.flapping_window_minutes"]
    );
}

#[test]
fn reports_yaml_syntax_errors_with_a_line() {
    let found = issues("version: 1\npeople: [\n");
    assert!(found[0].line.is_some(), "{found:?}");
}

#[test]
fn a_byte_order_mark_is_not_content() {
    // Notepad saves UTF-8 with one; the YAML reader took it for a second document.
    let config = OncallConfig::from_yaml(&format!("\u{FEFF}{}", GOOD.trim_start())).unwrap();
    assert_eq!(config.raw.people.len(), 2);
}

#[test]
fn a_control_character_is_reported_on_its_line() {
    // GIVEN a raw escape character in a name on line 3
    let yaml = GOOD.replacen("name: Bob", "name: \u{1b}[31mBob", 1);
    // WHEN loaded, THEN the problem names its line and column, not an offset
    let found = issues(&yaml);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, Some(5));
    assert!(
        found[0]
            .message
            .contains("control character U+001B (column 15)"),
        "{}",
        found[0].message
    );
    // Tabs, carriage returns and NEL are not control characters here.
    assert!(OncallConfig::from_yaml(&GOOD.replace('\n', "\r\n")).is_ok());
    assert!(OncallConfig::from_yaml(&GOOD.replace("name: Bob", "name:\tBob")).is_ok());
    // Carriage returns alone end lines too.
    let cr = GOOD
        .replace('\n', "\r")
        .replacen("name: Bob", "name: B\u{7}ob", 1);
    assert_eq!(issues(&cr)[0].line, Some(5));
}

fn with(extra: &str) -> String {
    format!("{GOOD}{extra}")
}

fn summary(
    service: &str,
    severity: klaxon_core::classify::Severity,
) -> klaxon_core::events::IncidentSummary {
    use klaxon_core::events::DetailType;
    let mut i = klaxon_core::fixtures::sample_bus_event(DetailType::IncidentOpened)
        .detail
        .incident
        .unwrap();
    i.service = service.into();
    i.severity = severity;
    i
}

#[test]
fn notifications_go_to_the_destinations_whose_service_team_event_and_severity_match() {
    use klaxon_core::classify::Severity::*;
    use klaxon_core::events::DetailType::*;
    let c = OncallConfig::from_yaml(&with(
        r#"
notifications:
  core-slack: {type: slack, channel: C0123, token: "ssm:/klaxon/slack", teams: [core], min_severity: SEV2}
  db-hook: {type: webhook, url: "secretsmanager:hook-url", signing_key: "ssm:/hook/key", services: [db]}
  everyone: {type: teams, url: "ssm:/teams-url", events: [incident-opened]}
  stakeholders: {type: email, to: [status@example.com]}
"#,
    ))
    .unwrap();
    let ids = |service, severity, d| -> Vec<String> {
        c.destinations_for(&summary(service, severity), d)
            .into_iter()
            .map(|(id, _)| id.to_string())
            .collect()
    };
    assert_eq!(
        ids("general", Sev1, IncidentOpened),
        ["core-slack", "everyone"]
    );
    assert_eq!(
        ids("general", Sev3, IncidentOpened),
        ["everyone"],
        "below min_severity"
    );
    assert_eq!(ids("general", Sev1, IncidentAcknowledged), ["core-slack"]);
    assert_eq!(
        ids("db", Sev4, PageSent),
        ["db-hook"],
        "a webhook gets every event"
    );
    assert_eq!(
        ids("db", Sev1, StatusUpdatePosted),
        ["db-hook", "stakeholders"]
    );
    assert!(
        ids("db", Sev1, NotificationFailed).is_empty(),
        "outcomes are never delivered"
    );
}

#[test]
fn a_destination_missing_what_its_type_needs_is_refused_naming_the_field() {
    let found = paths(&with(
        r##"
notifications:
  a: {type: slack, channel: "#ops"}
  b: {type: webhook, url: "ssm:/u"}
  c: {type: email, to: [nobody], services: [nope], teams: [ghosts], events: [incident-exploded]}
  d: {type: teams, url: "ssm:/u", token: "ssm:/t"}
"##,
    ));
    for p in [
        "notifications.a.token",
        "notifications.a.channel",
        "notifications.b.signing_key",
        "notifications.c.to[0]",
        "notifications.c.services[0]",
        "notifications.c.teams[0]",
        "notifications.c.events[0]",
        "notifications.d.token",
    ] {
        assert!(found.contains(&p.to_string()), "{p} in {found:?}");
    }
    let bad_secret = issues(&with(
        "notifications:\n  e: {type: teams, url: \"https://hooks.example.com/x\"}\n",
    ));
    assert_eq!(bad_secret[0].path, "notifications.e.url", "{bad_secret:?}");
    assert!(
        bad_secret[0].message.contains("not a secret store"),
        "{bad_secret:?}"
    );
}

#[test]
fn an_incident_manager_mirror_needs_a_response_plan_arn() {
    let good = GOOD.replace(
        "db: {escalation_policy: default,",
        "db: {incident_manager: {response_plan_arn: \"arn:aws:ssm-incidents::123456789012:response-plan/db\"}, escalation_policy: default,",
    );
    let c = OncallConfig::from_yaml(&good).unwrap();
    assert!(c.service("db").unwrap().incident_manager.is_some());
    let bad = GOOD.replace(
        "db: {escalation_policy: default,",
        "db: {incident_manager: {response_plan_arn: \"payments-plan\"}, escalation_policy: default,",
    );
    assert_eq!(
        paths(&bad),
        ["services.db.incident_manager.response_plan_arn"]
    );
}

#[test]
fn the_status_page_lists_its_services_in_order_by_display_name() {
    let c = OncallConfig::from_yaml(&with(
        "status_page: {title: Acme status, services: [db, general]}\n",
    ))
    .unwrap();
    assert_eq!(
        c.status_page_services(),
        [
            ("db".to_string(), "db".to_string()),
            ("general".into(), "general".into())
        ]
    );
    assert!(
        OncallConfig::from_yaml(GOOD)
            .unwrap()
            .status_page_services()
            .is_empty()
    );
    assert_eq!(
        paths(&with("status_page: {title: \" \", services: [nope]}\n")),
        ["status_page.title", "status_page.services[0]"]
    );
}
