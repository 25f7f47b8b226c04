//! `klaxon oncall` and `klaxon schedule show`.

use clap::{Args, Subcommand};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use klaxon_config::OncallConfig;
use klaxon_core::schedule::{Schedule, Source};
use serde_json::json;

use super::config::current;
use crate::when::parse_instant;
use crate::{ConfigFrom, Failure, StackArgs, print_json, say, show_time};

#[derive(Args)]
pub struct OncallArgs {
    /// The moment to ask about (default now): 2026-11-21T09:00:00+09:00,
    /// 2026-11-21T09:00[Asia/Tokyo], or a civil time in --tz (UTC if unset).
    #[arg(long)]
    at: Option<String>,
    /// Only this schedule.
    #[arg(long)]
    schedule: Option<String>,
    #[command(flatten)]
    from: ConfigFrom,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// The shifts of a schedule between two moments, as a table.
    Show {
        name: String,
        /// Start (default now); a date or time as for `oncall --at`, civil
        /// times in --tz or else the schedule's zone.
        #[arg(long)]
        from: Option<String>,
        /// End (default: 7 days after the start).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        config: ConfigFrom,
        #[arg(long)]
        json: bool,
    },
}

fn source_text(source: &Source<'_>) -> String {
    match source {
        Source::Layer { name, .. } => format!("layer {name}"),
        Source::Override { index } => format!("override #{}", index + 1),
        Source::Nobody => "nobody".into(),
    }
}

fn source_json(source: &Source<'_>) -> serde_json::Value {
    match source {
        Source::Layer { index, name } => json!({"layer": name, "index": index}),
        Source::Override { index } => json!({"override": index}),
        Source::Nobody => json!(null),
    }
}

fn person_text(config: &OncallConfig, id: Option<&str>) -> String {
    match id {
        Some(id) => match config.person(id) {
            Some(p) if p.name != id => format!("{id} ({})", p.name),
            _ => id.to_string(),
        },
        None => "-".into(),
    }
}

fn lookup<'a>(config: &'a OncallConfig, name: &str) -> Result<&'a Schedule, Failure> {
    config.schedule(name).ok_or_else(|| Failure {
        message: format!(
            "no schedule '{name}' (known: {})",
            config
                .schedules
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
        code: 1,
    })
}

pub async fn oncall(
    stack: &StackArgs,
    tz: Option<&TimeZone>,
    args: OncallArgs,
) -> Result<(), Failure> {
    let config = current(stack, &args.from).await?;
    let at = match &args.at {
        Some(text) => parse_instant(text, tz.unwrap_or(&TimeZone::UTC))?,
        None => Timestamp::now(),
    };
    let names: Vec<&String> = match &args.schedule {
        Some(name) => {
            lookup(&config, name)?;
            config.schedules.keys().filter(|k| *k == name).collect()
        }
        None => config.schedules.keys().collect(),
    };
    if names.is_empty() {
        return Err(Failure {
            message: "the configuration has no schedules".into(),
            code: 1,
        });
    }
    let mut rows = Vec::new();
    for name in names {
        let schedule = &config.schedules[name];
        let shown = tz.unwrap_or(schedule.time_zone());
        let now = schedule.on_call(at);
        rows.push((name, schedule, shown.clone(), now));
    }
    if args.json {
        print_json(&json!({
            "at": at,
            "schedules": rows.iter().map(|(name, _, _, now)| json!({
                "schedule": name,
                "person": now.person,
                "source": source_json(&now.source),
                "until": now.until,
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    say!("on call at {}", show_time(at, tz.unwrap_or(&TimeZone::UTC)));
    say!("{:<18} {:<24} {:<22} UNTIL", "SCHEDULE", "ON CALL", "FROM");
    for (name, _, shown, now) in &rows {
        say!(
            "{:<18} {:<24} {:<22} {}",
            name,
            person_text(&config, now.person),
            source_text(&now.source),
            now.until
                .map(|u| show_time(u, shown))
                .unwrap_or_else(|| "no change ahead".into())
        );
    }
    Ok(())
}

pub async fn schedule(
    stack: &StackArgs,
    tz: Option<&TimeZone>,
    cmd: ScheduleCommand,
) -> Result<(), Failure> {
    match cmd {
        ScheduleCommand::Show {
            name,
            from,
            to,
            config: from_config,
            json,
        } => {
            let config = current(stack, &from_config).await?;
            let schedule = lookup(&config, &name)?;
            let shown = tz.unwrap_or(schedule.time_zone()).clone();
            let start = match &from {
                Some(t) => parse_instant(t, &shown)?,
                None => Timestamp::now(),
            };
            let end = match &to {
                Some(t) => parse_instant(t, &shown)?,
                None => start + SignedDuration::from_hours(7 * 24),
            };
            if end <= start {
                return Err(Failure {
                    message: "--to must be after --from".into(),
                    code: 1,
                });
            }
            let shifts = schedule.shifts(start, end);
            if json {
                print_json(&json!({
                    "schedule": name,
                    "time_zone": shown.iana_name(),
                    "from": start,
                    "to": end,
                    "shifts": shifts.iter().map(|s| json!({
                        "start": s.start,
                        "end": s.end,
                        "person": s.person,
                        "source": source_json(&s.source),
                    })).collect::<Vec<_>>(),
                }));
                return Ok(());
            }
            say!(
                "{name}: {} to {} ({})",
                show_time(start, &shown),
                show_time(end, &shown),
                shown.iana_name().unwrap_or("fixed offset")
            );
            say!(
                "{:<24} {:<24} {:>7} {:<24} SOURCE",
                "FROM",
                "TO",
                "HOURS",
                "ON CALL"
            );
            for s in &shifts {
                let hours = s.end.duration_since(s.start).as_secs_f64() / 3600.0;
                say!(
                    "{:<24} {:<24} {:>7.1} {:<24} {}",
                    show_time(s.start, &shown),
                    show_time(s.end, &shown),
                    hours,
                    person_text(&config, s.person),
                    source_text(&s.source)
                );
            }
            Ok(())
        }
    }
}
