//! Cold-start stopwatch for a Lambda function binary.
//!
//!     coldstart <binary> [runs]      (runs defaults to 20)
//!     coldstart --interleave <runs> [--env KEY=VALUE]... [--event NAME=FILE]... <binary>...
//!
//! The second form starts the binaries in turn, one cold start each per
//! round, for `runs` rounds, so a machine that slows down or speeds up
//! during the sitting affects them alike; `--env` adds to each one's
//! environment (`SSL_CERT_FILE=...` for a one-bundle trust layout). When one
//! of them is `bare-runtime` (a binary that only starts `lambda_runtime`,
//! the floor), each other's median is also printed as a ratio to its.
//!
//! Serves a stub Lambda Runtime API on 127.0.0.1, starts the binary with the
//! environment Lambda would give it, and measures from just before the
//! process is spawned to the moment its runtime first asks for an event
//! (`GET /2018-06-01/runtime/invocation/next`), i.e. everything the function
//! does at init: tracing, settings, AWS SDK configuration, client set-up.
//! Prints min / median / p90 in milliseconds.
//!
//! `--event NAME=FILE` also times the first event of the binary named NAME:
//! the stub hands it FILE's JSON, and every binary of the sitting is given
//! a stand-in AWS endpoint (`AWS_ENDPOINT_URL`) that speaks HTTPS with a
//! certificate from a private CA (`KLAXON_EXTRA_CA_FILE`). The first event
//! is timed from spawn to the function's first AWS call (the request
//! reaching the endpoint: credentials, signing and the TLS handshake
//! included), or to its answer for an event that needs no call. Nothing is
//! ever answered: the child is killed and the next run starts.

mod stub;

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stub::{Pki, Seen, Stub};

