//! `klaxon incidents list|show|ack|resolve|update`.

use clap::Subcommand;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use klaxon_app::operator::{UpdateOutcome, change_status, list_incidents, post_update};
use klaxon_aws::dynamo::DynamoStore;
use klaxon_aws::sfn::StepFunctions;
use klaxon_core::incident::{Incident, TimelineEntry};
use klaxon_core::status_update::UpdateStatus;
use klaxon_core::time::iso;
use klaxon_ports::{Incidents, Transition, TransitionOutcome};
use klaxon_system::SystemClock;
use serde_json::json;

use crate::{Failure, StackArgs, print_json, say, show_time};

#[derive(Subcommand)]
pub enum IncidentsCommand {
    /// Open incidents (newest first), or every incident of a month.
    List {
        /// Every incident opened in this UTC month (YYYY-MM), open or not.
        #[arg(long)]
        month: Option<String>,
        /// Include the scheduled self-test's incidents (left out by default).
        #[arg(long, visible_alias = "all")]
        self_test: bool,
        #[arg(long)]
        json: bool,
    },
    /// One incident with its routing decision and timeline.
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
    /// Post a status update for stakeholders: on the timeline and the
    /// stack's event bus (`Status Update Posted`). Changes no status and
    /// pages nobody.
    Update {
        id: String,
        message: String,
        /// investigating, identified, monitoring or resolved (default: the
        /// latest update's, else investigating).
        #[arg(long, value_parser = parse_update_status)]
        status: Option<UpdateStatus>,
        /// Who posts it (default: $USER).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn parse_update_status(raw: &str) -> Result<UpdateStatus, String> {
    UpdateStatus::parse(raw)
        .ok_or_else(|| format!("'{raw}': use investigating, identified, monitoring or resolved"))
}

pub async fn run(target: &StackArgs, tz: &TimeZone, cmd: IncidentsCommand) -> Result<(), Failure> {
    let sdk = klaxon_aws::sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, target.incidents());
    match cmd {
        IncidentsCommand::List {
            month,
            self_test,
            json,
        } => {
            let list = list_incidents(&store, month.as_deref(), self_test).await?;
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
                        "{:<16} {:<13} {:<5} {:<14} {:<24} {}{}",
                        i.id,
                        i.status.as_str(),
                        i.severity.as_str(),
                        i.service,
                        show_time(i.opened_at, tz),
                        i.alarm_name,
                        if i.self_test { "  (self-test)" } else { "" }
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
            transition(target, &store, &sdk, &id, Transition::Acknowledge, by, json).await
        }
        IncidentsCommand::Resolve { id, by, json } => {
            transition(target, &store, &sdk, &id, Transition::Resolve, by, json).await
        }
        IncidentsCommand::Update {
            id,
            message,
            status,
            by,
            json,
        } => {
            let user = by
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "operator".into());
            match post_update(&store, &SystemClock, &id, status, &message, &user).await? {
                UpdateOutcome::Posted(entry) => {
                    if json {
                        print_json(&json!(entry));
                    } else {
                        say!("{id}: {}", entry.event.summary());
                    }
                    Ok(())
                }
                UpdateOutcome::NotFound => Err(not_found(&id)),
                UpdateOutcome::Invalid(why) => Err(Failure {
                    message: format!("{id}: {why}"),
                    code: 2,
                }),
            }
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
    target: &StackArgs,
    store: &DynamoStore,
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
    match change_status(store, &escalations, &SystemClock, id, transition, &user).await? {
        TransitionOutcome::Done(incident) => {
            end_calls(target, store, sdk, &incident).await;
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
        TransitionOutcome::NotPaged | TransitionOutcome::Stale => Err(Failure {
            message: format!("{id}: not allowed"),
            code: 1,
        }),
    }
}

/// A phone still ringing about the incident stops; on a stack without
/// voice there is nothing to do. A failure is said, not fatal: the status
/// change is made.
async fn end_calls(
    target: &StackArgs,
    store: &DynamoStore,
    sdk: &aws_config::SdkConfig,
    incident: &Incident,
) {
    let names = klaxon_cli::names::StackNames::new(target.name());
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let voice = match klaxon_cli::test_notify::stack_settings(&lambda, &names).await {
        Ok(settings) => settings.and_then(|s| s.voice),
        Err(e) => {
            eprintln!(
                "klaxon: calls about {} could not be ended: {e}",
                incident.id
            );
            return;
        }
    };
    let Some(voice) = voice else {
        return;
    };
    let calls = klaxon_aws::chime::ChimeCalls::from_sdk(
        sdk,
        &voice.sip_media_application_id,
        voice.from.clone(),
    );
    if let Err(e) = klaxon_app::calls::end_calls(store, &calls, &SystemClock, incident, None).await
    {
        eprintln!(
            "klaxon: calls about {} could not all be ended: {e}",
            incident.id
        );
    }
}

fn show_json(incident: &Incident, timeline: &[TimelineEntry]) -> serde_json::Value {
    json!({
        "incident": incident,
        "calls": klaxon_app::calls::call_summaries(timeline),
        "timeline": timeline.iter().map(|e| json!({
            "at": iso(e.at),
            "kind": e.event.kind(),
            "summary": e.event.summary(),
            "event": e.event,
        })).collect::<Vec<_>>(),
    })
}

fn print_incident(i: &Incident, timeline: &[TimelineEntry], tz: &TimeZone) {
    let opt = |t: Option<Timestamp>| t.map(|t| show_time(t, tz)).unwrap_or_else(|| "-".into());
    say!("{}  {}  {}", i.id, i.status, i.severity);
    if i.self_test {
        say!("  self-test    yes: opened by Klaxon's scheduled self-test; pages nobody");
    }
    say!("  title        {}", i.title);
    say!("  service      {}", i.service);
    say!("  alarm        {} ({})", i.alarm_name, i.alarm_arn);
    if let Some(d) = &i.description {
        say!("  description  {d}");
    }
    say!(
        "  routed       {} (severity from {}), {} urgency, policy {}",
        i.decided_by,
        i.severity_from,
        i.urgency,
        i.policy
    );
    if !i.matched.is_empty() {
        say!("  matched      {}", i.matched.join("; "));
    }
    say!(
        "  alarms       {} (last received {}; alarm time {})",
        i.alarm_count,
        show_time(i.last_alarm_at, tz),
        iso(i.alarm_state_at)
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
    let calls = klaxon_app::calls::call_summaries(timeline);
    if !calls.is_empty() {
        say!("calls:");
    }
    for c in &calls {
        let outcome = match (&c.outcome, &c.ended_by_klaxon) {
            (Some(o), _) => o.to_string(),
            (None, Some(why)) => format!("being ended ({why})"),
            (None, None) => "under way".into(),
        };
        let keys = if c.keys.is_empty() {
            "no key".to_string()
        } else {
            format!("keys {}", c.keys.join(", "))
        };
        say!(
            "  {}  {} at {}: {}{}, {keys}",
            show_time(c.placed_at, tz),
            c.person,
            c.to,
            outcome,
            if c.answered { ", answered" } else { "" }
        );
    }
    say!("timeline:");
    for e in timeline {
        say!("  {}  {}", show_time(e.at, tz), e.event.summary());
    }
}
