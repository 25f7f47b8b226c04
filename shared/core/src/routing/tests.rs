//! Routing tests: specs read, compiled and checked; alarms classified.

use super::*;
use crate::alarm::{MetricRef, parse_direct_event};
use serde_json::{Value, json};

const METRIC_EVENT: &str = include_str!("../../../../events/eventbridge-alarm.json");
const COMPOSITE_EVENT: &str = include_str!("../../../../events/eventbridge-composite-alarm.json");

fn parse(event: &Value) -> AlarmStateChange {
    parse_direct_event(event).unwrap()
}

fn event(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap()
}

/// `checkout-5xx-prod` in 123456789012 / ap-northeast-1, one metric
/// AWS/ApiGateway 5XXError {ApiName: checkout, Stage: prod}.
fn metric_alarm() -> AlarmStateChange {
    parse(&event(METRIC_EVENT))
}

fn named(name: &str) -> AlarmStateChange {
    let mut e = event(METRIC_EVENT);
    e["detail"]["alarmName"] = json!(name);
    e["detail"]["configuration"]["description"] = json!("");
    parse(&e)
}

fn described(description: &str) -> AlarmStateChange {
    let mut e = event(METRIC_EVENT);
    e["detail"]["configuration"]["description"] = json!(description);
    parse(&e)
}

/// A metric-math alarm whose dimensions are split across two metrics.
fn two_metrics() -> AlarmStateChange {
    let mut e = event(METRIC_EVENT);
    e["detail"]["configuration"]["metrics"] = json!([
        {"id": "e1", "expression": "m1 / m2 * 100", "returnData": true},
        {"id": "m1", "metricStat": {"metric": {"namespace": "AWS/ApiGateway", "name": "5XXError", "dimensions": {"ApiName": "checkout"}}}},
        {"id": "m2", "metricStat": {"metric": {"namespace": "AWS/ApiGateway", "name": "Count", "dimensions": {"Stage": "prod"}}}}
    ]);
    parse(&e)
}

fn composite() -> AlarmStateChange {
    parse(&event(COMPOSITE_EVENT))
}

fn spec(yaml: &str) -> RoutingSpec {
    serde_norway::from_str(yaml).unwrap()
}

fn routing(yaml: &str) -> CompiledRouting {
    CompiledRouting::compile(&spec(yaml)).unwrap()
}

fn routing_for(match_yaml: &str) -> CompiledRouting {
    routing(&format!(
        "default: {{service: general, severity: SEV3}}\n\
             rules:\n  - name: r\n    match: {match_yaml}\n    service: s\n"
    ))
}

fn tag_map(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn compile_errors(yaml: &str) -> Vec<(String, String)> {
    CompiledRouting::compile(&spec(yaml)).unwrap_err()
}

/// Rules (as `match:` YAML) that must and must not match one alarm.
struct Case {
    alarm: AlarmStateChange,
    tags: Option<&'static [(&'static str, &'static str)]>,
    hit: &'static [&'static str],
    miss: &'static [&'static str],
}

