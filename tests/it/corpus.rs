//! The bad-input corpus (`tests/corpus/`): every alarm event, SMS reply
//! and configuration in it goes through Klaxon's real handlers and loaders
//! on one stack, and must get exactly the result its case expects, without
//! a panic. A rejected event must be non-retryable (`Klaxon.InvalidEvent`)
//! and write nothing; a rejected configuration must be refused by the
//! loader, by `klaxon config validate`'s checks and by apply.

mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use klaxon_app::AppError;
use klaxon_app::alarm_event::parse_alarm_bytes;
use klaxon_app::intake::IntakeOutcome;
use klaxon_app::operator::change_status;
use klaxon_config::OncallConfig;
use klaxon_config::sources::Sources;
use klaxon_core::incident::{AckCode, Channel, Status, incident_id};
use klaxon_core::phone::Phone;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::template::repo_root;
use klaxon_ports::{
    ClaimOutcome, IdSource, InboundClaim, InboundMessages, Incidents, PageClaim, Paging, Transition,
};
use klaxon_runtime::HandlerError;
use klaxon_system::SystemClock;
use serde::Serialize;
use serde_json::{Value, json};

use self::manifest::{ConfigCase, EventCase, EventExpect, Input, Placeholders, load};
use crate::common::World;

/// The code every reply case's target incident holds.
const CODE: u32 = 1234;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_the_bad_input_corpus_gets_its_expected_result_without_a_panic() {
    let w = World::new(60, 0).await;
    let dir = repo_root().join("tests").join("corpus");
    // Configurations touch neither incidents nor the applied configuration,
    // so they run beside the events.
    let mut report = Report::default();
    let mut config_report = Report::default();
    let (events, configs) = tokio::join!(
        async {
            let alarms = alarm_cases(&w, &dir, &mut report).await;
            (alarms, reply_cases(&w, &dir, &mut report).await)
        },
        config_cases(&w, &dir, &mut config_report)
    );
    let (alarms, replies) = events;
    report.failures.append(&mut config_report.failures);
    let total = alarms + replies + configs;
    println!(
        "corpus: {alarms} alarm events, {replies} SMS replies, {configs} configurations \
         ({total} cases), {} failed",
        report.failures.len()
    );
    assert!(
        report.failures.is_empty(),
        "{} of {total} corpus cases failed:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
}

#[derive(Default)]
struct Report {
    failures: Vec<String>,
}

impl Report {
    fn note(&mut self, kind: &str, name: &str, result: Result<(), String>) {
        if let Err(why) = result {
            let why = clip(&why).replace('\n', " | ");
            self.failures.push(format!("{kind} '{name}': {why}"));
        }
    }
}

/// Runs a handler in its own task, so a panic is seen, not suffered.
async fn guarded<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    joined(tokio::spawn(work)).await
}

/// The same for synchronous work (parsing), on a blocking thread.
async fn guarded_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    joined(tokio::task::spawn_blocking(work)).await
}

async fn joined<T>(task: tokio::task::JoinHandle<T>) -> Result<T, String> {
    task.await.map_err(|e| {
        if !e.is_panic() {
            return format!("task failed: {e}");
        }
        let payload = e.into_panic();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        format!("panicked: {text}")
    })
}

fn clip(s: &str) -> String {
    const MAX: usize = 600;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}… ({} bytes)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

/// A rejected event: the error names what is wrong, and no retry can help.
fn check_rejection(err: AppError, want: &[String]) -> Result<(), String> {
    let message = err.to_string();
    let missing: Vec<&String> = want.iter().filter(|s| !message.contains(*s)).collect();
    if !missing.is_empty() {
        return Err(format!("error does not contain {missing:?}: {message}"));
    }
    if err.retryable() {
        return Err(format!("bad input is retryable: {message}"));
    }
    let kind = HandlerError(err).error_type();
    if kind != "Klaxon.InvalidEvent" {
        return Err(format!(
            "error type is {kind}, not Klaxon.InvalidEvent: {message}"
        ));
    }
    Ok(())
}

