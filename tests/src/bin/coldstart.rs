//! Cold-start stopwatch for a Lambda function binary.
//!
//!     coldstart <binary> [runs]      (runs defaults to 20)
//!     coldstart --interleave <runs> [--env KEY=VALUE]... <binary>...
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
//! The request is never answered; the child is killed and the next run starts.
//! Prints min / median / p90 in milliseconds.

use std::convert::Infallible;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
/// Longest a single start may take before the run counts as failed.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// What the stub saw the function do.
enum Seen {
    /// First `GET .../invocation/next`, and when it arrived.
    Next(Instant),
    /// The runtime reported an init failure.
    InitError(String),
}

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

async fn handle(
    req: Request<Incoming>,
    seen: mpsc::UnboundedSender<Seen>,
) -> Result<Response<String>, Infallible> {
    let path = req.uri().path();
    if req.method() == Method::GET && path == NEXT {
        let _ = seen.send(Seen::Next(Instant::now()));
        // Never hand out an event: the child is killed before it could run one.
        std::future::pending::<()>().await;
    }
    if req.method() == Method::POST && path == INIT_ERROR {
        let kind = req
            .headers()
            .get("Lambda-Runtime-Function-Error-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_string();
        let _ = seen.send(Seen::InitError(kind));
        return Ok(Response::builder()
            .status(202)
            .body(r#"{"status":"OK"}"#.to_string())
            .unwrap());
    }
    Ok(Response::builder()
        .status(404)
        .body(format!(
            "coldstart stub: no route for {} {path}",
            req.method()
        ))
        .unwrap())
}

/// Accepts runtime connections until aborted; aborting drops every connection.
async fn serve(listener: TcpListener, seen: mpsc::UnboundedSender<Seen>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let seen = seen.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(req, seen.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next() => {}
        }
    }
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

/// One cold start: spawn, wait for the first `/invocation/next`, kill.
async fn run_once(
    binary: &Path,
    function_name: &str,
    log_path: &Path,
    extra_env: &[(String, String)],
) -> Result<Duration, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("binding the stub runtime API: {e}"))?;
    let api = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = tokio::spawn(serve(listener, tx));

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
        .envs(lambda_env(&api, function_name))
        .envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;

    let deadline = tokio::time::sleep(RUN_TIMEOUT);
    tokio::pin!(deadline);
    let mut poll = tokio::time::interval(Duration::from_millis(5));
    let outcome = loop {
        tokio::select! {
            seen = rx.recv() => match seen {
                Some(Seen::Next(at)) => break Ok(at.duration_since(started)),
                Some(Seen::InitError(kind)) => break Err(format!("init error reported: {kind}")),
                None => break Err("stub server stopped".into()),
            },
            _ = poll.tick() => {
                if let Ok(Some(status)) = child.try_wait() {
                    // It may have asked for an event just before exiting.
                    if let Ok(Seen::Next(at)) = rx.try_recv() {
                        break Ok(at.duration_since(started));
                    }
                    break Err(format!("exited with {status} before asking for an event"));
                }
            }
            _ = &mut deadline => break Err(format!("no /invocation/next within {RUN_TIMEOUT:?}")),
        }
    };
    stop(&mut child);
    server.abort();
    let _ = server.await;
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
        "usage: coldstart <binary> [runs]   (runs defaults to 20)\n       coldstart --interleave <runs> [--env KEY=VALUE]... <binary>..."
    );
    ExitCode::from(2)
}

/// One binary under measurement: its path, name and samples.
struct Measured {
    binary: PathBuf,
    name: String,
    samples: Vec<Duration>,
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

/// What the command line asks for: rounds, extra environment, binaries.
type Plan = (usize, Vec<(String, String)>, Vec<PathBuf>);

fn parse(args: &[String]) -> Option<Plan> {
    match args {
        [b] => Some((20, Vec::new(), vec![PathBuf::from(b)])),
        [flag, rest @ ..] if flag == "--interleave" => {
            let (runs, mut rest) = rest.split_first()?;
            let runs = runs.parse::<usize>().ok().filter(|n| *n > 0)?;
            let mut env = Vec::new();
            while let [flag, pair, tail @ ..] = rest {
                if flag != "--env" {
                    break;
                }
                let (k, v) = pair.split_once('=')?;
                env.push((k.to_string(), v.to_string()));
                rest = tail;
            }
            if rest.is_empty() {
                return None;
            }
            Some((runs, env, rest.iter().map(PathBuf::from).collect()))
        }
        [b, n] => {
            let runs = n.parse::<usize>().ok().filter(|n| *n > 0)?;
            Some((runs, Vec::new(), vec![PathBuf::from(b)]))
        }
        _ => None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((runs, env, binaries)) = parse(&args) else {
        return usage();
    };
    let mut measured = Vec::new();
    for binary in binaries {
        match binary.canonicalize() {
            Ok(b) => measured.push(Measured {
                name: name_of(&b),
                binary: b,
                samples: Vec::with_capacity(runs),
            }),
            Err(e) => {
                eprintln!("coldstart: {}: {e}", binary.display());
                return ExitCode::from(2);
            }
        }
    }
    for round in 0..runs {
        for m in &mut measured {
            let log_path = std::env::temp_dir().join(format!(
                "coldstart-{}-{}.log",
                m.name,
                std::process::id()
            ));
            let outcome = run_once(&m.binary, &m.name, &log_path, &env).await;
            let _ = std::fs::remove_file(&log_path);
            match outcome {
                Ok(d) => m.samples.push(d),
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
    let floor = measured.iter().find(|m| m.name == "bare-runtime").map(|m| {
        let mut s = m.samples.clone();
        s.sort();
        median(&s)
    });
    for m in &mut measured {
        m.samples.sort();
        let s = &m.samples;
        let (min, med, p90) = (s[0], median(s), percentile(s, 90.0));
        println!(
            "{}: cold start (spawn -> first GET /invocation/next), {runs} runs: \
             min {:.2} ms, median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
            m.name,
            ms(min),
            ms(med),
            ms(p90),
            ms(s[runs - 1]),
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
    }
    ExitCode::SUCCESS
}