#[test]
fn each_condition_kind_matches_only_what_it_names() {
    let cases = [
        // globs over the whole name, case-sensitive; regexes unanchored
        Case {
            alarm: metric_alarm(),
            tags: None,
            hit: &[
                "{alarm_name: checkout-*}",
                "{alarm_name: '*-prod'}",
                "{alarm_name: checkout-?xx-prod}",
                "{alarm_name: 'checkout-[0-9]xx-prod'}",
                "{alarm_name_regex: 5xx}",
                r"{alarm_name_regex: '^checkout-\d+xx-(prod|stg)$'}",
            ],
            miss: &[
                "{alarm_name: 'checkout-[!5]xx-prod'}",
                "{alarm_name: Checkout-*}",
                "{alarm_name: checkout}",
                "{alarm_name_regex: '^5xx'}",
                "{alarm_name_regex: CHECKOUT}",
            ],
        },
        Case {
            alarm: named("rds-cpu-12"),
            tags: None,
            hit: &[r"{alarm_name_regex: '^rds-(cpu|mem)-\d+$'}"],
            miss: &["{alarm_name: rds-cpu}"],
        },
        Case {
            alarm: named("rds-cpu-12x"),
            tags: None,
            hit: &["{alarm_name: rds-cpu-*}"],
            miss: &[r"{alarm_name_regex: '^rds-(cpu|mem)-\d+$'}"],
        },
        // metric conditions, dimensions on the metric that matches; account; region
        Case {
            alarm: metric_alarm(),
            tags: None,
            hit: &[
                "{namespace: AWS/ApiGateway}",
                "{namespace: 'AWS/*'}",
                "{metric_name: 5XX*}",
                "{dimensions: {ApiName: checkout}}",
                "{dimensions: {ApiName: check*, Stage: prod}}",
                "{namespace: AWS/ApiGateway, metric_name: 5XXError, dimensions: {ApiName: checkout}}",
                "{account: '123456789012'}",
                "{account: ['111111111111', '123456789012']}",
                "{region: ap-northeast-1}",
                "{region: [us-east-1, ap-northeast-1]}",
                "{alarm_name: checkout-*, account: '123456789012', region: ap-northeast-1, namespace: AWS/*}",
            ],
            miss: &[
                "{namespace: AWS/RDS}",
                "{metric_name: 4XX*}",
                "{dimensions: {Stage: dev}}",
                "{dimensions: {Region: '*'}}",
                "{namespace: AWS/RDS, dimensions: {ApiName: checkout}}",
                "{account: '111111111111'}",
                "{region: us-east-1}",
                "{region: [us-east-1, eu-west-1]}",
                "{alarm_name: checkout-*, region: us-east-1}",
            ],
        },
        Case {
            alarm: two_metrics(),
            tags: None,
            hit: &[
                "{metric_name: Count}",
                "{dimensions: {ApiName: checkout}}",
                "{metric_name: Count, dimensions: {Stage: prod}}",
            ],
            miss: &[
                "{dimensions: {ApiName: checkout, Stage: prod}}",
                "{metric_name: Count, dimensions: {ApiName: checkout}}",
            ],
        },
        // composite alarms have no metrics
        Case {
            alarm: composite(),
            tags: None,
            hit: &["{alarm_name: checkout-*}"],
            miss: &[
                "{namespace: '*'}",
                "{metric_name: '*'}",
                "{dimensions: {ApiName: '*'}}",
            ],
        },
        // tags: present and matching, wrong, absent, not fetched
        Case {
            alarm: metric_alarm(),
            tags: Some(&[("team", "payments"), ("env", "production")]),
            hit: &[
                "{tags: {team: payments}}",
                "{tags: {team: payments, env: 'prod*'}}",
            ],
            miss: &[
                "{tags: {team: search}}",
                "{tags: {team: payments, owner: '*'}}",
            ],
        },
        Case {
            alarm: metric_alarm(),
            tags: Some(&[]),
            hit: &["{alarm_name: checkout-*}"],
            miss: &["{tags: {team: payments}}", "{tags: {team: '*'}}"],
        },
        Case {
            alarm: metric_alarm(),
            tags: None,
            hit: &["{alarm_name: checkout-*}"],
            miss: &["{tags: {team: payments}}", "{tags: {team: '*'}}"],
        },
        // description tokens: keys in any case and width, values case-sensitive globs
        Case {
            alarm: described("(Team：payments). ｅｎｖ：ｐｒｏｄ env:dev"),
            tags: None,
            hit: &[
                "{description: {team: payments}}",
                "{description: {TEAM: pay*}}",
                "{description: {ＴＥＡＭ: payments}}",
                "{description: {team: payments, env: prod}}",
                "{description: {env: dev}}",
            ],
            miss: &[
                "{description: {team: Payments}}",
                "{description: {team: search}}",
                "{description: {teams: payments}}",
                "{description: {team: payments, env: stg}}",
            ],
        },
        Case {
            alarm: metric_alarm(),
            tags: None,
            hit: &["{description: {severity: crit*}}"],
            miss: &["{description: {severity: CRIT*}}"],
        },
        Case {
            alarm: named("no-description"),
            tags: None,
            hit: &["{alarm_name: no-*}"],
            miss: &["{description: {team: '*'}}"],
        },
    ];
    for case in cases {
        let tags = case.tags.map(tag_map);
        let expected = case.hit.iter().map(|m| (m, true));
        for (match_yaml, expected) in expected.chain(case.miss.iter().map(|m| (m, false))) {
            let routing = routing_for(match_yaml);
            let c = routing.classify(&case.alarm, tags.as_ref());
            let name = &case.alarm.alarm_name;
            assert_eq!(
                c.rule.is_some(),
                expected,
                "{match_yaml} on {name} with tags {tags:?}: {c:?}"
            );
            assert_eq!(
                routing.rules()[0].matches(&case.alarm, tags.as_ref()),
                expected
            );
            assert_eq!(c.service, if expected { "s" } else { "general" });
            assert!(!expected || !c.matched.is_empty());
        }
    }
}

