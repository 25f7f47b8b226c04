//! `klaxon`: the operator CLI. Validates and applies the on-call
//! configuration, lists and shows incidents with their timelines, and
//! acknowledges or resolves them by hand.
//!
//! It talks to the stack's tables through the standard AWS configuration
//! (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL` for a local emulator).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use klaxon::app::operator::change_status;
use klaxon::aws::dynamo::{DynamoConfig, DynamoIncidents};
use klaxon::aws::sfn::StepFunctions;
use klaxon::config::OncallConfig;
use klaxon::core::incident::{Incident, TimelineEntry};
use klaxon::ports::{IncidentStore, Transition, TransitionOutcome};
use serde_json::json;

/// Prints to stdout; a closed pipe (`klaxon ... | head`) ends output quietly
/// instead of panicking.
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
    target: Target,
    #[command(subcommand)]
    command: Command,
}

/// Which stack's tables to use.
#[derive(Args)]
struct Target {
    /// Stack name; tables are `<stack>-incidents` and `<stack>-config`.
    #[arg(long, global = true, env = "KLAXON_STACK", default_value = "klaxon")]
    stack: String,
    /// Incidents table (overrides --stack).
    #[arg(long, global = true, env = "KLAXON_INCIDENTS_TABLE")]
    incidents_table: Option<String>,
    /// Configuration table (overrides --stack).
    #[arg(long, global = true, env = "KLAXON_CONFIG_TABLE")]
    config_table: Option<String>,
    /// Time zone for displayed times (IANA name, e.g. Asia/Tokyo). Default UTC.
    #[arg(long, global = true, env = "KLAXON_TZ")]
    tz: Option<String>,
}

impl Target {
    fn incidents(&self) -> String {
        self.incidents_table
            .clone()
            .unwrap_or_else(|| format!("{}-incidents", self.stack))
    }

