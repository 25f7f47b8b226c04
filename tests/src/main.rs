//! `klaxon-local`: runs Klaxon against the local AWS emulator.
//!
//! * `up`: create the stack's resources from `infra/template.yaml`, apply an
//!   on-call file, and write `.klaxon/stack.env` (the functions' environment,
//!   for `cargo lambda watch`).
//! * `pump`: the escalator's SQS event source mapping, which the emulator
//!   cannot run: hands queued escalation steps to Klaxon's escalator.
//! * `demo`: the whole loop, step by step.
//! * `storm`: the alarm storm benchmark (`make storm`), on a stack of its own.
//! * `self-test`: one run of the scheduled self-test against the stack,
//!   with the escalator pumped meanwhile.
//! * `lambda-runner`: cargo's runner under `cargo lambda watch`
//!   (`scripts/dev.sh watch`): runs a function with its deployed role's
//!   credentials, as Lambda does.

mod voice_demo;

use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use klaxon_app::intake::IntakeOutcome;
use klaxon_app::reply::ReplyOutcome;
use klaxon_config::OncallConfig;
use klaxon_core::phone::mask;
use klaxon_local::events::{Delivery, alarm, sms_reply};
use klaxon_local::template::repo_root;
use klaxon_local::{HarnessError, Local, Pump, ids};
use klaxon_ports::Incidents;