const ROUTES: &str = r#"
default: {service: general, severity: SEV3}
rules:
  - name: payments-tagged
    match: {tags: {team: payments}}
    service: payments
    severity: SEV1
    urgency: high
    policy: payments-urgent
  - name: api
    match: {namespace: AWS/ApiGateway}
    service: api
    severity: SEV2
  - name: prod
    match: {alarm_name: "*-prod"}
    service: prod
    urgency: low
"#;

#[test]
fn the_first_matching_rule_wins_and_unset_fields_keep_the_default() {
    let routing = routing(ROUTES);
    let mut api_alarm = metric_alarm();
    api_alarm.description = None;
    let mut prod_alarm = composite();
    prod_alarm.alarm_name = "search-prod".into();
    let cases = [
        (
            &api_alarm,
            Some(tag_map(&[("team", "payments")])),
            (
                "payments-tagged",
                "payments",
                Severity::Sev1,
                Some(Urgency::High),
            ),
            Some("payments-urgent"),
            "rule:payments-tagged",
        ),
        (
            &api_alarm,
            Some(tag_map(&[("team", "search")])),
            ("api", "api", Severity::Sev2, None),
            None,
            "rule:api",
        ),
        (
            &api_alarm,
            None,
            ("api", "api", Severity::Sev2, None),
            None,
            "rule:api",
        ),
        (
            &prod_alarm,
            None,
            ("prod", "prod", Severity::Sev3, Some(Urgency::Low)),
            None,
            "default",
        ),
    ];
    for (alarm, tags, (rule, service, severity, urgency), policy, severity_from) in cases {
        let c = routing.classify(alarm, tags.as_ref());
        assert_eq!(c.rule.as_deref(), Some(rule), "{c:?}");
        assert_eq!(c.service, service);
        assert_eq!(c.severity, severity);
        assert_eq!(c.urgency, urgency);
        assert_eq!(c.policy.as_deref(), policy);
        assert_eq!(c.severity_from, severity_from);
    }
}

#[test]
fn an_unmatched_alarm_takes_the_default_route() {
    let routing = routing(
        "default: {service: general, severity: SEV4, urgency: low}\n\
             rules: [{name: rds, match: {alarm_name: rds-*}, service: db, severity: SEV1}]",
    );
    let c = routing.classify(&named("checkout-latency"), None);
    assert_eq!(
        c,
        Classification {
            service: "general".into(),
            severity: Severity::Sev4,
            urgency: Some(Urgency::Low),
            policy: None,
            rule: None,
            severity_from: "default".into(),
            matched: vec![],
        }
    );
    let no_rules = routing_without_rules();
    let c = no_rules.classify(&metric_alarm(), None);
    assert_eq!((c.rule, c.urgency), (None, None));
}

fn routing_without_rules() -> CompiledRouting {
    routing("default: {service: general, severity: SEV3}")
}

#[test]
fn description_tokens_override_severity_and_urgency() {
    let routing = routing(
        "default: {service: general, severity: SEV3}\n\
             rules: [{name: api, match: {namespace: AWS/ApiGateway}, severity: SEV2, urgency: high}]",
    );
    let cases = [
        (
            "API down. severity:critical",
            Severity::Sev1,
            Urgency::High,
            "description",
        ),
        ("urgency:low", Severity::Sev2, Urgency::Low, "rule:api"),
        (
            "Severity:4, Urgency:LOW.",
            Severity::Sev4,
            Urgency::Low,
            "description",
        ),
        (
            "ｓｅｖｅｒｉｔｙ：ｗａｒｎｉｎｇ　ＵＲＧＥＮＣＹ：ｌｏｗ",
            Severity::Sev3,
            Urgency::Low,
            "description",
        ),
        (
            "severity:bogus urgency:sometimes",
            Severity::Sev2,
            Urgency::High,
            "rule:api",
        ),
        (
            "severity:bogus severity:1 severity:4",
            Severity::Sev1,
            Urgency::High,
            "description",
        ),
        (
            "no tokens at all",
            Severity::Sev2,
            Urgency::High,
            "rule:api",
        ),
    ];
    for (description, severity, urgency, from) in cases {
        let c = routing.classify(&described(description), None);
        assert_eq!(
            (c.severity, c.urgency, c.severity_from.as_str()),
            (severity, Some(urgency), from),
            "{description}"
        );
    }
    let c = routing.classify(&described("severity:critical urgency:low"), None);
    assert_eq!(
        c.matched,
        [
            "namespace ~ AWS/ApiGateway",
            "description severity:critical",
            "description urgency:low"
        ]
    );
    let c = routing_without_rules().classify(&described("severity:1 urgency:low"), None);
    assert_eq!(
        (c.rule, c.severity, c.urgency),
        (None, Severity::Sev1, Some(Urgency::Low))
    );
}

