//! A fault-injecting proxy between Klaxon's real code and the emulator.
//!
//! Klaxon's adapters are pointed at it (their SDK configuration's endpoint;
//! `AWS_ENDPOINT_URL` for anything out of process). It forwards each request
//! to the emulator unchanged, or, on cue, per service and operation:
//! answers with throttling or a 5xx error in the service's own protocol,
//! adds latency, or forwards the request and then cuts the connection
//! before the answer (the write happened, the caller saw a failure).
//!
//! Faults are injected on the wire, not through SDK interceptors, so the
//! SDK's own retry classification and backoff run exactly as in AWS: a
//! throttled call is retried by the SDK and only surfaces when the retries
//! run out; a cut connection is retried as a transient I/O failure, and the
//! retry meets the state the first attempt left.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::HarnessError;

/// Service configuration that sends every service to one endpoint (the
/// proxy), whatever `AWS_ENDPOINT_URL` says; Chime SDK Voice to `voice`
/// when given (the simulated phone network, which the emulator lacks).
#[derive(Debug)]
pub struct Endpoint {
    pub all: String,
    pub voice: Option<String>,
}

impl aws_types::service_config::LoadServiceConfig for Endpoint {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != "AWS_ENDPOINT_URL" {
            return None;
        }
        match &self.voice {
            Some(voice) if key.service_id().eq_ignore_ascii_case("chime sdk voice") => {
                Some(voice.clone())
            }
            _ => Some(self.all.clone()),
        }
    }
}

/// One AWS call, as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    /// The SigV4 signing name: `dynamodb`, `states`, `sqs`, `sns`, `ses`, `monitoring`.
    pub service: String,
    /// `PutItem`, `StartExecution`, `Publish`, `SendEmail`, ...
    pub name: String,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service, self.name)
    }
}

/// What the proxy does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error (`ThrottlingException`,
    /// `ProvisionedThroughputExceededException`, `Throttling`, 429).
    Throttle,
    /// A 500 or 503 in the service's error format.
    Status(u16),
    /// Forwarded after this delay.
    Latency(Duration),
    /// Forwarded, applied by the emulator, then the connection is cut
    /// before the caller reads the answer.
    CutAfterApply,
}

/// What happened to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Forwarded,
    Faulted(Fault),
    /// Cut without being forwarded (the caller had "crashed").
    Dropped,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub operation: Operation,
    pub fate: Fate,
    /// What a send carried, to tell one message from another: an SNS
    /// `Publish`'s parameters (`PhoneNumber=…`, `Message=…`, one per line),
    /// or the JSON body of an SES `SendEmail` or an EventBridge
    /// `PutEvents`. `None` for other calls.
    pub sent: Option<String>,
}

#[derive(Debug)]
struct Rule {
    service: String,
    operation: Option<String>,
    fault: Fault,
    remaining: usize,
    /// A rule for a while, not a number of calls: it applies until then.
    until: Option<tokio::time::Instant>,
    fired: usize,
}

impl Rule {
    fn applies(&self, op: &Operation) -> bool {
        let live = match self.until {
            Some(until) => tokio::time::Instant::now() < until,
            None => self.remaining > 0,
        };
        live && self.service == op.service && self.operation.as_deref().is_none_or(|o| o == op.name)
    }

    fn spent(&self) -> bool {
        match self.until {
            Some(_) => self.fired > 0,
            None => self.remaining == 0,
        }
    }
}

#[derive(Debug, Default)]
enum Crash {
    #[default]
    Healthy,
    /// The `after`-th call from now is applied and cut; the caller is then dead.
    Armed { after: usize, seen: usize },
    /// Every call is cut without reaching the emulator.
    Dead,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    crash: Crash,
    crashes: usize,
    calls: Vec<Call>,
}

/// The proxy, serving until dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: use as the endpoint URL.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Action {
    Forward,
    Delay(Duration),
    Fail(Fault),
    ForwardThenCut,
    Drop,
}