    fn config(&self) -> String {
        self.config_table
            .clone()
            .unwrap_or_else(|| format!("{}-config", self.stack))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Validate, apply or show the on-call configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List, show, acknowledge or resolve incidents.
    #[command(subcommand)]
    Incidents(IncidentsCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file; errors name the field path.
    Validate {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Validate and store a configuration where the functions read it.
    Apply {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Print the stored configuration.
    Show {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum IncidentsCommand {
    /// Open incidents (newest first), or every incident of a month.
    List {
        /// Every incident opened in this UTC month (YYYY-MM), open or not.
        #[arg(long)]
        month: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One incident with its timeline.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge: stops further pages.
    Ack {
        id: String,
        /// Who acknowledges (default: $USER).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Resolve: closes the incident and stops its escalation.
    Resolve {
        id: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// A failure to report to the user, with the exit code to use.
struct Failure {
    message: String,
    code: u8,
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
    let tz = match &cli.target.tz {
        Some(name) => TimeZone::get(name).map_err(|e| format!("--tz {name}: {e}"))?,
        None => TimeZone::UTC,
    };
    match cli.command {
        Command::Config(ConfigCommand::Validate { file, json }) => {
            validate(&file, json).map(|_| ())
        }
        Command::Config(ConfigCommand::Apply { file, json }) => {
            let (config, yaml) = validate(&file, false)?;
            let store = config_store(&cli.target).await;
            let current = store.load().await?.map_or(0, |c| c.revision);
            let by = std::env::var("USER").unwrap_or_else(|_| "klaxon-cli".into());
            let revision = store.store(&yaml, &by, current).await?;
            if json {
                print_json(&json!({
                    "applied": true,
                    "revision": revision,
                    "table": cli.target.config(),
                    "people": config.raw.people.len(),
                    "escalation_policies": config.raw.escalation_policies.len(),
                    "routing_rules": config.raw.routing.rules.len(),
                }));
            } else {
                say!(
                    "applied {} as revision {revision} to {}",
                    file.display(),
                    cli.target.config()
                );
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Show { json }) => {
            let stored = config_store(&cli.target)
                .await
                .load()
                .await?
                .ok_or("no configuration applied yet")?;
            if json {
                print_json(&json!({
                    "revision": stored.revision,
                    "applied_at": stored.applied_at,
                    "applied_by": stored.applied_by,
                    "yaml": stored.yaml,
                }));
            } else {
                say!(
                    "# revision {} applied {} by {}",
                    stored.revision,
                    stored.applied_at,
                    stored.applied_by
                );
                say!("{}", stored.yaml.trim_end());
            }
            Ok(())
        }
        Command::Incidents(cmd) => incidents(&cli.target, &tz, cmd).await,
    }
}

fn validate(file: &PathBuf, json: bool) -> Result<(OncallConfig, String), Failure> {
    let yaml = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    match OncallConfig::from_yaml(&yaml) {
        Ok(config) => {
            if json {
                print_json(&json!({"valid": true, "file": file, "issues": []}));
            } else {
                say!(
                    "{}: valid ({} people, {} escalation policies, {} routing rules)",
                    file.display(),
                    config.raw.people.len(),
                    config.raw.escalation_policies.len(),
                    config.raw.routing.rules.len()
                );
            }
            Ok((config, yaml))
        }
        Err(e) => {
            if json {
                print_json(&json!({"valid": false, "file": file, "issues": e.issues}));
            } else {
                for issue in &e.issues {
                    eprintln!("{}: {issue}", file.display());
                }
            }
            Err(Failure {
                message: format!("{}: {} problem(s)", file.display(), e.issues.len()),
                code: 1,
            })
        }
    }
}

async fn config_store(target: &Target) -> DynamoConfig {
    let sdk = klaxon::aws::sdk_config().await;
    DynamoConfig::from_sdk(&sdk, target.config(), Duration::ZERO)
}

async fn incidents(target: &Target, tz: &TimeZone, cmd: IncidentsCommand) -> Result<(), Failure> {
    let sdk = klaxon::aws::sdk_config().await;
    let store = DynamoIncidents::from_sdk(&sdk, target.incidents());
    match cmd {
        IncidentsCommand::List { month, json } => {
            let list = match &month {
                Some(m) => store.list_month(m).await?,
                None => store.list_open().await?,
            };
            if json {
                print_json(&json!(list));
            } else if list.is_empty() {
                say!(
                    "{}",
                    if month.is_some() {
                        "no incidents that month"
                    } else {
                        "no open incidents"
                    }
                );
            } else {
                say!(
                    "{:<16} {:<13} {:<5} {:<14} {:<24} ALARM",
                    "ID",
                    "STATUS",
                    "SEV",
                    "SERVICE",
                    "OPENED"
                );
                for i in &list {
                    say!(
                        "{:<16} {:<13} {:<5} {:<14} {:<24} {}",
                        i.id,
                        i.status.as_str(),
                        i.severity.as_str(),
                        i.service,
                        show_time(i.opened_at, tz),
                        i.alarm_name
                    );
                }
            }
            Ok(())
        }
        IncidentsCommand::Show { id, json } => {
            let incident = store.get(&id).await?.ok_or_else(|| not_found(&id))?;
            let timeline = store.timeline(&id).await?;
            if json {
                print_json(&show_json(&incident, &timeline));
            } else {
                print_incident(&incident, &timeline, tz);
            }
            Ok(())
        }
        IncidentsCommand::Ack { id, by, json } => {
            transition(&store, &sdk, &id, Transition::Acknowledge, by, json).await
        }
        IncidentsCommand::Resolve { id, by, json } => {
            transition(&store, &sdk, &id, Transition::Resolve, by, json).await
        }
    }
}

fn not_found(id: &str) -> Failure {
    Failure {
        message: format!("no incident {id}"),
        code: 1,
    }
}

async fn transition(
    store: &DynamoIncidents,
    sdk: &aws_config::SdkConfig,
    id: &str,
    transition: Transition,
    by: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let user = by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".into());
    let escalations = StepFunctions::without_state_machine(sdk);
    match change_status(store, &escalations, id, transition, &user).await? {
        TransitionOutcome::Done(incident) => {
            if json {
                print_json(&json!(incident));
            } else {
                say!("{} is now {}", incident.id, incident.status);
            }
            Ok(())
        }
        TransitionOutcome::Refused(status) => Err(Failure {
            message: format!("{id} is already {status}"),
            code: 1,
        }),
        TransitionOutcome::NotFound => Err(not_found(id)),
        TransitionOutcome::NotPaged => Err(Failure {
            message: format!("{id}: not allowed"),
            code: 1,
        }),
    }
}

fn show_json(incident: &Incident, timeline: &[TimelineEntry]) -> serde_json::Value {
    json!({
        "incident": incident,
        "timeline": timeline.iter().map(|e| json!({
            "at": e.at,
            "kind": e.event.kind(),
            "summary": e.event.summary(),
            "event": e.event,
        })).collect::<Vec<_>>(),
    })
}

fn show_time(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

fn print_incident(i: &Incident, timeline: &[TimelineEntry], tz: &TimeZone) {
    let opt = |t: Option<Timestamp>| t.map(|t| show_time(t, tz)).unwrap_or_else(|| "-".into());
    say!("{}  {}  {}", i.id, i.status, i.severity);
    say!("  title        {}", i.title);
    say!("  service      {}", i.service);
    say!("  alarm        {} ({})", i.alarm_name, i.alarm_arn);
    if let Some(d) = &i.description {
        say!("  description  {d}");
    }
    say!(
        "  classified   policy {} by {}; severity from {}",
        i.policy,
        i.decided_by,
        i.severity_from
    );
    say!(
        "  alarms       {} (last {})",
        i.alarm_count,
        show_time(i.last_alarm_at, tz)
    );
    say!("  opened       {}", show_time(i.opened_at, tz));
    say!(
        "  acknowledged {} {}",
        opt(i.acknowledged_at),
        i.acknowledged_by.as_deref().unwrap_or("")
    );
    say!(
        "  resolved     {} {}",
        opt(i.resolved_at),
        i.resolved_by.as_deref().unwrap_or("")
    );
    if let Some(e) = &i.escalation_execution {
        say!("  escalation   {e}");
    }
    say!("timeline:");
    for e in timeline {
        say!("  {}  {}", show_time(e.at, tz), e.event.summary());
    }
}

fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => say!("{text}"),
        Err(e) => eprintln!("klaxon: cannot print JSON: {e}"),
    }
}