#[test]
fn matched_lists_every_condition_of_the_rule() {
    let routing = routing(
        r#"
default: {service: general, severity: SEV3}
rules:
  - name: all
    match:
      alarm_name: "checkout-*"
      alarm_name_regex: "5xx"
      namespace: AWS/ApiGateway
      metric_name: 5XXError
      dimensions: {ApiName: checkout}
      account: "123456789012"
      region: [us-east-1, ap-northeast-1]
      tags: {team: payments}
      description: {severity: "crit*"}
"#,
    );
    let c = routing.classify(&metric_alarm(), Some(&tag_map(&[("team", "payments")])));
    assert_eq!(
        c.matched,
        [
            "alarm_name ~ checkout-*",
            "alarm_name_regex ~ 5xx",
            "namespace ~ AWS/ApiGateway",
            "metric_name ~ 5XXError",
            "dimension ApiName=checkout",
            "account = 123456789012",
            "region in [us-east-1, ap-northeast-1]",
            "tag team=payments",
            "description severity=crit*",
            "description severity:critical",
        ]
    );
    let c = routing_for("{}").classify(&metric_alarm(), None);
    assert_eq!(c.matched[0], "every alarm (no conditions)");
}

#[test]
fn needs_tags_only_when_tags_could_decide() {
    assert!(!routing_without_rules().needs_tags());
    assert!(!routing_for("{alarm_name: '*-prod'}").needs_tags());
    let routing = routing(ROUTES);
    assert!(routing.needs_tags());
    assert!(routing.needs_tags_for(&metric_alarm()));
    let tagged_after_a_match = self::routing(
        "default: {service: general, severity: SEV3}\n\
             rules:\n\
             - {name: api, match: {namespace: AWS/ApiGateway}}\n\
             - {name: rds, match: {namespace: AWS/RDS, tags: {team: db}}}\n",
    );
    assert!(tagged_after_a_match.needs_tags());
    assert!(!tagged_after_a_match.needs_tags_for(&metric_alarm()));
    assert!(!tagged_after_a_match.needs_tags_for(&composite()));
    let mut rds = metric_alarm();
    rds.metrics[0].namespace = Some("AWS/RDS".into());
    assert!(tagged_after_a_match.needs_tags_for(&rds));
}

