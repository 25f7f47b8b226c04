//! `klaxon`: the operator CLI. Validates and applies the on-call
//! configuration, shows who is on call and the shifts of a schedule, lists
//! and shows incidents with their timelines, and acknowledges or resolves
//! them by hand.
//!
//! It talks to the stack's tables through the standard AWS configuration
//! (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL` for a local emulator).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;

mod commands;
mod when;

/// Prints to stdout; a closed pipe (`klaxon ... | head`) ends output quietly
/// instead of panicking.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if writeln!(out, $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

#[derive(Parser)]
#[command(name = "klaxon", version, about = "Klaxon on-call and incident CLI")]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    #[command(subcommand)]
    command: Command,
}

/// Which stack's tables to use, and how to show times.
#[derive(Args)]
pub struct StackArgs {
    /// Stack name; tables are `<stack>-incidents` and `<stack>-config`, the
    /// state machine `<stack>-escalation`, queues `<stack>-failed-events` etc.
    /// Default: klaxon. With `config validate`, naming the stack also checks
    /// that every secret the configuration names exists in this account.
    #[arg(long, global = true, env = "KLAXON_STACK")]
    stack: Option<String>,
    /// Incidents table (overrides --stack).
    #[arg(long, global = true, env = "KLAXON_INCIDENTS_TABLE")]
    incidents_table: Option<String>,
    /// Configuration table (overrides --stack).
    #[arg(long, global = true, env = "KLAXON_CONFIG_TABLE")]
    config_table: Option<String>,
    /// Time zone for displayed times (IANA name, e.g. Asia/Tokyo). Default:
    /// UTC, or the schedule's own zone for schedules.
    #[arg(long, global = true, env = "KLAXON_TZ")]
    tz: Option<String>,
}

impl StackArgs {
    /// The stack's name (`klaxon` unless given).
    pub fn name(&self) -> &str {
        self.stack.as_deref().unwrap_or("klaxon")
    }

    /// Whether the stack was named (`--stack` or `KLAXON_STACK`).
    pub fn named(&self) -> bool {
        self.stack.is_some()
    }

    pub fn incidents(&self) -> String {
        self.incidents_table
            .clone()
            .unwrap_or_else(|| format!("{}-incidents", self.name()))
    }

    pub fn config(&self) -> String {
        self.config_table
            .clone()
            .unwrap_or_else(|| format!("{}-config", self.name()))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Validate, apply or show the on-call configuration.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Who is on call now (or at --at), and until when.
    Oncall(commands::oncall::OncallArgs),
    /// Schedules: the shifts of one schedule over a period.
    #[command(subcommand)]
    Schedule(commands::oncall::ScheduleCommand),
    /// List, show, acknowledge or resolve incidents.
    #[command(subcommand)]
    Incidents(commands::incidents::IncidentsCommand),
    /// Check the deployed stack: resources, configuration, SMS and email
    /// setup, dead letters, failed escalations, the self-test. Exits 1 on
    /// any problem.
    Doctor(commands::doctor::DoctorArgs),
    /// Dead letters: list them with why they failed, show one, redrive them.
    #[command(subcommand)]
    Dlq(commands::dlq::DlqCommand),
    /// Send a clearly marked test notification (SMS, email or a call)
    /// through the stack's real senders, to rehearse.
    TestNotify(commands::test_notify::TestNotifyArgs),
    /// Incident events on the stack's EventBridge bus: their detail-types
    /// and JSON Schemas.
    #[command(subcommand)]
    Events(commands::events::EventsCommand),
    /// Print a completion script for a shell, generated from this CLI's own
    /// commands and options: `klaxon completions bash >
    /// ~/.local/share/bash-completion/completions/klaxon`, `klaxon
    /// completions zsh > "${fpath[1]}/_klaxon"`, `klaxon completions fish >
    /// ~/.config/fish/completions/klaxon.fish`.
    Completions(CompletionsArgs),
}

#[derive(Args)]
struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

/// A failure to report to the user, with the exit code to use.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self {
            message: e.to_string(),
            code: 2,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("klaxon: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let tz = match &cli.stack.tz {
        Some(name) => Some(TimeZone::get(name).map_err(|e| format!("--tz {name}: {e}"))?),
        None => None,
    };
    match cli.command {
        Command::Config(cmd) => commands::config::run(&cli.stack, cmd).await,
        Command::Oncall(args) => commands::oncall::oncall(&cli.stack, tz.as_ref(), args).await,
        Command::Schedule(cmd) => commands::oncall::schedule(&cli.stack, tz.as_ref(), cmd).await,
        Command::Incidents(cmd) => {
            commands::incidents::run(&cli.stack, &tz.unwrap_or(TimeZone::UTC), cmd).await
        }
        Command::Doctor(args) => commands::doctor::run(&cli.stack, args).await,
        Command::Dlq(cmd) => commands::dlq::run(&cli.stack, cmd).await,
        Command::TestNotify(args) => commands::test_notify::run(&cli.stack, args).await,
        Command::Events(cmd) => commands::events::run(cmd),
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "klaxon", &mut script);
            let text = String::from_utf8_lossy(&script);
            say!("{}", text.trim_end());
            Ok(())
        }
    }
}

/// `2026-11-21 18:00:00 JST`.
pub fn show_time(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => say!("{text}"),
        Err(e) => eprintln!("klaxon: cannot print JSON: {e}"),
    }
}

/// Where a command reads the on-call configuration: a local file or folder
/// when given, else what is applied to the stack.
#[derive(Args)]
pub struct ConfigFrom {
    /// Read this file or folder instead of the applied configuration.
    #[arg(long = "config", short = 'f')]
    pub path: Option<PathBuf>,
}