/// Outcomes of the expected kinds (`reason`, `keyword` narrow them);
/// returns them as JSON.
fn check_outcomes<T: Serialize>(
    got: &[T],
    kinds: &[String],
    expect: &EventExpect,
) -> Result<Vec<Value>, String> {
    let got: Vec<Value> = got.iter().map(|o| json!(o)).collect();
    let got_kinds: Vec<&str> = got
        .iter()
        .map(|o| o["outcome"].as_str().unwrap_or("?"))
        .collect();
    if got_kinds != kinds.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(format!("expected outcomes {kinds:?}, got {got:?}"));
    }
    if let Some(reason) = &expect.reason
        && !got
            .iter()
            .any(|o| o["reason"].as_str().is_some_and(|r| r.contains(reason)))
    {
        return Err(format!("no outcome's reason contains '{reason}': {got:?}"));
    }
    if let Some(keyword) = &expect.keyword
        && !got.iter().any(|o| o["keyword"] == json!(keyword))
    {
        return Err(format!("no outcome is keyword {keyword}: {got:?}"));
    }
    Ok(got)
}

/// What intake has written that a rejected event must not change: the
/// open incidents (with their status, alarm count and alarm time) and the
/// incidents of this month and the month it began.
#[derive(Debug, PartialEq, Eq)]
struct Written {
    open: BTreeMap<String, (Status, u32, Timestamp, Timestamp)>,
    listed: BTreeSet<String>,
}

async fn written(w: &World, months: &mut BTreeSet<String>) -> Written {
    let store = &w.local.store;
    months.insert(Timestamp::now().strftime("%Y-%m").to_string());
    let open = store.list_open().await.expect("list open");
    let mut listed = BTreeSet::new();
    for month in months.iter() {
        let found = store.list_month(month).await.expect("list month");
        listed.extend(found.into_iter().map(|i| i.id));
    }
    Written {
        open: open
            .into_iter()
            .map(|i| {
                let changes = (i.status, i.alarm_count, i.last_alarm_at, i.alarm_state_at);
                (i.id, changes)
            })
            .collect(),
        listed,
    }
}

async fn alarm_cases(w: &World, dir: &Path, report: &mut Report) -> usize {
    let manifest = load::<EventCase>(dir, "alarms.yaml", |c| &c.name);
    let events = repo_root().join("events");
    let mut months = BTreeSet::new();
    let mut before = written(w, &mut months).await;
    for case in &manifest.cases {
        let result = alarm_case(w, case, &events, &mut months, &before).await;
        // A rejection that passed has checked that nothing changed.
        if case.expect.error.is_none() || result.is_err() {
            before = written(w, &mut months).await;
        }
        report.note("alarm", &case.name, result);
    }
    manifest.cases.len()
}

async fn alarm_case(
    w: &World,
    case: &EventCase,
    events: &Path,
    months: &mut BTreeSet<String>,
    before: &Written,
) -> Result<(), String> {
    let kinds = case.expect.kinds()?;
    let want = case.expect.error.as_deref().unwrap_or_default();
    let event = match case.build(events, &[], &Placeholders(Vec::new()))? {
        Input::Event(event) => event,
        Input::Bytes(text) => {
            // As the Lambda runtime reads the payload, then intake's own
            // reader of raw bytes, which must agree.
            let raw = text.clone();
            let bytes = guarded_blocking(move || parse_alarm_bytes(raw.as_bytes())).await?;
            match serde_json::from_str::<Value>(&text) {
                Ok(event) => {
                    if let Err(e) = &bytes
                        && kinds.is_some()
                    {
                        return Err(format!("the bytes reader rejected it: {e}"));
                    }
                    event
                }
                Err(_) => {
                    if kinds.is_some() {
                        return Err("not JSON, so it cannot have an outcome".into());
                    }
                    let err = bytes.err().ok_or("bytes that are not JSON were accepted")?;
                    return check_rejection(AppError::Intake(err), want);
                }
            }
        }
    };
    let handled = deliver_alarm(w, event).await?;
    match (handled, kinds) {
        (Err(err), None) => {
            check_rejection(err, want)?;
            let after = written(w, months).await;
            if &after != before {
                return Err(format!("rejected, yet incidents changed: {after:?}"));
            }
            Ok(())
        }
        (Ok(outcomes), Some(kinds)) => check_outcomes(&outcomes, &kinds, &case.expect).map(drop),
        (Err(err), Some(kinds)) => Err(format!("expected {kinds:?}, got error: {err}")),
        (Ok(outcomes), None) => Err(format!("expected an error, got {outcomes:?}")),
    }
}