#[test]
fn rejects_invalid_patterns_and_values_with_their_paths() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "{alarm_name_regex: 'rds-('}",
            "rules[0].match.alarm_name_regex",
            "invalid regex",
        ),
        (
            r"{alarm_name_regex: '\w{1000}{1000}'}",
            "rules[0].match.alarm_name_regex",
            "size limit",
        ),
        (
            "{alarm_name: 'rds-[x'}",
            "rules[0].match.alarm_name",
            "invalid glob at character 4",
        ),
        (
            "{alarm_name: 'a***'}",
            "rules[0].match.alarm_name",
            "invalid glob",
        ),
        (
            "{alarm_name: ''}",
            "rules[0].match.alarm_name",
            "matches no alarm name",
        ),
        (
            "{namespace: 'AWS/[RDS'}",
            "rules[0].match.namespace",
            "invalid glob",
        ),
        (
            "{metric_name: '[!'}",
            "rules[0].match.metric_name",
            "invalid glob",
        ),
        (
            "{dimensions: {DBInstanceIdentifier: 'prod-[x'}}",
            "rules[0].match.dimensions.DBInstanceIdentifier",
            "invalid glob at character 5",
        ),
        (
            "{dimensions: {'': x}}",
            "rules[0].match.dimensions",
            "dimension name is empty",
        ),
        (
            "{tags: {'': x}}",
            "rules[0].match.tags",
            "tag name is empty",
        ),
        (
            "{tags: {env: 'prod[*'}}",
            "rules[0].match.tags.env",
            "invalid glob",
        ),
        (
            "{description: {'': x}}",
            "rules[0].match.description",
            "description key is empty",
        ),
        (
            "{description: {'on call': x}}",
            "rules[0].match.description.on call",
            "never match",
        ),
        (
            "{description: {'a:b': x}}",
            "rules[0].match.description.a:b",
            "never match",
        ),
        (
            "{description: {team: ''}}",
            "rules[0].match.description.team",
            "never matches",
        ),
        ("{account: []}", "rules[0].match.account", "empty list"),
        ("{region: []}", "rules[0].match.region", "empty list"),
        ("{account: '12345'}", "rules[0].match.account", "12 digits"),
        (
            "{account: ['123456789012', '']}",
            "rules[0].match.account[1]",
            "12 digits",
        ),
        (
            "{region: [us-east-1, Tokyo]}",
            "rules[0].match.region[1]",
            "region code",
        ),
    ];
    for (match_yaml, path, message) in cases {
        let errors = compile_errors(&format!(
            "default: {{service: general, severity: SEV3}}\n\
                 rules: [{{name: r, match: {match_yaml}}}]"
        ));
        assert!(
            errors.iter().any(|(p, m)| p == path && m.contains(message)),
            "{match_yaml}: {errors:?}"
        );
    }
}

#[test]
fn rejects_bad_names_and_reports_every_problem_at_once() {
    let errors = compile_errors(
        r#"
default: {service: " ", severity: SEV3}
rules:
  - {name: a, match: {alarm_name_regex: "("}}
  - {name: "", match: {alarm_name: x}}
  - {name: a, match: {alarm_name: y}, service: "", policy: ""}
"#,
    );
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "default.service",
            "rules[0].match.alarm_name_regex",
            "rules[1].name",
            "rules[2].name",
            "rules[2].service",
            "rules[2].policy",
        ],
        "{errors:?}"
    );
    assert!(
        errors[3]
            .1
            .contains("duplicate rule name 'a' (also rules[0])")
    );
}

#[test]
fn rejects_rules_after_a_catch_all() {
    let catch_alls = [
        "match: {}",
        "match:",
        "service: x",
        "match: {alarm_name: '*'}",
        "match: {alarm_name: '**'}",
        "match: {alarm_name_regex: '.*'}",
        "match: {alarm_name_regex: '^.*$'}",
        "match: {alarm_name_regex: ''}",
        "match: {alarm_name: '*', alarm_name_regex: '^(?s).*$'}",
    ];
    for catch_all in catch_alls {
        let errors = compile_errors(&format!(
            "default: {{service: general, severity: SEV3}}\n\
                 rules:\n\
                 - name: everything\n  {catch_all}\n\
                 - {{name: later, match: {{alarm_name: rds-*}}}}\n\
                 - {{name: last, match: {{namespace: AWS/RDS}}}}\n"
        ));
        assert_eq!(
            errors,
            [
                (
                    "rules[1]".to_string(),
                    "unreachable: rule 'everything' (rules[0]) before it matches every alarm"
                        .to_string()
                ),
                (
                    "rules[2]".to_string(),
                    "unreachable: rule 'everything' (rules[0]) before it matches every alarm"
                        .to_string()
                ),
            ],
            "{catch_all}"
        );
    }
    let not_catch_alls = [
        "match: {alarm_name: '*-prod'}",
        "match: {alarm_name_regex: '^$'}",
        "match: {alarm_name_regex: 'a.*'}",
        "match: {namespace: '*'}",
        "match: {alarm_name: '*', tags: {team: '*'}}",
        "match: {description: {team: '*'}}",
    ];
    for first in not_catch_alls {
        let spec = spec(&format!(
            "default: {{service: general, severity: SEV3}}\n\
                 rules:\n\
                 - name: first\n  {first}\n\
                 - {{name: later, match: {{}}}}\n"
        ));
        assert!(CompiledRouting::compile(&spec).is_ok(), "{first}");
    }
}