/// Longest a single start may take before the run counts as failed.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// The environment Lambda gives a function (`provided.al2023`), plus the
/// settings Klaxon's functions read. Dummy credentials: nothing is called.
fn lambda_env(api: &str, function_name: &str) -> Vec<(&'static str, String)> {
    let fixed = [
        ("AWS_LAMBDA_FUNCTION_NAME", function_name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_SESSION_TOKEN", "coldstart"),
        ("KLAXON_INCIDENTS_TABLE", "x"),
        ("KLAXON_CONFIG_TABLE", "y"),
        (
            "KLAXON_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:klaxon-escalation",
        ),
        // The self-test function's own settings.
        ("KLAXON_INTAKE_FUNCTION", "klaxon-alarm-intake"),
        ("KLAXON_STACK_NAME", "klaxon"),
        ("KLAXON_ACCOUNT_ID", "123456789012"),
        // The event publisher's, the notifier's and the status page's.
        ("KLAXON_EVENT_BUS", "klaxon-events"),
        (
            "KLAXON_UNDELIVERED_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/klaxon-undelivered-notifications",
        ),
        ("KLAXON_STATUS_PAGE_BUCKET", "klaxon-status-page"),
        ("TZ", ":UTC"),
        ("LANG", "en_US.UTF-8"),
    ];
    let mut env: Vec<(&'static str, String)> =
        fixed.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    env.push(("AWS_LAMBDA_RUNTIME_API", api.to_string()));
    env
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn log_tail(log: &mut File) -> String {
    let mut text = String::new();
    let _ = log.rewind().and_then(|_| log.read_to_string(&mut text));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// One run's timings from spawn: to the first `next` (init), and with an
/// event, to its first AWS call or answer, and which it was.
struct Timed {
    init: Duration,
    first_event: Option<(Duration, String)>,
}

/// One cold start: spawn, wait for the first `/invocation/next` (and with
/// an event, for its first AWS call or its answer), kill.
async fn run_once(
    binary: &Path,
    function_name: &str,
    log_path: &Path,
    extra_env: &[(String, String)],
    event: Option<Arc<String>>,
    pki: &Pki,
) -> Result<Timed, String> {
    let with_event = event.is_some();
    let mut stub = Stub::start(event, pki).await?;
    let mut log = File::options()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(log_path)
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let out = log.try_clone().map_err(|e| e.to_string())?;
    let err = log.try_clone().map_err(|e| e.to_string())?;

    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .envs(lambda_env(&stub.api.to_string(), function_name))
        .envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    if let Some(aws) = stub.aws {
        cmd.env("AWS_ENDPOINT_URL", format!("https://{aws}"))
            .env("KLAXON_EXTRA_CA_FILE", &pki.ca_file);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;

    let deadline = tokio::time::sleep(RUN_TIMEOUT);
    tokio::pin!(deadline);
    let mut poll = tokio::time::interval(Duration::from_millis(5));
    let mut init = None;
    let outcome = loop {
        let seen = tokio::select! {
            seen = stub.seen.recv() => seen,
            _ = poll.tick() => {
                if let Ok(Some(status)) = child.try_wait() {
                    // It may have been seen just before exiting.
                    match stub.seen.try_recv() {
                        Ok(seen) => Some(seen),
                        Err(_) => break Err(format!("exited with {status}")),
                    }
                } else {
                    continue;
                }
            }
            _ = &mut deadline => break Err(format!("nothing within {RUN_TIMEOUT:?}")),
        };
        let done = |at: Instant, what: String, init: Option<Duration>| {
            init.map(|init| Timed {
                init,
                first_event: Some((at.duration_since(started), what)),
            })
            .ok_or_else(|| "answered before asking for an event".to_string())
        };
        match seen {
            Some(Seen::Next(at)) if init.is_none() => {
                let took = at.duration_since(started);
                if !with_event {
                    break Ok(Timed {
                        init: took,
                        first_event: None,
                    });
                }
                init = Some(took);
            }
            Some(Seen::Next(at)) => break done(at, "answer".into(), init),
            Some(Seen::AwsCall(at, operation)) => break done(at, operation, init),
            Some(Seen::Response(at)) => break done(at, "answer".into(), init),
            Some(Seen::InitError(kind)) => break Err(format!("init error reported: {kind}")),
            Some(Seen::InvocationError(kind)) => {
                break Err(format!("the event failed before any AWS call: {kind}"));
            }
            None => break Err("stub server stopped".into()),
        }
    };
    stop(&mut child);
    stub.stop().await;
    outcome.map_err(|e| format!("{e}\n--- output (last lines) ---\n{}", log_tail(&mut log)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(sorted: &[Duration]) -> Duration {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: coldstart <binary> [runs]   (runs defaults to 20)\n       coldstart --interleave <runs> [--env KEY=VALUE]... [--event NAME=FILE]... <binary>..."
    );
    ExitCode::from(2)
}

/// One binary under measurement: its path, name, event and samples.
struct Measured {
    binary: PathBuf,
    name: String,
    event: Option<Arc<String>>,
    samples: Vec<Duration>,
    first_event: Vec<Duration>,
    first_call: Option<String>,
}

/// The function name: the binary's directory for
/// `target/lambda/<fn>/bootstrap`, else its file name.
fn name_of(binary: &Path) -> String {
    match binary.file_name().and_then(|f| f.to_str()) {
        Some("bootstrap") => binary
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|f| f.to_str())
            .unwrap_or("bootstrap"),
        Some(f) => f,
        None => "function",
    }
    .to_string()
}

/// What the command line asks for.
struct Plan {
    runs: usize,
    env: Vec<(String, String)>,
    /// Function name and the file of its first event.
    events: Vec<(String, PathBuf)>,
    binaries: Vec<PathBuf>,
}

fn parse(args: &[String]) -> Option<Plan> {
    let plan = |runs, binaries| Plan {
        runs,
        env: Vec::new(),
        events: Vec::new(),
        binaries,
    };
    match args {
        [b] => Some(plan(20, vec![PathBuf::from(b)])),
        [flag, rest @ ..] if flag == "--interleave" => {
            let (runs, mut rest) = rest.split_first()?;
            let runs = runs.parse::<usize>().ok().filter(|n| *n > 0)?;
            let mut plan = plan(runs, Vec::new());
            while let [flag, pair, tail @ ..] = rest
                && matches!(flag.as_str(), "--env" | "--event")
            {
                let (k, v) = pair.split_once('=')?;
                if flag == "--env" {
                    plan.env.push((k.to_string(), v.to_string()));
                } else {
                    plan.events.push((k.to_string(), PathBuf::from(v)));
                }
                rest = tail;
            }
            if rest.is_empty() {
                return None;
            }
            plan.binaries = rest.iter().map(PathBuf::from).collect();
            Some(plan)
        }
        [b, n] => {
            let runs = n.parse::<usize>().ok().filter(|n| *n > 0)?;
            Some(plan(runs, vec![PathBuf::from(b)]))
        }
        _ => None,
    }
}

/// min, median, p90 of `samples`, sorted in place.
fn spread(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    samples.sort();
    (samples[0], median(samples), percentile(samples, 90.0))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(plan) = parse(&args) else {
        return usage();
    };
    let runs = plan.runs;
    let mut measured = Vec::new();
    for binary in &plan.binaries {
        let b = match binary.canonicalize() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("coldstart: {}: {e}", binary.display());
                return ExitCode::from(2);
            }
        };
        let name = name_of(&b);
        let event = match plan.events.iter().find(|(n, _)| *n == name) {
            Some((_, file)) => match std::fs::read_to_string(file) {
                Ok(json) => Some(Arc::new(json)),
                Err(e) => {
                    eprintln!("coldstart: {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            },
            None => None,
        };
        measured.push(Measured {
            name,
            binary: b,
            event,
            samples: Vec::with_capacity(runs),
            first_event: Vec::with_capacity(runs),
            first_call: None,
        });
    }
    if let Some((name, _)) = plan
        .events
        .iter()
        .find(|(n, _)| !measured.iter().any(|m| m.name == *n))
    {
        eprintln!("coldstart: --event {name}: no such binary");
        return ExitCode::from(2);
    }
    let pki = match Pki::new(&std::env::temp_dir()) {
        Ok(pki) => pki,
        Err(e) => {
            eprintln!("coldstart: {e}");
            return ExitCode::FAILURE;
        }
    };
    // With any event in the sitting, a binary without one is given the
    // same settings (an endpoint it never calls before its first event),
    // so every init reads the same environment.
    let without_event: Vec<(String, String)> = if measured.iter().any(|m| m.event.is_some()) {
        let idle = [
            ("AWS_ENDPOINT_URL", "https://127.0.0.1:9".to_string()),
            ("KLAXON_EXTRA_CA_FILE", pki.ca_file.display().to_string()),
        ];
        let idle = idle.into_iter().map(|(k, v)| (k.to_string(), v));
        plan.env.iter().cloned().chain(idle).collect()
    } else {
        plan.env.clone()
    };
    for round in 0..runs {
        for m in &mut measured {
            let log_path = std::env::temp_dir().join(format!(
                "coldstart-{}-{}.log",
                m.name,
                std::process::id()
            ));
            let env = if m.event.is_some() {
                &plan.env
            } else {
                &without_event
            };
            let event = m.event.clone();
            let outcome = run_once(&m.binary, &m.name, &log_path, env, event, &pki).await;
            let _ = std::fs::remove_file(&log_path);
            match outcome {
                Ok(timed) => {
                    m.samples.push(timed.init);
                    if let Some((took, call)) = timed.first_event {
                        m.first_event.push(took);
                        m.first_call = Some(call);
                    }
                }
                Err(e) => {
                    eprintln!(
                        "coldstart: {}: run {} of {runs} failed: {e}",
                        m.name,
                        round + 1
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let floor = measured
        .iter_mut()
        .find(|m| m.name == "bare-runtime")
        .map(|m| spread(&mut m.samples).1);
    for m in &mut measured {
        let (min, med, p90) = spread(&mut m.samples);
        println!(
            "{}: cold start (spawn -> first GET /invocation/next), {runs} runs: \
             min {:.2} ms, median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
            m.name,
            ms(min),
            ms(med),
            ms(p90),
            ms(m.samples[runs - 1]),
        );
        println!(
            "coldstart name={} runs={runs} min_ms={:.2} median_ms={:.2} p90_ms={:.2}",
            m.name,
            ms(min),
            ms(med),
            ms(p90),
        );
        if let Some(floor) = floor.filter(|_| m.name != "bare-runtime") {
            println!(
                "ratio name={} median_ms={:.2} floor_ms={:.2} ratio={:.2}",
                m.name,
                ms(med),
                ms(floor),
                med.as_secs_f64() / floor.as_secs_f64()
            );
        }
        if !m.first_event.is_empty() {
            let call = m.first_call.clone().unwrap_or_default();
            let (min, med, p90) = spread(&mut m.first_event);
            println!(
                "{}: first event (spawn -> {call}), {runs} runs: min {:.2} ms, median {:.2} ms, p90 {:.2} ms",
                m.name,
                ms(min),
                ms(med),
                ms(p90),
            );
            println!(
                "first-event name={} runs={runs} min_ms={:.2} median_ms={:.2} p90_ms={:.2} call={}",
                m.name,
                ms(min),
                ms(med),
                ms(p90),
                call.replace(' ', "_"),
            );
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn flags_come_before_the_binaries_and_each_names_a_pair() {
        let plan = parse(&args(
            "--interleave 5 --env SSL_CERT_FILE=/b.pem --event intake=events/a.json bare fn",
        ))
        .unwrap();
        assert_eq!(plan.runs, 5);
        assert_eq!(plan.env, [("SSL_CERT_FILE".into(), "/b.pem".into())]);
        assert_eq!(
            plan.events,
            [("intake".into(), PathBuf::from("events/a.json"))]
        );
        assert_eq!(plan.binaries, [PathBuf::from("bare"), PathBuf::from("fn")]);
        let single = parse(&args("fn 7")).unwrap();
        assert_eq!((single.runs, single.binaries.len()), (7, 1));
    }

    #[test]
    fn a_plan_without_binaries_or_with_a_flag_missing_its_pair_is_refused() {
        assert!(parse(&args("--interleave 5 --env K=V")).is_none());
        assert!(parse(&args("--interleave 5 --event intake fn")).is_none());
        assert!(parse(&args("--interleave 0 fn")).is_none());
    }
}