async fn deliver_alarm(
    w: &World,
    event: Value,
) -> Result<Result<Vec<IntakeOutcome>, AppError>, String> {
    let local = Arc::clone(&w.local);
    guarded(async move { local.deliver_alarm(&event).await }).await
}

/// Incident ids as usual, and always the same ack code, so that reply
/// cases can name it.
struct FixedCode;

impl IdSource for FixedCode {
    fn incident_id(&self, now: Timestamp) -> String {
        incident_id(now, rand::random())
    }

    fn ack_code(&self) -> AckCode {
        AckCode::from_number(CODE)
    }
}

/// Opens the incident reply cases act on (code [`CODE`]) and records Alice
/// as paged for it, as the escalator's page claim does.
async fn open_reply_target(w: &World, n: usize) -> String {
    let name = w.alarm_name(&format!("corpus-reply-target-{n}"));
    let event = alarm(
        Delivery::EventBridge,
        &name,
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .expect("alarm event");
    let intake = klaxon_app::intake::Intake {
        ids: &FixedCode,
        ..w.local.intake(&w.local.tags)
    };
    let id = match intake.handle(&event).await.expect("open the reply target")[..] {
        [IntakeOutcome::Opened { ref incident_id }] => incident_id.clone(),
        ref other => panic!("reply target not opened: {other:?}"),
    };
    let alice = Phone::parse(&w.alice).expect("Alice's number");
    let claim = PageClaim {
        step: 0,
        person: "alice".into(),
        channel: Channel::Sms,
        contact: "phone".into(),
        ack_numbers: vec![alice],
    };
    let now = Timestamp::now();
    let claimed = w
        .local
        .store
        .claim_page(&id, &claim, now, now + SignedDuration::from_secs(60))
        .await
        .expect("claim a page");
    assert_eq!(claimed, ClaimOutcome::Claimed, "page Alice for {id}");
    id
}

async fn resolve(w: &World, id: &str) {
    change_status(
        &w.local.store,
        &w.local.escalations,
        &SystemClock,
        id,
        Transition::Resolve,
        "corpus",
    )
    .await
    .expect("resolve");
}

async fn reply_cases(w: &World, dir: &Path, report: &mut Report) -> usize {
    let manifest = load::<EventCase>(dir, "replies.yaml", |c| &c.name);
    let events = repo_root().join("events");
    // No incident of the alarm cases may hold the targets' code.
    for open in w.local.store.list_open().await.expect("list open") {
        resolve(w, &open.id).await;
    }
    let placeholders = Placeholders(vec![
        ("$ALICE_DIGITS", w.alice.trim_start_matches('+').to_string()),
        ("$ALICE", w.alice.clone()),
        ("$BOB", w.bob.clone()),
    ]);
    let mut targets = 0;
    let mut target = open_reply_target(w, targets).await;
    for case in &manifest.cases {
        let result = reply_case(w, case, &events, &placeholders, &target).await;
        report.note("reply", &case.name, result);
        let status = w.incident(&target).await.status;
        if status != Status::Triggered {
            if status == Status::Acknowledged {
                resolve(w, &target).await;
            }
            targets += 1;
            target = open_reply_target(w, targets).await;
        }
    }
    manifest.cases.len()
}

async fn reply_case(
    w: &World,
    case: &EventCase,
    events: &Path,
    placeholders: &Placeholders,
    target: &str,
) -> Result<(), String> {
    let kinds = case.expect.kinds()?;
    let message_id = format!("corpus-{}", case.name);
    let defaults = [
        ("originationNumber", json!(w.alice)),
        ("inboundMessageId", json!(message_id)),
    ];
    let Input::Event(event) = case.build(events, &defaults, placeholders)? else {
        return Err("replies come as SNS events; use message_text for raw text".into());
    };
    let timeline = w.timeline(target).await.len();
    let local = Arc::clone(&w.local);
    let delivered = event.clone();
    let handled = guarded(async move { local.deliver_reply(&delivered).await }).await?;
    let incident = w.incident(target).await;
    match (handled, kinds) {
        (Err(err), None) => {
            check_rejection(err, case.expect.error.as_deref().unwrap_or_default())?;
            if incident.status != Status::Triggered || w.timeline(target).await.len() != timeline {
                return Err(format!("rejected, yet the incident changed: {incident:?}"));
            }
            // Nothing claimed the message either: a redelivery would act.
            let claimed = w
                .local
                .store
                .claim(&message_id, Timestamp::now())
                .await
                .map_err(|e| e.to_string())?;
            if claimed != InboundClaim::First {
                return Err(format!(
                    "rejected, yet its message was claimed: {claimed:?}"
                ));
            }
            Ok(())
        }
        (Ok(outcomes), Some(kinds)) => {
            let got = check_outcomes(&outcomes, &kinds, &case.expect)?;
            let has = |kind: &str| kinds.iter().any(|k| k == kind);
            let status = if has("resolved") {
                Status::Resolved
            } else if has("acknowledged") {
                Status::Acknowledged
            } else {
                Status::Triggered
            };
            if incident.status != status {
                return Err(format!("incident is {:?}, not {status:?}", incident.status));
            }
            let names_target = got.iter().any(|o| o["incident_id"] == json!(target));
            let names = if has("acknowledged") || has("resolved") {
                Some(true)
            } else {
                case.expect.on_incident
            };
            if names.is_some_and(|want| want != names_target) {
                return Err(format!(
                    "outcome names the incident: {names_target}: {got:?}"
                ));
            }
            Ok(())
        }
        (Err(err), Some(kinds)) => Err(format!("expected {kinds:?}, got error: {err}")),
        (Ok(outcomes), None) => Err(format!("expected an error, got {outcomes:?}")),
    }
}

async fn config_cases(w: &World, dir: &Path, report: &mut Report) -> usize {
    let manifest = load::<ConfigCase>(dir, "configs.yaml", |c| &c.name);
    for case in &manifest.cases {
        let result = config_case(w, case, &manifest.bases).await;
        report.note("config", &case.name, result);
    }
    manifest.cases.len()
}

async fn revision(w: &World) -> Option<u64> {
    w.local
        .config
        .load()
        .await
        .expect("load the stored configuration")
        .map(|c| c.revision)
}

async fn config_case(
    w: &World,
    case: &ConfigCase,
    bases: &serde_norway::Mapping,
) -> Result<(), String> {
    let text = case.build(bases)?;
    let file = "case.yaml";
    let parsed = text.clone();
    let (loaded, checked) = guarded_blocking(move || {
        let loaded = OncallConfig::from_yaml(&parsed);
        let checked = Sources::from_texts(vec![(file.into(), parsed)]).check(file);
        (loaded, checked)
    })
    .await?;
    let cli_text = |issues: &[klaxon_config::sources::Located]| {
        issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let contains_all = |what: &str, message: &str, want: &[String]| {
        let missing: Vec<&String> = want.iter().filter(|s| !message.contains(*s)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("{what} does not contain {missing:?}: {message}"))
        }
    };
    let expect = &case.expect;
    match (&expect.error, &expect.cli_error, expect.valid) {
        (Some(want), cli_want, None) => {
            let err = loaded.err().ok_or("the loader accepted it")?;
            contains_all("the loader's error", &err.to_string(), want)?;
            let issues = checked.err().ok_or("klaxon config validate accepted it")?;
            let cli_want = cli_want.as_ref().unwrap_or(want);
            contains_all(
                "klaxon config validate's error",
                &cli_text(&issues),
                cli_want,
            )?;
            if let Some(line) = expect.line
                && !issues.iter().any(|i| i.line == Some(line))
            {
                return Err(format!("no problem on line {line}: {}", cli_text(&issues)));
            }
            let stored = revision(w).await;
            if w.local.apply_config(&text).await.is_ok() {
                return Err("apply accepted it".into());
            }
            if revision(w).await != stored {
                return Err("apply refused it, yet stored something".into());
            }
            Ok(())
        }
        (None, Some(want), None) => {
            loaded.map_err(|e| format!("the loader rejected it: {e}"))?;
            let issues = checked.err().ok_or("klaxon config validate accepted it")?;
            contains_all("klaxon config validate's error", &cli_text(&issues), want)
        }
        (None, None, Some(true)) => {
            let config = loaded.map_err(|e| format!("the loader rejected it: {e}"))?;
            let checked = checked.map_err(|e| format!("validate rejected it: {}", cli_text(&e)))?;
            let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
            contains_all(
                "the loader's warnings",
                &warnings.join("\n"),
                &expect.warnings,
            )?;
            contains_all(
                "validate's warnings",
                &cli_text(&checked.warnings),
                &expect.warnings,
            )
        }
        _ => Err("expect has exactly one of error, cli_error, valid: true".into()),
    }
}