#[test]
fn rejects_a_rule_with_the_same_match_as_an_earlier_one() {
    let duplicates = [
        ("{alarm_name: rds-*}", "{alarm_name: rds-*}"),
        ("{account: '123456789012'}", "{account: ['123456789012']}"),
        ("{region: [a-1, b-2]}", "{region: [b-2, a-1, a-1]}"),
        ("{description: {Team: x}}", "{description: {ＴＥＡＭ: x}}"),
        (
            "{namespace: AWS/RDS}",
            "{namespace: AWS/RDS, alarm_name: '*'}",
        ),
    ];
    for (first, second) in duplicates {
        let errors = compile_errors(&format!(
            "default: {{service: general, severity: SEV3}}\n\
                 rules:\n\
                 - {{name: first, match: {first}}}\n\
                 - {{name: mid, match: {{alarm_name: other}}}}\n\
                 - {{name: again, match: {second}}}\n"
        ));
        assert_eq!(
            errors,
            [(
                "rules[2]".to_string(),
                "unreachable: rule 'first' (rules[0]) before it has the same match".to_string()
            )],
            "{first} / {second}"
        );
    }
    let distinct = spec(
        "default: {service: general, severity: SEV3}\n\
             rules:\n\
             - {name: a, match: {alarm_name: rds-*, region: us-east-1}}\n\
             - {name: b, match: {alarm_name: rds-*}}\n",
    );
    assert!(CompiledRouting::compile(&distinct).is_ok());
}

#[test]
fn parses_the_documented_yaml() {
    let spec = spec(
        r#"
default: {service: general, severity: SEV3}
insufficient_data: alarm
rules:
  - name: rds-prod
    match:
      alarm_name: "rds-*"
      alarm_name_regex: "^rds-(cpu|mem)-\\d+$"
      namespace: AWS/RDS
      metric_name: "CPU*"
      dimensions: {DBInstanceIdentifier: "prod-*"}
      account: ["123456789012"]
      region: [us-east-1, ap-northeast-1]
      tags: {team: payments, env: "prod*"}
      description: {team: payments, severity: "crit*"}
    service: payments
    severity: SEV1
    urgency: high
    policy: payments-urgent
"#,
    );
    let routing = CompiledRouting::compile(&spec).unwrap();
    assert_eq!(routing.insufficient_data(), InsufficientData::Alarm);
    assert_eq!(routing.default().urgency, None);
    let rule = &routing.rules()[0];
    assert_eq!(rule.name(), "rds-prod");
    assert_eq!(rule.spec().policy.as_deref(), Some("payments-urgent"));
    assert_eq!(rule.spec().urgency, Some(Urgency::High));
    assert_eq!(
        rule.spec()
            .matches
            .region
            .as_ref()
            .map(StringOrList::values),
        Some(&["us-east-1".to_string(), "ap-northeast-1".to_string()][..])
    );
    let mut alarm = metric_alarm();
    alarm.alarm_name = "rds-cpu-1".into();
    alarm.region = "us-east-1".into();
    alarm.metrics = vec![MetricRef {
        namespace: Some("AWS/RDS".into()),
        name: Some("CPUUtilization".into()),
        dimensions: tag_map(&[("DBInstanceIdentifier", "prod-main")]),
    }];
    alarm.description = Some("team:payments severity:critical".into());
    let tags = tag_map(&[("team", "payments"), ("env", "prod")]);
    let c = routing.classify(&alarm, Some(&tags));
    assert_eq!(c.rule.as_deref(), Some("rds-prod"));
    // Serialising and reading back gives the same spec.
    let yaml = serde_norway::to_string(&spec).unwrap();
    assert_eq!(self::spec(&yaml), spec);
    let minimal = self::spec("default: {service: general, severity: SEV3}");
    assert_eq!(minimal.insufficient_data, InsufficientData::Ignore);
    assert!(minimal.rules.is_empty());
}

