//! `klaxon doctor`: checks a deployed (or local) stack and says what is
//! wrong and how to fix it.
//!
//! Every check has a name, a [`Status`], a message and, unless it is ok, a
//! fix. A problem means Klaxon will not page someone it should (a missing
//! table, an invalid configuration, a dead letter, a number SNS will not
//! text); a warning is a risk or something doctor could not check (an API
//! the account or the emulator refused). The command exits 1 when there is
//! at least one problem, 0 otherwise.
//!
//! Checks gather facts from AWS (`stack.rs`, `roles.rs`, `messaging.rs`,
//! `self_test.rs`, `operators.rs`) and turn them into a [`Check`] with pure functions, unit
//! tested beside them.

mod messaging;
mod operators;
pub mod roles;
mod self_test;
mod stack;

use std::fmt::Write as _;

use jiff::Timestamp;
use klaxon_app::channels::StackChannels;
use klaxon_aws::channels::AwsDeliveryChannels;
use serde::Serialize;

use crate::names::StackNames;

pub use self_test::{METRIC_NAME, METRIC_NAMESPACE, self_test_check};

/// How a check came out. Ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Problem,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable, kebab-case: `incidents-table`, `sms-sandbox`, ...
    pub name: String,
    pub status: Status,
    /// What was found; may span several lines.
    pub message: String,
    /// What to do about it; `None` when the check is ok.
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &str, message: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            status: Status::Ok,
            message: message.into(),
            fix: None,
        }
    }

    pub fn warning(name: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            status: Status::Warning,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn problem(name: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            status: Status::Problem,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// An API call failed: the check is a warning that says what could not
    /// be checked and why, never a crash.
    pub fn could_not_check(name: &str, what: &str, error: &str, fix: impl Into<String>) -> Self {
        Self::warning(name, format!("could not check {what}: {error}"), fix)
    }
}

/// What doctor needs besides the stack's names.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// A self-test success older than this many minutes is a problem.
    pub self_test_max_age_minutes: u32,
    /// `false` (`--no-self-test`): this stack runs no self-test, so the
    /// self-test check is at most a warning.
    pub self_test_expected: bool,
    /// The SMS origination number to check, instead of the one read from
    /// the escalator's configuration.
    pub origination_number: Option<String>,
    /// The SES sender to check, instead of the one read from the
    /// escalator's configuration.
    pub email_from: Option<String>,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        Self {
            self_test_max_age_minutes: 30,
            self_test_expected: true,
            origination_number: None,
            email_from: None,
        }
    }
}

/// The AWS clients doctor uses. Fields are public so a caller can point one
/// service somewhere else (the tests stand in for Lambda).
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    /// SNS, SES, CloudWatch and the Chime SDK, read for the delivery channels.
    pub channels: AwsDeliveryChannels,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
}

impl Clients {
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            channels: AwsDeliveryChannels::from_sdk(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
        }
    }
}

pub use klaxon_app::channels::Setting;

/// Runs every check, in a fixed order.
pub async fn run(
    clients: &Clients,
    names: &StackNames,
    options: &DoctorOptions,
    now: Timestamp,
) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(stack::table(clients, "incidents-table", &names.incidents_table).await);
    checks.push(stack::table(clients, "config-table", &names.config_table).await);
    let (check, config) = stack::configuration(clients, names).await;
    checks.push(check);
    let (check, state_machine) = stack::state_machine(clients, names).await;
    checks.push(check);
    checks.push(stack::recent_escalations(clients, names, state_machine.as_deref(), now).await);
    checks.extend(stack::queues(clients, names).await);
    let (check, functions) = stack::functions(clients, names).await;
    checks.push(check);
    checks.push(roles::check(clients, names, config.as_ref()).await);

    let origination = match &options.origination_number {
        Some(n) => Setting::Set(n.clone()),
        None => functions.origination_number.clone(),
    };
    let email_from = match &options.email_from {
        Some(e) => Setting::Set(e.clone()),
        None => functions.email_from.clone(),
    };
    let stack = StackChannels {
        origination,
        email_from,
        voice_from: functions.voice_from.clone(),
    };
    checks.extend(messaging::checks(clients, &stack, config.as_ref(), now).await);
    checks.push(self_test::check(clients, names, options, now).await);
    checks.push(operators::check(clients, names).await);
    checks
}

/// The exit status: 1 when any check found a problem, else 0.
pub fn exit_code(checks: &[Check]) -> u8 {
    u8::from(checks.iter().any(|c| c.status == Status::Problem))
}

/// The report as text: one block per check, then a count.
pub fn render_text(stack: &str, checks: &[Check]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "klaxon doctor: stack {stack}");
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in checks {
        let label = match c.status {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Problem => "PROBLEM",
        };
        let mut lines = c.message.lines();
        let first = lines.next().unwrap_or_default();
        let _ = writeln!(out, "{label:<8} {:<width$}  {first}", c.name);
        let indent = " ".repeat(8 + 1 + width + 2);
        for line in lines {
            let _ = writeln!(out, "{indent}{line}");
        }
        if let Some(fix) = &c.fix {
            let mut fix_lines = fix.lines();
            let _ = writeln!(out, "{indent}fix: {}", fix_lines.next().unwrap_or_default());
            for line in fix_lines {
                let _ = writeln!(out, "{indent}     {line}");
            }
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let _ = writeln!(
        out,
        "{} problem(s), {} warning(s), {} ok",
        count(Status::Problem),
        count(Status::Warning),
        count(Status::Ok)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_problem_makes_the_exit_status_one_and_warnings_alone_do_not() {
        let ok = Check::ok("a", "fine");
        let warning = Check::warning("b", "risky", "do x");
        let problem = Check::problem("c", "broken", "do y");
        assert_eq!(exit_code(&[ok.clone(), warning.clone()]), 0);
        assert_eq!(exit_code(&[ok, warning, problem]), 1);
        assert_eq!(exit_code(&[]), 0);
    }

    #[test]
    fn the_text_report_shows_each_status_message_and_fix_and_counts_them() {
        let checks = vec![
            Check::ok("incidents-table", "prod-incidents is ACTIVE"),
            Check::problem(
                "configuration",
                "2 problems:\npeople.ben: has no contact method",
                "klaxon config apply oncall.yaml",
            ),
            Check::could_not_check("sms-sandbox", "the SMS sandbox", "boom", "retry"),
        ];
        let text = render_text("prod", &checks);
        let expected = "\
klaxon doctor: stack prod
ok       incidents-table  prod-incidents is ACTIVE
PROBLEM  configuration    2 problems:
                          people.ben: has no contact method
                          fix: klaxon config apply oncall.yaml
warning  sms-sandbox      could not check the SMS sandbox: boom
                          fix: retry
1 problem(s), 1 warning(s), 1 ok
";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_has_name_status_message_and_fix_for_every_check() {
        let checks = vec![
            Check::ok("a", "fine"),
            Check::problem("b", "broken", "do y"),
        ];
        let json = serde_json::to_value(&checks).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"name": "a", "status": "ok", "message": "fine", "fix": null},
                {"name": "b", "status": "problem", "message": "broken", "fix": "do y"},
            ])
        );
    }
}