impl FaultProxy {
    /// Starts a proxy on an ephemeral local port in front of `upstream`.
    pub async fn start(upstream: &str) -> Result<Self, HarnessError> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| HarnessError::Emulator(format!("fault proxy: bind: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::Emulator(format!("fault proxy: {e}")))?;
        let state = Arc::new(Mutex::new(State::default()));
        let upstream = upstream.trim_end_matches('/').to_string();
        let http = crate::http_client();
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                let upstream = upstream.clone();
                let http = http.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        handle(Arc::clone(&state), upstream.clone(), http.clone(), req)
                    });
                    // An error here is the cut connection itself.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            endpoint: format!("http://{addr}"),
            state,
            task,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread poisons nothing we cannot still read.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `fault` to the next `times` calls of `service` (and of
    /// `operation` only, when given).
    pub fn inject(&self, service: &str, operation: Option<&str>, fault: Fault, times: usize) {
        self.state().rules.push(Rule {
            service: service.to_string(),
            operation: operation.map(str::to_string),
            fault,
            remaining: times,
            until: None,
            fired: 0,
        });
    }

    /// Applies `fault` to every call of `service` (and of `operation` only,
    /// when given) for `outage`, from now: an outage, not a number of calls.
    pub fn inject_for(
        &self,
        service: &str,
        operation: Option<&str>,
        fault: Fault,
        outage: Duration,
    ) {
        self.state().rules.push(Rule {
            service: service.to_string(),
            operation: operation.map(str::to_string),
            fault,
            remaining: usize::MAX,
            until: Some(tokio::time::Instant::now() + outage),
            fired: 0,
        });
    }

    /// The caller "crashes" after its `n`-th call from now (1-based): that
    /// call reaches the emulator and its connection is cut before the
    /// answer; every later call (the SDK's retries included) is cut without
    /// reaching the emulator, until [`FaultProxy::heal`].
    pub fn crash_after(&self, n: usize) {
        self.state().crash = Crash::Armed { after: n, seen: 0 };
    }

    /// Removes every fault: the next delivery runs on a healthy network.
    pub fn heal(&self) {
        let mut s = self.state();
        s.rules.clear();
        s.crash = Crash::Healthy;
        s.crashes = 0;
    }

    /// Whether the caller has crashed (and its calls are being cut).
    pub fn crashed(&self) -> bool {
        matches!(self.state().crash, Crash::Dead)
    }

    /// Ends a crash, or disarms one that has not happened; injected
    /// faults stay.
    pub fn heal_crash(&self) {
        self.state().crash = Crash::Healthy;
    }

    /// How many crashes happened since the last [`FaultProxy::heal`].
    pub fn crashes(&self) -> usize {
        self.state().crashes
    }

    /// Every call seen so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Forgets the calls seen so far.
    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    /// The distinct operations seen so far.
    pub fn operations(&self) -> BTreeSet<Operation> {
        self.state()
            .calls
            .iter()
            .map(|c| c.operation.clone())
            .collect()
    }

    /// Whether every injected fault has been used (a scenario that armed a
    /// fault nobody triggered proves nothing).
    pub fn faults_spent(&self) -> bool {
        self.state().rules.iter().all(Rule::spent)
    }
}

fn decide(state: &mut State, op: &Operation) -> Action {
    match &mut state.crash {
        Crash::Dead => return Action::Drop,
        Crash::Armed { after, seen } => {
            *seen += 1;
            if *seen >= *after {
                state.crash = Crash::Dead;
                state.crashes += 1;
                return Action::ForwardThenCut;
            }
        }
        Crash::Healthy => {}
    }
    let rule = state.rules.iter_mut().find(|r| r.applies(op));
    match rule {
        Some(r) => {
            r.remaining = r.remaining.saturating_sub(1);
            r.fired += 1;
            match r.fault {
                Fault::CutAfterApply => Action::ForwardThenCut,
                Fault::Latency(d) => Action::Delay(d),
                f => Action::Fail(f),
            }
        }
        None => Action::Forward,
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    upstream: String,
    http: reqwest::Client,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let op = identify(&parts, &body);
    let sent = sent(&op, &body);
    let action = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let action = decide(&mut s, &op);
        let fate = match &action {
            Action::Forward => Fate::Forwarded,
            Action::Delay(d) => Fate::Faulted(Fault::Latency(*d)),
            Action::Fail(f) => Fate::Faulted(*f),
            Action::ForwardThenCut => Fate::Faulted(Fault::CutAfterApply),
            Action::Drop => Fate::Dropped,
        };
        s.calls.push(Call {
            operation: op.clone(),
            fate,
            sent,
        });
        action
    };
    match action {
        Action::Drop => Err(std::io::Error::other("injected: connection cut")),
        Action::Fail(fault) => Ok(error_response(&op, fault)),
        Action::Forward => forward(&http, &upstream, &parts, body).await,
        Action::Delay(d) => {
            tokio::time::sleep(d).await;
            forward(&http, &upstream, &parts, body).await
        }
        Action::ForwardThenCut => {
            forward(&http, &upstream, &parts, body).await?;
            Err(std::io::Error::other(
                "injected: connection cut after the request was applied",
            ))
        }
    }
}

async fn forward(
    http: &reqwest::Client,
    upstream: &str,
    parts: &hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut request = http.request(parts.method.clone(), format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            request = request.header(name, value);
        }
    }
    let answer = request
        .body(body)
        .send()
        .await
        .map_err(std::io::Error::other)?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.map_err(std::io::Error::other)?;
    response
        .body(Full::new(bytes))
        .map_err(std::io::Error::other)
}

/// The service (from the SigV4 credential scope) and operation (from the
/// protocol: `X-Amz-Target`, the query `Action`, the RPC v2 path, or the
/// REST route) of a request.
fn identify(parts: &hyper::http::request::Parts, body: &[u8]) -> Operation {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    // Credential=AKID/20261201/us-east-1/dynamodb/aws4_request
    let service = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    let target = header("x-amz-target");
    let path = parts.uri.path();
    let name = if let Some((_, op)) = target.rsplit_once('.') {
        op.to_string()
    } else if let Some((_, op)) = path.rsplit_once("/operation/") {
        op.to_string()
    } else if let Some(action) = form_action(body) {
        action
    } else if path.contains("/outbound-emails") {
        "SendEmail".to_string()
    } else {
        format!("{} {path}", parts.method)
    };
    Operation { service, name }
}

