//! A stand-in for the Lambda API, for `klaxon doctor` and `klaxon dlq`.
//!
//! moto cannot run a function here (no Docker), and its functions need an
//! IAM role and a zip. The operator commands only call two Lambda
//! operations, so the tests point the real SDK client at this small HTTP
//! server instead: `GetFunctionConfiguration` answers with the environment
//! and execution role the stack's functions were deployed with, and
//! `Invoke` records what it was asked (function, invocation type, payload)
//! and answers 202, or fails for the functions a test says should fail.
//! Lambda's own authorization is asked of the emulator: a caller whose role
//! may not make the call gets AccessDenied, as from Lambda.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use klaxon_local::Local;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// One `Invoke` request as the server received it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function: String,
    pub invocation_type: Option<String>,
    pub payload: String,
}

#[derive(Default)]
struct State {
    /// Function name → (environment, execution role).
    functions: BTreeMap<String, (BTreeMap<String, String>, String)>,
    /// Function names whose invocations fail (a 500 from the service).
    failing: BTreeSet<String>,
    invocations: Vec<Invocation>,
}

pub struct LambdaStandIn {
    state: Arc<Mutex<State>>,
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LambdaStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The template's logical id of each function, by name suffix.
const FUNCTIONS: [(&str, &str); 9] = [
    ("alarm-intake", "AlarmIntakeFunction"),
    ("sms-reply", "SmsReplyFunction"),
    ("escalator", "EscalatorFunction"),
    ("event-publisher", "EventPublisherFunction"),
    ("notifier", "NotifierFunction"),
    ("status-page", "StatusPageFunction"),
    ("voice-call", "VoiceCallFunction"),
    ("voice-setup", "VoiceSetupFunction"),
    ("self-test", "SelfTestFunction"),
];

impl LambdaStandIn {
    /// Serves the stack's deployed functions, each with its environment
    /// and role; `except` lists suffixes left out (not deployed).
    pub async fn for_stack(local: &Local, except: &[&str]) -> Self {
        let mut functions = BTreeMap::new();
        for (suffix, id) in FUNCTIONS {
            if except.contains(&suffix) || !local.stack.has(id) {
                continue;
            }
            let deployed = local.stack.function(id).expect("deployed function");
            functions.insert(
                format!("{}-{suffix}", local.stack.name),
                (deployed.environment.clone(), deployed.role.clone()),
            );
        }
        Self::serve(functions).await
    }

    async fn serve(functions: BTreeMap<String, (BTreeMap<String, String>, String)>) -> Self {
        let state = Arc::new(Mutex::new(State {
            functions,
            ..State::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(req, Arc::clone(&state)));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            state,
            endpoint,
            task,
        }
    }

    /// A Lambda client of the SDK configuration, pointed at this server.
    pub fn client(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    pub fn fail(&self, function: &str, failing: bool) {
        let mut state = self.state.lock().expect("lock");
        if failing {
            state.failing.insert(function.to_string());
        } else {
            state.failing.remove(function);
        }
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.state.lock().expect("lock").invocations.clone()
    }
}

/// `%3A` → `:` and the like (function ARNs in paths).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The function name in a name or ARN (qualifier dropped).
fn name_of(function: &str) -> String {
    let parts: Vec<&str> = function.split(':').collect();
    if parts.len() >= 7 && parts[5] == "function" {
        parts[6].to_string()
    } else {
        function.to_string()
    }
}

fn reply(status: u16, error_type: Option<&str>, body: Value) -> Response<String> {
    let mut r = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(t) = error_type {
        r = r.header("x-amzn-errortype", t);
    }
    r.body(body.to_string()).expect("response")
}

async fn read_body(body: Incoming) -> String {
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame
            .map_err(|_| ())
            .and_then(|f| f.into_data().map_err(|_| ()))
        {
            bytes.extend_from_slice(&data);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<String>, Infallible> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/2015-03-31/functions/") else {
        return Ok(reply(404, Some("UnknownOperationException"), json!({})));
    };
    let Some((function, operation)) = rest.split_once('/') else {
        return Ok(reply(404, Some("UnknownOperationException"), json!({})));
    };
    let function = name_of(&percent_decode(function));
    let action = match (req.method().clone(), operation) {
        (Method::GET, "configuration") => "lambda:GetFunctionConfiguration",
        (Method::POST, "invocations") => "lambda:InvokeFunction",
        _ => return Ok(reply(404, Some("UnknownOperationException"), json!({}))),
    };
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
    let verdict = match klaxon_local::Emulator::from_env() {
        Ok(emulator) => emulator.judge(&authorization, action, &arn).await,
        Err(e) => Err(e),
    };
    match verdict {
        Ok(None) => {}
        Ok(Some(message)) => {
            return Ok(reply(
                403,
                Some("AccessDeniedException"),
                json!({"Type": "User", "message": message}),
            ));
        }
        Err(e) => {
            return Ok(reply(
                500,
                Some("ServiceException"),
                json!({"Type": "Service", "message": e.to_string()}),
            ));
        }
    }
    let not_found = || {
        reply(
            404,
            Some("ResourceNotFoundException"),
            json!({"Type": "User", "message": format!("Function not found: {function}")}),
        )
    };
    match (req.method().clone(), operation) {
        (Method::GET, "configuration") => {
            let env = state
                .lock()
                .expect("lock")
                .functions
                .get(&function)
                .cloned();
            Ok(match env {
                Some((variables, role)) => reply(
                    200,
                    None,
                    json!({
                        "FunctionName": function,
                        "FunctionArn": arn,
                        "Role": role,
                        "State": "Active",
                        "LastUpdateStatus": "Successful",
                        "Environment": {"Variables": variables},
                    }),
                ),
                None => not_found(),
            })
        }
        (Method::POST, "invocations") => {
            let invocation_type = req
                .headers()
                .get("x-amz-invocation-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let payload = read_body(req.into_body()).await;
            let mut state = state.lock().expect("lock");
            if !state.functions.contains_key(&function) {
                return Ok(not_found());
            }
            if state.failing.contains(&function) {
                return Ok(reply(
                    500,
                    Some("ServiceException"),
                    json!({"Type": "Service", "message": "stand-in: this function fails"}),
                ));
            }
            state.invocations.push(Invocation {
                function,
                invocation_type,
                payload,
            });
            Ok(reply(202, None, json!({})))
        }
        _ => Ok(reply(404, Some("UnknownOperationException"), json!({}))),
    }
}
