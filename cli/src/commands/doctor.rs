//! `klaxon doctor`: its options and the printed report; the checks are in
//! the library (`klaxon_cli::doctor`).

use clap::Args;
use jiff::Timestamp;
use klaxon_cli::doctor::{self, DoctorOptions};

use super::names;
use crate::{Failure, StackArgs, print_json, say};

#[derive(Args)]
pub struct DoctorArgs {
    /// Print the checks as a JSON array of {name, status, message, fix}.
    #[arg(long)]
    json: bool,
    /// The self-test's last success may be at most this many minutes old.
    #[arg(long, default_value_t = 30, value_name = "MINUTES")]
    self_test_max_age: u32,
    /// This stack runs no scheduled self-test (a local stack, say): a
    /// missing or old self-test success is then a warning, not a problem.
    #[arg(long)]
    no_self_test: bool,
    /// Check this SMS origination number instead of the one deployed with
    /// the escalator function.
    #[arg(long, value_name = "E164")]
    origination_number: Option<String>,
    /// Check this SES sender instead of the one deployed with the escalator.
    #[arg(long, value_name = "ADDRESS")]
    email_from: Option<String>,
}

pub async fn run(stack: &StackArgs, args: DoctorArgs) -> Result<(), Failure> {
    let sdk = klaxon_aws::sdk_config().await;
    let options = DoctorOptions {
        self_test_max_age_minutes: args.self_test_max_age,
        self_test_expected: !args.no_self_test,
        origination_number: args.origination_number,
        email_from: args.email_from,
    };
    let names = names(stack);
    let checks = doctor::run(
        &doctor::Clients::from_sdk(&sdk),
        &names,
        &options,
        Timestamp::now(),
    )
    .await;
    if args.json {
        print_json(&serde_json::to_value(&checks)?);
    } else {
        say!("{}", doctor::render_text(&names.stack, &checks).trim_end());
    }
    match doctor::exit_code(&checks) {
        0 => Ok(()),
        code => Err(Failure {
            message: "doctor found problems".into(),
            code,
        }),
    }
}