/// What a send carries ([`Call::sent`]).
fn sent(op: &Operation, body: &[u8]) -> Option<String> {
    match (op.service.as_str(), op.name.as_str()) {
        ("sns", "Publish") => Some(
            form_urlencoded::parse(body)
                .filter(|(k, _)| k != "Action" && k != "Version")
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("ses", "SendEmail") | ("events", "PutEvents") => {
            Some(String::from_utf8_lossy(body).into_owned())
        }
        _ => None,
    }
}

fn form_action(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_string)
}

/// The error a service answers, in its own protocol.
fn error_response(op: &Operation, fault: Fault) -> Response<Full<Bytes>> {
    let (status, code) = match (fault, op.service.as_str()) {
        (Fault::Throttle, "dynamodb") => (400, "ProvisionedThroughputExceededException"),
        (Fault::Throttle, "sns") => (400, "Throttling"),
        (Fault::Throttle, "ses") => (429, "TooManyRequestsException"),
        // CloudWatch speaks CBOR; a 503 is its throttling signal to the SDK.
        (Fault::Throttle, "monitoring") => (503, "ServiceUnavailable"),
        (Fault::Throttle, _) => (400, "ThrottlingException"),
        (Fault::Status(503), _) => (503, "ServiceUnavailable"),
        (Fault::Status(s), _) => (s, "InternalFailure"),
        (Fault::Latency(_) | Fault::CutAfterApply, _) => (500, "InternalFailure"),
    };
    let message = format!("injected by the fault proxy: {code}");
    let (content_type, body) = match op.service.as_str() {
        "sns" => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" }
            ),
        ),
        "ses" | "monitoring" => ("application/json", format!(r#"{{"message":"{message}"}}"#)),
        _ => (
            "application/x-amz-json-1.0",
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-errortype", code)
        .header("x-amzn-requestid", "fault-proxy")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(service: &str, name: &str) -> Operation {
        Operation {
            service: service.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_crash_applies_the_nth_call_then_drops_everything_until_healed() {
        let mut s = State {
            crash: Crash::Armed { after: 2, seen: 0 },
            ..State::default()
        };
        let put = op("dynamodb", "PutItem");
        assert!(matches!(decide(&mut s, &put), Action::Forward));
        assert!(matches!(decide(&mut s, &put), Action::ForwardThenCut));
        assert!(matches!(decide(&mut s, &put), Action::Drop));
        assert!(matches!(
            decide(&mut s, &op("sns", "Publish")),
            Action::Drop
        ));
    }

    #[test]
    fn a_rule_matches_its_service_and_operation_a_limited_number_of_times() {
        let mut s = State::default();
        s.rules.push(Rule {
            service: "sns".into(),
            operation: Some("Publish".into()),
            fault: Fault::Throttle,
            remaining: 2,
            until: None,
            fired: 0,
        });
        assert!(matches!(
            decide(&mut s, &op("dynamodb", "Publish")),
            Action::Forward
        ));
        assert!(matches!(
            decide(&mut s, &op("sns", "Subscribe")),
            Action::Forward
        ));
        for _ in 0..2 {
            assert!(matches!(
                decide(&mut s, &op("sns", "Publish")),
                Action::Fail(Fault::Throttle)
            ));
        }
        assert!(matches!(
            decide(&mut s, &op("sns", "Publish")),
            Action::Forward
        ));
    }

    #[test]
    fn an_outage_applies_to_every_call_until_it_ends() {
        let mut s = State::default();
        s.rules.push(Rule {
            service: "sns".into(),
            operation: None,
            fault: Fault::Status(500),
            remaining: usize::MAX,
            until: Some(tokio::time::Instant::now() + Duration::from_secs(60)),
            fired: 0,
        });
        for _ in 0..50 {
            assert!(matches!(
                decide(&mut s, &op("sns", "Publish")),
                Action::Fail(Fault::Status(500))
            ));
        }
        assert!(s.rules[0].spent());
        // The outage is over.
        s.rules[0].until = Some(tokio::time::Instant::now());
        assert!(matches!(
            decide(&mut s, &op("sns", "Publish")),
            Action::Forward
        ));
    }

    #[test]
    fn a_publish_is_recorded_with_its_number_and_message() {
        let body =
            b"Action=Publish&PhoneNumber=%2B81901234&Message=Reply+ACK+12&Version=2010-03-31";
        assert_eq!(
            sent(&op("sns", "Publish"), body).as_deref(),
            Some("PhoneNumber=+81901234\nMessage=Reply ACK 12")
        );
        assert_eq!(sent(&op("dynamodb", "PutItem"), b"{}"), None);
    }
}
