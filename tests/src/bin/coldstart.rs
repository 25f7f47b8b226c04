//! Cold-start stopwatch for a Lambda function binary.
//!
//!     coldstart <binary> [runs]      (runs defaults to 20)
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
async fn run_once(binary: &Path, function_name: &str, log_path: &Path) -> Result<Duration, String> {
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
    eprintln!("usage: coldstart <binary> [runs]   (runs defaults to 20)");
    ExitCode::from(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (binary, runs) = match args.as_slice() {
        [b] => (PathBuf::from(b), 20),
        [b, n] => match n.parse::<usize>() {
            Ok(n) if n > 0 => (PathBuf::from(b), n),
            _ => return usage(),
        },
        _ => return usage(),
    };
    let binary = match binary.canonicalize() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("coldstart: {}: {e}", binary.display());
            return ExitCode::from(2);
        }
    };
    // The function name is the binary's directory for `target/lambda/<fn>/bootstrap`.
    let name = match binary.file_name().and_then(|f| f.to_str()) {
        Some("bootstrap") => binary
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|f| f.to_str())
            .unwrap_or("bootstrap"),
        Some(f) => f,
        None => "function",
    }
    .to_string();
    let log_path =
        std::env::temp_dir().join(format!("coldstart-{name}-{}.log", std::process::id()));

    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        match run_once(&binary, &name, &log_path).await {
            Ok(d) => samples.push(d),
            Err(e) => {
                eprintln!("coldstart: {name}: run {} of {runs} failed: {e}", i + 1);
                let _ = std::fs::remove_file(&log_path);
                return ExitCode::FAILURE;
            }
        }
    }
    let _ = std::fs::remove_file(&log_path);
    samples.sort();
    let (min, med, p90) = (samples[0], median(&samples), percentile(&samples, 90.0));
    println!(
        "{name}: cold start (spawn -> first GET /invocation/next), {runs} runs: \
         min {:.2} ms, median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        ms(min),
        ms(med),
        ms(p90),
        ms(samples[runs - 1]),
    );
    println!(
        "coldstart name={name} runs={runs} min_ms={:.2} median_ms={:.2} p90_ms={:.2}",
        ms(min),
        ms(med),
        ms(p90),
    );
    ExitCode::SUCCESS
}