#[derive(Parser)]
#[command(name = "klaxon-local", about = "Klaxon on the local AWS emulator")]
struct Cli {
    /// Stack name; resources are named as the template names them.
    #[arg(long, global = true, env = "KLAXON_STACK", default_value = "klaxon")]
    stack: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the stack's resources and apply an on-call file.
    Up {
        #[arg(long, default_value = "examples/local-oncall.yaml")]
        config: String,
    },
    /// Run the escalator's queue consumer until interrupted.
    Pump,
    /// Run the demo scenario and print each step.
    Demo,
    /// An alarm storm on a new stack: distinct alarms, each delivered
    /// several times (EventBridge and SNS mixed, shuffled), with the
    /// escalator running; prints what it counted.
    Storm {
        #[arg(long, default_value_t = 1000)]
        alarms: usize,
        #[arg(long, default_value_t = 10)]
        deliveries: usize,
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        /// Escalator batches in flight at once.
        #[arg(long, default_value_t = 20)]
        pumps: usize,
    },
    /// Run Klaxon's self-test once (as the schedule does in AWS).
    SelfTest,
    /// Cargo's runner for `cargo lambda watch` (`scripts/dev.sh watch`):
    /// runs COMMAND with the credentials of the role function
    /// `<stack>-<AWS_LAMBDA_FUNCTION_NAME>` was deployed with, as Lambda
    /// gives them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_SESSION_TOKEN).
    LambdaRunner {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber_init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up { config } => up(&cli.stack, &config).await.map(|_| ()),
        Command::Pump => pump(&cli.stack).await,
        Command::Demo => demo(&cli.stack).await,
        Command::Storm {
            alarms,
            deliveries,
            concurrency,
            pumps,
        } => storm(alarms, deliveries, concurrency, pumps).await,
        Command::SelfTest => self_test(&cli.stack).await,
        Command::LambdaRunner { command } => lambda_runner(&cli.stack, command).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("klaxon-local: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn tracing_subscriber_init() {
    if std::env::var_os("RUST_LOG").is_some() {
        klaxon_runtime::init_tracing();
    }
}

/// How much longer than in AWS an escalator invocation may run in the storm.
const STORM_TIME_SCALE: u32 = 4;

async fn storm(
    alarms: usize,
    deliveries: usize,
    concurrency: usize,
    pumps: usize,
) -> Result<(), HarnessError> {
    let tag = jiff::Timestamp::now().as_second() % 1_000_000;
    let mut local = Local::up_with_workflow_scale(&format!("storm{tag}"), 1.0).await?;
    // The emulator answers each call 10 to 100 times slower than DynamoDB,
    // SQS and SNS do, so a batch that takes 1 s in AWS takes minutes here.
    // Each escalator invocation gets 4 times the function's timeout (its
    // claims are held that long, and it is cut off after it, as Lambda
    // would), still under the queue's 90 s visibility timeout.
    local.escalator_timeout *= STORM_TIME_SCALE;
    let local = Arc::new(local);
    let pager = format!("+8190{tag:06}01");
    local
        .apply_config(&format!(
            r#"
version: 1
people:
  pager: {{name: Pager, phone: "{pager}"}}
services:
  storm: {{escalation_policy: storm}}
escalation_policies:
  storm:
    levels:
      - {{targets: [pager], timeout_seconds: 3600}}
routing:
  default: {{service: storm, severity: SEV2}}
"#
        ))
        .await?;
    let plan = klaxon_local::storm::Plan {
        alarms,
        deliveries,
        concurrency,
        pumps,
        page_patience: Duration::from_secs(1800),
    };
    let report = klaxon_local::storm::run(local, &format!("storm{tag}"), &pager, plan).await?;
    report.print(&plan);
    if report.clean() {
        Ok(())
    } else {
        Err(HarnessError::Emulator(
            "the storm lost or duplicated something".into(),
        ))
    }
}

async fn up(stack: &str, config_path: &str) -> Result<Local, HarnessError> {
    let local = Local::up(stack).await?;
    let path = repo_root().join(config_path);
    let yaml = std::fs::read_to_string(&path)
        .map_err(|e| HarnessError::Config(format!("{}: {e}", path.display())))?;
    local.apply_config(&yaml).await?;
    let mut env = std::collections::BTreeMap::new();
    for id in [ids::INTAKE, ids::SMS_REPLY, ids::ESCALATOR] {
        env.extend(local.stack.function_env(id)?);
    }
    let dir = repo_root().join(".klaxon");
    std::fs::create_dir_all(&dir).map_err(|e| HarnessError::Config(e.to_string()))?;
    let mut text =
        String::from("# Written by `klaxon-local up`: the deployed functions' environment.\n");
    text.push_str(&format!("export KLAXON_STACK={stack}\n"));
    for (k, v) in &env {
        text.push_str(&format!("export {k}='{v}'\n"));
    }
    std::fs::write(dir.join("stack.env"), text).map_err(|e| HarnessError::Config(e.to_string()))?;
    println!(
        "stack '{stack}' is up: tables {} and {}, state machine {}",
        local.stack.physical(ids::INCIDENTS_TABLE)?,
        local.stack.physical(ids::CONFIG_TABLE)?,
        local.stack.physical(ids::STATE_MACHINE)?
    );
    println!("applied {config_path}; environment written to .klaxon/stack.env");
    Ok(local)
}

async fn pump(stack: &str) -> Result<(), HarnessError> {
    let local = Local::up(stack).await?;
    println!(
        "pumping {} into the escalator (Ctrl-C to stop)",
        local.stack.physical(ids::ESCALATION_QUEUE)?
    );
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            round = local.pump_once(Duration::from_secs(2)) => {
                if let Err(e) = round {
                    eprintln!("pump: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Runs `command` (a function's binary and its arguments) as the role its
/// deployed function has; returns only if it cannot.
async fn lambda_runner(stack: &str, command: Vec<std::ffi::OsString>) -> Result<(), HarnessError> {
    use klaxon_local::runner;
    use std::os::unix::process::CommandExt;
    let (program, args) = command
        .split_first()
        .ok_or_else(|| HarnessError::Config("lambda-runner: no command to run".into()))?;
    let program = std::path::Path::new(program);
    let function = runner::function_name(std::env::var_os(runner::FUNCTION_NAME_VAR), program)
        .ok_or_else(|| {
            HarnessError::Config(format!(
                "lambda-runner: which function is {}? ({} is not set)",
                program.display(),
                runner::FUNCTION_NAME_VAR
            ))
        })?;
    let admin = klaxon_aws::sdk_config().await;
    let session = runner::function_session(&admin, stack, &function).await?;
    eprintln!(
        "klaxon-local: {} runs as {}",
        session.function, session.role
    );
    let err = std::process::Command::new(program)
        .args(args)
        .envs(session.env.iter().map(|(k, v)| (*k, v)))
        .exec();
    Err(HarnessError::Config(format!(
        "lambda-runner: cannot run {}: {err}",
        program.display()
    )))
}

/// One self-test run on an existing stack (`make up`), its escalator
/// pumped meanwhile; prints what the run saw, as the Lambda answers.
async fn self_test(stack: &str) -> Result<(), HarnessError> {
    let local = Arc::new(Local::up(stack).await?);
    let pump = Pump::start(Arc::clone(&local));
    let run = local
        .self_test_handler(klaxon_app::self_test::Limits::default())
        .run()
        .await;
    pump.stop().await;
    let report = run.map_err(|e| HarnessError::Aws(format!("self-test failed: {e}")))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| HarnessError::Aws(e.to_string()))?
    );
    println!(
        "Klaxon/SelfTestSucceeded published for stack {}; klaxon incidents list --self-test shows {}",
        local.self_test.stack, report.incident_id
    );
    Ok(())
}

/// Polls `read` until it has an `n`-th item, and returns that one.
async fn nth<T, F, Fut>(
    what: &str,
    n: usize,
    patience: Duration,
    read: F,
) -> Result<T, HarnessError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, HarnessError>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let mut got = read().await?;
        if got.len() >= n {
            return Ok(got.swap_remove(n - 1));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(HarnessError::Emulator(format!(
                "no {what} #{n} after {patience:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits for the `n`-th SMS to `phone`; returns its text.
async fn next_sms(
    local: &Local,
    phone: &str,
    n: usize,
    patience: Duration,
) -> Result<String, HarnessError> {
    let what = format!("SMS to {}", mask(phone));
    let sms = nth(&what, n, patience, || local.emulator.sms_to(phone)).await?;
    Ok(sms.message)
}

/// Waits for the `n`-th email to `address`; returns its subject.
async fn next_email(
    local: &Local,
    address: &str,
    n: usize,
    patience: Duration,
) -> Result<String, HarnessError> {
    let what = format!("email to {address}");
    let mail = nth(&what, n, patience, || local.emulator.emails_to(address)).await?;
    Ok(mail.subject)
}

/// The demo stops at the first step that did not go as the scenario says.
fn expect_outcome<T: PartialEq + std::fmt::Debug>(got: &[T], want: &T) -> Result<(), HarnessError> {
    if got == std::slice::from_ref(want) {
        Ok(())
    } else {
        Err(HarnessError::Aws(format!("expected {want:?}, got {got:?}")))
    }
}

async fn demo(stack: &str) -> Result<(), HarnessError> {
    println!(
        "== Klaxon demo on the local emulator ({})",
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_default()
    );
    let local = Arc::new(up(stack, "examples/local-oncall.yaml").await?);
    let config = OncallConfig::from_yaml(
        &std::fs::read_to_string(repo_root().join("examples/local-oncall.yaml"))
            .map_err(|e| HarnessError::Config(e.to_string()))?,
    )
    .map_err(|e| HarnessError::Config(e.to_string()))?;
    let phone = |id: &str| -> Result<String, HarnessError> {
        config
            .person(id)
            .and_then(|p| p.ack_numbers().first().map(|n| n.as_str().to_string()))
            .ok_or_else(|| HarnessError::Config(format!("{id} has no phone")))
    };
    let (aiko, ben) = (phone("aiko")?, phone("ben")?);
    let aiko_email = config
        .person("aiko")
        .and_then(|p| {
            p.contacts
                .iter()
                .find(|c| c.channel == klaxon_core::incident::Channel::Email)
        })
        .map(|c| c.address.clone())
        .ok_or_else(|| HarnessError::Config("aiko has no email".into()))?;
    let level_seconds: Vec<u32> = config
        .policy("default")
        .map(|p| p.levels.iter().map(|l| l.timeout_secs()).collect())
        .unwrap_or_default();
    let pump = Pump::start(Arc::clone(&local));
    let before_aiko = local.emulator.sms_to(&aiko).await?.len();
    let before_ben = local.emulator.sms_to(&ben).await?.len();
    let before_aiko_email = local.emulator.emails_to(&aiko_email).await?.len();

    let now = jiff::Timestamp::now();
    if let Some(primary) = config.schedule("primary") {
        let on_call = primary.on_call(now);
        println!(
            "\n0. On call for schedule 'primary' now: {} (klaxon oncall)",
            on_call.person.unwrap_or("nobody")
        );
    }
    let alarm_name = format!("checkout-5xx-demo-{}", now.strftime("%H%M%S"));
    let at = klaxon_core::time::iso(now);
    println!(
        "\n1. CloudWatch: alarm {alarm_name} goes to ALARM (EventBridge event, as events/eventbridge-alarm.json)"
    );
    let event = alarm(Delivery::EventBridge, &alarm_name, "ALARM", &at)?;
    let outcome = local
        .deliver_alarm(&event)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?;
    let id = match &outcome[..] {
        [IntakeOutcome::Opened { incident_id }] => incident_id.clone(),
        other => {
            return Err(HarnessError::Aws(format!(
                "unexpected intake outcome {other:?}"
            )));
        }
    };
    let incident = local
        .store
        .get(&id)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?
        .ok_or_else(|| HarnessError::Aws("incident missing".into()))?;
    println!(
        "   incident {id} opened: {} {} urgency, service={} (decided by {}, severity from {})",
        incident.severity,
        incident.urgency,
        incident.service,
        incident.decided_by,
        incident.severity_from
    );
    println!(
        "   escalation: Step Functions execution {}",
        incident.escalation_execution.clone().unwrap_or_default()
    );

    let subject = next_email(
        &local,
        &aiko_email,
        before_aiko_email + 1,
        Duration::from_secs(30),
    )
    .await?;
    println!(
        "\n2. Level 1 fires: schedule 'primary' resolves to Aiko now. Her rules: email at once, SMS after 3 s.\n   Email to {aiko_email}: \"{subject}\""
    );
    let page = next_sms(&local, &aiko, before_aiko + 1, Duration::from_secs(30)).await?;
    println!("   SMS to Aiko ({}):\n   \"{page}\"", mask(&aiko));

    println!(
        "\n3. No reply within level 1's {} s timeout ...",
        level_seconds.first().copied().unwrap_or(0)
    );
    let page2 = next_sms(&local, &ben, before_ben + 1, Duration::from_secs(60)).await?;
    println!(
        "   Level 2 paged: SMS to Ben ({}):\n   \"{page2}\"",
        mask(&ben)
    );

    let code = incident.ack_code.clone();
    println!("\n4. Ben replies \"ACK {code}\" (two-way SMS → SNS → sms-reply)");
    let reply = sms_reply(&ben, &format!("ACK {code}"), &format!("demo-{id}"))?;
    let out = local
        .deliver_reply(&reply)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?;
    expect_outcome(
        &out,
        &ReplyOutcome::Acknowledged {
            incident_id: id.clone(),
        },
    )?;
    let confirm = next_sms(&local, &ben, before_ben + 2, Duration::from_secs(10)).await?;
    println!("   ACKNOWLEDGED. Confirmation to Ben:\n   \"{confirm}\"");

    let quiet = level_seconds.iter().copied().max().unwrap_or(10) + 2;
    println!("\n5. Waiting {quiet} s: no more pages ...");
    tokio::time::sleep(Duration::from_secs(u64::from(quiet))).await;
    let aiko_total = local.emulator.sms_to(&aiko).await?.len() - before_aiko;
    let ben_total = local.emulator.sms_to(&ben).await?.len() - before_ben;
    println!(
        "   SMS since the alarm: Aiko {aiko_total} (the page), Ben {ben_total} (the page and the confirmation)"
    );
    if aiko_total != 1 || ben_total != 2 {
        return Err(HarnessError::Aws(
            "pages continued after the acknowledgement".into(),
        ));
    }

    println!("\n6. CloudWatch: alarm {alarm_name} returns to OK");
    let ok_at = klaxon_core::time::iso(jiff::Timestamp::now());
    let out = local
        .deliver_alarm(&alarm(Delivery::EventBridge, &alarm_name, "OK", &ok_at)?)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?;
    expect_outcome(
        &out,
        &IntakeOutcome::Resolved {
            incident_id: id.clone(),
        },
    )?;
    println!("   RESOLVED; its escalation is stopped");
    pump.stop().await;

    let incident = local
        .store
        .get(&id)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?
        .ok_or_else(|| HarnessError::Aws("incident missing".into()))?;
    println!(
        "\n== Incident {id}: {} (acknowledged by {}, resolved by {})",
        incident.status,
        incident.acknowledged_by.unwrap_or_default(),
        incident.resolved_by.unwrap_or_default()
    );
    println!("Timeline:");
    for e in local
        .store
        .timeline(&id)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?
    {
        println!("  {}  {}", klaxon_core::time::iso(e.at), e.event.summary());
    }
    voice_demo::scene(stack).await?;
    println!(
        "\nSee it again with: make up, source .klaxon/env && source .klaxon/stack.env, then klaxon incidents show {id}"
    );
    Ok(())
}