#[test]
fn rejects_unknown_fields_and_unquoted_account_ids() {
    let cases = [
        (
            "default: {service: g, severity: SEV3}\nrules: [{name: r, match: {alarmname: x}}]",
            "unknown field `alarmname`",
        ),
        (
            "default: {service: g, severity: SEV3, policy: p}",
            "unknown field `policy`",
        ),
        (
            "default: {service: g, severity: SEV3}\nrules: [{name: r, match: {account: 123456789012}}]",
            "must be quoted",
        ),
        (
            "default: {service: g, severity: SEV3}\nrules: [{name: r, urgency: medium}]",
            "unknown variant `medium`",
        ),
        (
            "default: {service: g, severity: SEV3}\ninsufficient_data: page",
            "unknown variant `page`",
        ),
    ];
    for (yaml, message) in cases {
        let err = serde_norway::from_str::<RoutingSpec>(yaml).unwrap_err();
        assert!(err.to_string().contains(message), "{yaml}: {err}");
    }
}

#[test]
fn urgency_reads_and_writes_lowercase() {
    assert_eq!("HIGH".parse(), Ok(Urgency::High));
    assert_eq!(" low ".parse(), Ok(Urgency::Low));
    assert!("urgent".parse::<Urgency>().is_err());
    assert_eq!(Urgency::Low.to_string(), "low");
    assert_eq!(Urgency::default(), Urgency::High);
    assert_eq!(serde_json::to_value(Urgency::High).unwrap(), json!("high"));
}

#[test]
fn a_classification_survives_a_json_round_trip() {
    let c = routing(ROUTES).classify(&described("severity:2"), None);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Classification>(&json).unwrap(), c);
}

#[cfg(feature = "schema")]
#[test]
fn the_json_schema_describes_the_yaml() {
    let schema = serde_json::to_value(schemars::schema_for!(RoutingSpec)).unwrap();
    let defs = &schema["$defs"];
    let urgency = defs["Urgency"].to_string();
    assert!(
        urgency.contains("high") && urgency.contains("low"),
        "{urgency}"
    );
    let one_or_many = defs["StringOrList"]["anyOf"].as_array().unwrap();
    assert_eq!(one_or_many.len(), 2);
    assert!(defs["RuleSpec"]["properties"]["match"].is_object());
    assert_eq!(defs["MatchSpec"]["additionalProperties"], json!(false));
    assert!(defs["Severity"].to_string().contains("SEV1"));
}

/// 50 rules that all miss, so every alarm is tried against all of them.
fn fifty_rules() -> CompiledRouting {
    let mut yaml = String::from("default: {service: general, severity: SEV3}\nrules:\n");
    for i in 0..50 {
        let m = match i % 5 {
            0 => format!("{{alarm_name: 'svc{i}-*-prod'}}"),
            1 => format!(r"{{alarm_name_regex: '^svc{i}-(cpu|mem)-\d+$'}}"),
            2 => format!(
                "{{namespace: AWS/ApiGateway, dimensions: {{ApiName: 'svc{i}*', Stage: prod}}}}"
            ),
            3 => format!(
                "{{description: {{team: 'team{i}*'}}, region: [us-east-1, ap-northeast-1]}}"
            ),
            _ => format!("{{tags: {{team: 'team{i}'}}, account: '123456789012'}}"),
        };
        yaml.push_str(&format!("  - {{name: r{i}, match: {m}, severity: SEV2}}\n"));
    }
    routing(&yaml)
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn classifying_without_tags_is_exact_when_they_are_not_needed(
            name in "[a-z0-9-]{1,20}",
            description in "\\PC{0,60}",
            team in "(payments|search|db)",
            namespace in "(AWS/ApiGateway|AWS/RDS)",
        ) {
            let routing = routing(
                "default: {service: general, severity: SEV3}\n\
                 rules:\n\
                 - {name: a, match: {alarm_name: 'api-*', tags: {team: payments}}}\n\
                 - {name: b, match: {namespace: AWS/RDS}}\n\
                 - {name: c, match: {description: {team: db}, tags: {team: db}}}\n\
                 - {name: d, match: {alarm_name_regex: '[0-9]$'}}\n",
            );
            let mut alarm = metric_alarm();
            alarm.alarm_name = name;
            alarm.description = Some(description);
            alarm.metrics[0].namespace = Some(namespace);
            let tags = tag_map(&[("team", team.as_str())]);
            if !routing.needs_tags_for(&alarm) {
                prop_assert_eq!(
                    routing.classify(&alarm, None),
                    routing.classify(&alarm, Some(&tags))
                );
            }
        }

        #[test]
        fn any_description_classifies_without_panicking(description in "\\PC{0,200}") {
            let c = fifty_rules().classify(&described(&description), None);
            prop_assert!(c.rule.is_none());
        }
    }
}
