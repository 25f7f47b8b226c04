//! `klaxon config validate`: summaries, warnings, and every problem with its
//! file, line and field, for one file and for a folder.

mod common;

use std::path::Path;

use common::{klaxon, line_of, scratch, write_files};
use serde_json::json;

/// A valid configuration split over four files (and a file that is not YAML).
const PEOPLE: &str = "\
version: 1
people:
  aiko: {name: Aiko Tanaka, time_zone: Asia/Tokyo, phone: \"+819012340001\"}
  ben: {name: Ben Miller, phone: \"+447700900102\", email: ben@example.com}
teams:
  core: {name: Core, members: [aiko, ben]}
";
const SCHEDULES: &str = "\
schedules:
  primary:
    time_zone: Asia/Tokyo
    layers:
      - {name: weekly, rotation: weekly, start: 2026-11-02, participants: [aiko, ben]}
";
const POLICIES: &str = "\
version: 1
services:
  general: {escalation_policy: default, team: core}
escalation_policies:
  default:
    levels:
      - {targets: [{schedule: primary}], timeout_minutes: 5}
      - {targets: [ben], timeout_minutes: 10}
";
const ROUTING: &str = "\
routing:
  default: {service: general, severity: SEV3}
  rules:
    - {name: db, match: {namespace: AWS/RDS}, severity: SEV2}
";

fn valid_folder(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    write_files(
        &dir,
        &[
            ("people.yaml", PEOPLE),
            ("schedules.yml", SCHEDULES),
            ("policies.yaml", POLICIES),
            ("routing.yaml", ROUTING),
            ("notes.txt", "not: [yaml"),
        ],
    );
    dir
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn a_valid_file_prints_a_summary_and_exits_zero() {
    let run = klaxon(&["config", "validate", "oncall.yaml"]).expect_code(0);
    assert_eq!(
        run.stdout,
        "oncall.yaml: valid (6 people, 4 services, 2 schedules, 2 escalation policies, 4 routing rules)\n"
    );
    assert_eq!(run.stderr, "", "oncall.yaml has no warnings");
}

const WITH_WARNINGS: &str = "\
version: 1
people:
  carol:
    name: Carol
    email: carol@example.com
    contact_methods: [{type: voice, address: \"+14155550199\"}]
    notification_rules:
      high: [{channel: email}, {channel: voice}]
  dan: {name: Dan, email: dan@example.com}
services:
  s: {escalation_policy: default}
  t: {escalation_policy: mail}
schedules:
  ops:
    time_zone: UTC
    layers:
      - {name: old, rotation: daily, start: 2026-11-02, participants: [carol]}
      - {name: new, rotation: weekly, start: 2026-11-02, participants: [dan, carol]}
escalation_policies:
  default:
    levels:
      - {targets: [carol], timeout_minutes: 1}
  mail:
    levels:
      - {targets: [dan], timeout_minutes: 1}
routing:
  default: {service: s, severity: SEV2}
";

const HIDDEN: &str = "never on call: layers[1] ('new') comes later, has no restrictions and covers all of this layer's time; restrict, end or remove one of them";

#[test]
fn warnings_go_to_stderr_with_their_line_and_the_file_still_passes() {
    let dir = scratch("warnings");
    let file = dir.join("oncall.yaml");
    write_files(&dir, &[("oncall.yaml", WITH_WARNINGS)]);
    let run = klaxon(&["config", "validate", text(&file)]).expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "{}: valid (2 people, 2 services, 1 schedules, 2 escalation policies, 0 routing rules)\n",
            file.display()
        )
    );
    let f = file.display();
    let voice = line_of(WITH_WARNINGS, "notification_rules:");
    let mail = line_of(WITH_WARNINGS, "  mail:");
    let old = line_of(WITH_WARNINGS, "name: old");
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        vec![
            format!(
                "warning: {f}:{voice}: people.carol.notification_rules: voice calls go out only from a stack deployed with VoiceFromNumber (an Amazon Chime SDK phone number); without one, each due call is a warning on the incident's timeline and the other rules still fire (klaxon doctor checks the stack)"
            ),
            format!("warning: {f}:{old}: schedules.ops.layers[0]: {HIDDEN}"),
            format!(
                "warning: {f}:{mail}: escalation_policies.mail: nobody in this policy is paged by SMS or voice at high urgency (email only)"
            ),
        ]
    );
}

#[test]
fn warnings_are_listed_in_the_json_report() {
    let dir = scratch("warnings-json");
    let file = dir.join("oncall.yaml");
    write_files(&dir, &[("oncall.yaml", WITH_WARNINGS)]);
    let run = klaxon(&["config", "validate", text(&file), "--json"]).expect_code(0);
    let report = run.json();
    assert_eq!(
        report["warnings"],
        json!([
            {
                "file": file.display().to_string(),
                "line": line_of(WITH_WARNINGS, "notification_rules:"),
                "path": "people.carol.notification_rules",
                "message": "voice calls go out only from a stack deployed with VoiceFromNumber (an Amazon Chime SDK phone number); without one, each due call is a warning on the incident's timeline and the other rules still fire (klaxon doctor checks the stack)",
            },
            {
                "file": file.display().to_string(),
                "line": line_of(WITH_WARNINGS, "name: old"),
                "path": "schedules.ops.layers[0]",
                "message": HIDDEN,
            },
            {
                "file": file.display().to_string(),
                "line": line_of(WITH_WARNINGS, "  mail:"),
                "path": "escalation_policies.mail",
                "message": "nobody in this policy is paged by SMS or voice at high urgency (email only)",
            },
        ])
    );
    assert_eq!(run.stderr, "", "--json keeps warnings out of stderr");
}

#[test]
fn a_valid_folder_is_merged_and_summarised() {
    let dir = valid_folder("valid-folder");
    let run = klaxon(&["config", "validate", text(&dir)]).expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "{}: valid (2 people, 1 services, 1 schedules, 1 escalation policies, 1 routing rules)\n",
            dir.display()
        )
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn json_report_of_a_valid_folder_counts_every_section() {
    let dir = valid_folder("valid-folder-json");
    let run = klaxon(&["config", "validate", text(&dir), "--json"]).expect_code(0);
    assert_eq!(
        run.json(),
        json!({
            "valid": true,
            "path": dir.display().to_string(),
            "issues": [],
            "warnings": [],
            "counts": {
                "people": 2,
                "teams": 1,
                "services": 1,
                "schedules": 1,
                "escalation_policies": 1,
                "routing_rules": 1,
            },
        })
    );
}

// A folder with one problem of each kind. Each expected problem names the
// text of the line it must point at.
const BAD_PEOPLE: &str = "\
version: 1
people:
  aiko:
    name: Aiko
    time_zone: Asia/Tokio
    phone: \"+819012340001\"
  ben:
    name: Ben
    phone: \"090-1234-0002\"
  chloe: {name: Chloe, phone: \"+0123456789\"}
  dan:
    name: Dan
    contact_methods:
      - {type: sms, address: \"+14155550104\"}
      - {type: voice, address: \"+1415555\"}
      - {type: sms, address: \"+9991234567\", label: spare}
";
const BAD_SCHEDULES: &str = "\
schedules:
  primary:
    time_zone: Asia/Tokyo
    layers:
      - name: weekly
        rotation: weekly
        start: 2026-11-02
        participants: []
  backup:
    time_zone: Mars/Olympus
    layers:
      - name: daily
        rotation: daily
        start: 2026-11-02
        participants: [aiko,
          zoe]
";
const BAD_POLICIES: &str = "\
services:
  checkout:
    escalation_policy: nonexistent
  general:
    escalation_policy: default
escalation_policies:
  default:
    levels:
      - targets: [aiko, carol]
        timeout_minutes: 5
      - targets: [{schedule: tertiary}]
        timeout_minutes: 5
";
const BAD_ROUTING: &str = "\
routing:
  default: {service: general, severity: SEV3}
  rules:
    - name: bad-regex
      match: {alarm_name_regex: \"rds-(\"}
      service: checkout
    - name: everything
      service: general
    - name: after-everything
      match: {alarm_name: \"x-*\"}
      service: checkout
";

#[test]
fn every_problem_of_a_folder_names_its_file_line_and_field() {
    let dir = scratch("bad-folder");
    write_files(
        &dir,
        &[
            ("people.yaml", BAD_PEOPLE),
            ("schedules.yaml", BAD_SCHEDULES),
            ("policies.yaml", BAD_POLICIES),
            ("routing.yaml", BAD_ROUTING),
        ],
    );
    // (file, its text, text on the problem's line, field path, message start)
    let expected = [
        (
            "people.yaml",
            BAD_PEOPLE,
            "time_zone: Asia/Tokio",
            "people.aiko.time_zone",
            "unknown time zone 'Asia/Tokio'",
        ),
        (
            "people.yaml",
            BAD_PEOPLE,
            "090-1234-0002",
            "people.ben.phone",
            "'*********0002' is not E.164",
        ),
        (
            "people.yaml",
            BAD_PEOPLE,
            "+0123456789",
            "people.chloe.phone",
            "'+01****6789' is not E.164",
        ),
        (
            "people.yaml",
            BAD_PEOPLE,
            "+1415555\"",
            "people.dan.contact_methods[1].address",
            "'+14*5555' has 6 digits after +1; numbers there have 7 or 10",
        ),
        (
            "people.yaml",
            BAD_PEOPLE,
            "+9991234567",
            "people.dan.contact_methods[2].address",
            "'+99****4567' starts with no country's calling code",
        ),
        (
            "schedules.yaml",
            BAD_SCHEDULES,
            "Mars/Olympus",
            "schedules.backup.time_zone",
            "unknown time zone \"Mars/Olympus\"",
        ),
        (
            "schedules.yaml",
            BAD_SCHEDULES,
            "zoe]",
            "schedules.backup.layers[0].participants[1]",
            "unknown person \"zoe\"",
        ),
        (
            "schedules.yaml",
            BAD_SCHEDULES,
            "participants: []",
            "schedules.primary.layers[0].participants",
            "empty rotation",
        ),
        (
            "policies.yaml",
            BAD_POLICIES,
            "[aiko, carol]",
            "escalation_policies.default.levels[0].targets[1]",
            "unknown person 'carol'",
        ),
        (
            "policies.yaml",
            BAD_POLICIES,
            "tertiary",
            "escalation_policies.default.levels[1].targets[0]",
            "unknown schedule 'tertiary'",
        ),
        (
            "policies.yaml",
            BAD_POLICIES,
            "nonexistent",
            "services.checkout.escalation_policy",
            "unknown escalation policy 'nonexistent'",
        ),
        (
            "routing.yaml",
            BAD_ROUTING,
            "rds-(",
            "routing.rules[0].match.alarm_name_regex",
            "invalid regex",
        ),
        (
            "routing.yaml",
            BAD_ROUTING,
            "name: after-everything",
            "routing.rules[2]",
            "unreachable: rule 'everything' (rules[1]) before it matches every alarm",
        ),
    ];
    let run = klaxon(&["config", "validate", text(&dir)]).expect_code(1);
    assert_eq!(run.stdout, "");
    let lines: Vec<&str> = run.stderr.lines().collect();
    for (file, source, needle, path, message) in expected {
        let prefix = format!(
            "{}:{}: {path}: {message}",
            dir.join(file).display(),
            line_of(source, needle)
        );
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "no line starting {prefix:?} in\n{}",
            run.stderr
        );
    }
    assert_eq!(
        lines.len(),
        expected.len() + 1,
        "one line per problem and a total:\n{}",
        run.stderr
    );
    assert_eq!(
        lines.last().copied(),
        Some(format!("klaxon: {}: {} problem(s)", dir.display(), expected.len()).as_str())
    );
    // Listed in reading order: by file, then by line.
    let places: Vec<(String, usize)> = lines[..lines.len() - 1]
        .iter()
        .map(|l| {
            let mut parts = l.splitn(3, ':');
            let file = parts.next().unwrap_or_default().to_string();
            let line = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            (file, line)
        })
        .collect();
    let mut in_order = places.clone();
    in_order.sort();
    assert_eq!(places, in_order, "problems in file and line order");
}

#[test]
fn json_report_of_a_broken_folder_lists_each_issue_with_file_and_line() {
    let dir = scratch("bad-folder-json");
    let routing = "\
routing:
  default: {service: general, severity: SEV3}
  rules:
    - name: everything
      service: general
    - name: after-everything
      match: {alarm_name: \"x-*\"}
      service: payments
";
    write_files(
        &dir,
        &[
            ("people.yaml", PEOPLE),
            ("schedules.yaml", SCHEDULES),
            ("policies.yaml", POLICIES),
            ("routing.yaml", routing),
        ],
    );
    let run = klaxon(&["config", "validate", text(&dir), "--json"]).expect_code(1);
    let file = dir.join("routing.yaml").display().to_string();
    assert_eq!(
        run.json(),
        json!({
            "valid": false,
            "path": dir.display().to_string(),
            "issues": [
                {
                    "file": file,
                    "line": line_of(routing, "name: after-everything"),
                    "path": "routing.rules[1]",
                    "message": "unreachable: rule 'everything' (rules[0]) before it matches every alarm",
                },
                {
                    "file": file,
                    "line": line_of(routing, "service: payments"),
                    "path": "routing.rules[1].service",
                    "message": "unknown service 'payments'",
                },
            ],
        })
    );
}

#[test]
fn an_entry_defined_in_two_files_is_reported_in_both() {
    let dir = valid_folder("duplicate-entry");
    let extra = "people:\n  # Ben again\n  ben: {name: Ben, phone: \"+447700900102\"}\n";
    write_files(&dir, &[("more-people.yaml", extra)]);
    let run = klaxon(&["config", "validate", text(&dir)]).expect_code(1);
    let people = dir.join("people.yaml").display().to_string();
    let more = dir.join("more-people.yaml").display().to_string();
    let (first, second) = (line_of(PEOPLE, "ben:"), line_of(extra, "ben:"));
    let message = "people.ben: 'ben' is defined in more than one file; also in";
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        vec![
            format!("{more}:{second}: {message} {people} line {first}"),
            format!("{people}:{first}: {message} {more} line {second}"),
            format!("klaxon: {}: 2 problem(s)", dir.display()),
        ]
    );
}

#[test]
fn a_yaml_syntax_error_names_the_file_and_line() {
    let dir = valid_folder("syntax-error");
    let broken = "people:\n  carol:\n    name: Carol\n   phone: \"+14155550100\"\n";
    write_files(&dir, &[("zz-broken.yaml", broken)]);
    let run = klaxon(&["config", "validate", text(&dir)]).expect_code(1);
    let at = format!(
        "{}:{}: ",
        dir.join("zz-broken.yaml").display(),
        line_of(broken, "phone")
    );
    assert!(
        run.stderr
            .lines()
            .next()
            .is_some_and(|l| l.starts_with(&at)),
        "{at:?} in\n{}",
        run.stderr
    );
}

#[test]
fn an_unknown_field_in_a_single_file_is_reported_at_its_line() {
    let dir = scratch("unknown-field");
    let file = dir.join("oncall.yaml");
    let source =
        std::fs::read_to_string(common::root().join("oncall.yaml")).expect("read oncall.yaml");
    let source = source.replace("    email: ben@example.com", "    emial: ben@example.com");
    write_files(&dir, &[("oncall.yaml", source.as_str())]);
    let run = klaxon(&["config", "validate", text(&file)]).expect_code(1);
    let prefix = format!(
        "{}:{}: people.ben.emial: ",
        file.display(),
        line_of(&source, "emial:")
    );
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with(&prefix), "{prefix:?} in\n{}", run.stderr);
    assert!(first.contains("unknown field `emial`"), "{first}");
}

#[test]
fn a_missing_path_is_named_once_and_fails() {
    let run = klaxon(&["config", "validate", "no-such-dir/oncall.yaml"]).expect_code(1);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("no-such-dir/oncall.yaml: ") && first.matches("no-such-dir").count() == 1,
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn a_folder_without_yaml_files_is_an_error() {
    let dir = scratch("no-yaml");
    write_files(&dir, &[("README.md", "# nothing here\n")]);
    let run = klaxon(&["config", "validate", text(&dir)]).expect_code(1);
    assert!(
        run.stderr.starts_with(&format!(
            "{}: no *.yaml or *.yml files in this folder\n",
            dir.display()
        )),
        "{}",
        run.stderr
    );
}
