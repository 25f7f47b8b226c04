use super::*;
use crate::doctor::Status;

fn stored(yaml: &str) -> StoredConfig {
    StoredConfig {
        yaml: yaml.to_string(),
        revision: 3,
        applied_at: "2026-11-30T09:00:00.000Z".into(),
        applied_by: "ops".into(),
    }
}

const VALID: &str = r#"
version: 1
people:
  aiko: {name: Aiko, phone: "+819012340001"}
services:
  checkout: {escalation_policy: default}
escalation_policies:
  default:
    levels:
      - {targets: [aiko], timeout_minutes: 5}
routing:
  default: {service: checkout, severity: SEV2}
"#;

#[test]
fn an_active_table_is_ok_a_missing_one_a_problem_and_an_updating_one_a_warning() {
    assert_eq!(
        table_check("incidents-table", "p-incidents", Some("ACTIVE")).status,
        Status::Ok
    );
    assert_eq!(
        table_check("incidents-table", "p-incidents", Some("UPDATING")).status,
        Status::Warning
    );
    let missing = table_check("incidents-table", "p-incidents", None);
    assert_eq!(missing.status, Status::Problem);
    assert!(missing.message.contains("p-incidents does not exist"));
    assert!(missing.fix.unwrap().contains("sam deploy"));
}

#[test]
fn a_valid_applied_configuration_is_ok_and_says_which_revision() {
    let (check, config) = configuration_check("p-config", &stored(VALID));
    assert_eq!(check.status, Status::Ok, "{check:?}");
    assert!(check.message.contains("revision 3"));
    assert!(config.is_some());
}

#[test]
fn a_person_with_no_contact_makes_the_applied_configuration_a_problem() {
    let yaml = VALID.replace(
        "  aiko: {name: Aiko, phone: \"+819012340001\"}",
        "  aiko: {name: Aiko, phone: \"+819012340001\"}\n  ben: {name: Ben}",
    );
    let (check, config) = configuration_check("p-config", &stored(&yaml));
    assert_eq!(check.status, Status::Problem);
    assert!(
        check.message.contains("people.ben: has no contact method"),
        "{}",
        check.message
    );
    assert!(config.is_none());
    assert!(check.fix.unwrap().contains("klaxon config validate"));
}

#[test]
fn configuration_warnings_make_a_warning_that_lists_them() {
    let yaml = VALID.replace(
        "  aiko: {name: Aiko, phone: \"+819012340001\"}",
        "  aiko:\n    name: Aiko\n    phone: \"+819012340001\"\n    notification_rules:\n      high: [{channel: sms}, {channel: voice}]",
    );
    let (check, config) = configuration_check("p-config", &stored(&yaml));
    assert_eq!(check.status, Status::Warning, "{check:?}");
    assert!(
        check
            .message
            .contains("voice calls go out only from a stack deployed with VoiceFromNumber")
    );
    assert!(config.is_some());
}

fn ended(name: &str, status: &str) -> Ended {
    Ended {
        name: name.into(),
        status: status.into(),
        stopped: "2026-11-30T10:00:00Z".parse().unwrap(),
    }
}

#[test]
fn aborts_by_acknowledgement_are_normal_and_failures_are_problems() {
    let calm = escalations_check(&[], &[], 4);
    assert_eq!(calm.status, Status::Ok);
    assert!(calm.message.contains("4 ended by an acknowledgement"));

    let bad = escalations_check(
        &[ended("20261130-AAAAAA", "FAILED")],
        &[ended("20261130-BBBBBB", "ABORTED")],
        1,
    );
    assert_eq!(bad.status, Status::Problem);
    assert!(
        bad.message
            .contains("20261130-AAAAAA FAILED at 2026-11-30T10:00:00.000Z")
    );
    assert!(bad.message.contains("20261130-BBBBBB ABORTED"));
    assert!(
        bad.fix
            .unwrap()
            .contains("klaxon incidents show 20261130-AAAAAA")
    );
}

#[test]
fn a_dead_letter_is_a_problem_that_points_at_klaxon_dlq() {
    let one = Depth {
        visible: 1,
        ..Depth::default()
    };
    let c = queue_check(
        QueueRole::EscalationDeadLetters,
        "p-escalation-dead-letters",
        Some(one),
    );
    assert_eq!(c.status, Status::Problem);
    assert!(c.message.starts_with("1 escalation step(s)"));
    assert!(
        c.fix
            .unwrap()
            .contains("klaxon dlq list --queue escalation")
    );

    let c = queue_check(QueueRole::FailedEvents, "p-failed-events", Some(one));
    assert_eq!(c.status, Status::Problem);
    assert!(
        c.fix
            .unwrap()
            .contains("klaxon dlq redrive --queue failed-events")
    );

    let empty = queue_check(
        QueueRole::FailedEvents,
        "p-failed-events",
        Some(Depth::default()),
    );
    assert_eq!(empty.status, Status::Ok);
}

#[test]
fn a_message_in_flight_in_a_dead_letter_queue_still_counts() {
    let hidden = Depth {
        in_flight: 2,
        ..Depth::default()
    };
    let c = queue_check(QueueRole::FailedEvents, "p-failed-events", Some(hidden));
    assert_eq!(c.status, Status::Problem);
    assert!(c.message.starts_with("2 event(s)"));
}

#[test]
fn waiting_escalation_steps_are_normal_and_a_missing_queue_is_a_problem() {
    let busy = Depth {
        visible: 3,
        ..Depth::default()
    };
    assert_eq!(
        queue_check(QueueRole::EscalationSteps, "p-escalation-steps", Some(busy)).status,
        Status::Ok
    );
    let missing = queue_check(QueueRole::EscalationSteps, "p-escalation-steps", None);
    assert_eq!(missing.status, Status::Problem);
    assert!(
        missing
            .message
            .contains("p-escalation-steps does not exist")
    );
}

fn found(state: &str, update: &str) -> FunctionState {
    FunctionState::Found {
        state: Some(state.into()),
        last_update: Some(update.into()),
    }
}

#[test]
fn a_missing_or_failed_function_is_a_problem_and_an_unreadable_one_a_warning() {
    let all_fine = vec![
        ("p-alarm-intake".to_string(), found("Active", "Successful")),
        ("p-sms-reply".to_string(), found("Active", "Successful")),
        ("p-escalator".to_string(), found("Active", "Successful")),
    ];
    assert_eq!(functions_check(&all_fine).status, Status::Ok);

    let mut missing = all_fine.clone();
    missing[1].1 = FunctionState::Missing;
    let c = functions_check(&missing);
    assert_eq!(c.status, Status::Problem);
    assert_eq!(c.message, "not found: p-sms-reply");

    let mut failed = all_fine.clone();
    failed[2].1 = found("Active", "Failed");
    assert_eq!(functions_check(&failed).status, Status::Problem);

    let mut unreadable = all_fine.clone();
    unreadable[0].1 = FunctionState::Unreadable("AccessDenied".into());
    let c = functions_check(&unreadable);
    assert_eq!(c.status, Status::Warning);
    assert!(c.message.starts_with("could not check the functions"));

    let mut pending = all_fine;
    pending[0].1 = found("Pending", "InProgress");
    assert_eq!(functions_check(&pending).status, Status::Warning);
}
