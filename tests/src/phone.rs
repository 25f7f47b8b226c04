//! A simulated phone network: the stand-in for Amazon Chime SDK PSTN Audio,
//! which no emulator runs. It answers the Chime SDK Voice API at its
//! boundary (`AWS_ENDPOINT_URL_CHIME_SDK_VOICE`, in the real API's request
//! and response shapes: `CreateSipMediaApplication`,
//! `CreateSipMediaApplicationCall`, `UpdateSipMediaApplicationCall`), and
//! for each call drives the real voice-call handler with the event
//! sequence the SIP media application sends (`NEW_OUTBOUND_CALL`,
//! `RINGING`, `CALL_ANSWERED`, `ACTION_SUCCESSFUL`/`ACTION_FAILED` with the
//! digits, `CALL_UPDATE_REQUESTED`, `HANGUP`), following a script per
//! called number, and records what was spoken and how the call ended.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::HarnessError;

/// What the callee does when their phone rings (unscripted: it rings
/// until the call is updated, or for a minute).
#[derive(Debug, Clone)]
pub enum Script {
    /// Answers, then at each prompt does the next of `presses` (silence
    /// once they run out).
    Answer(Vec<Press>),
    /// Rings until `gate` is opened, then answers and does `presses`.
    AnswerWhen(Arc<Notify>, Vec<Press>),
    /// Rings until the network gives up (480).
    NoAnswer,
    /// The line is busy (486).
    Busy,
}

/// One thing the callee does at a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    Key(char),
    Silence,
    /// Hangs up while the message plays.
    HangUp,
}

/// The handler the network invokes: the real voice-call handler.
pub type Handler =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>> + Send + Sync>;

/// One call as the network saw it.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    pub transaction_id: String,
    pub to: String,
    pub from: String,
    pub arguments: BTreeMap<String, String>,
    /// What was said, with the voice and language that said it.
    pub spoken: Vec<Spoken>,
    /// The event types the handler was invoked with, in order.
    pub events: Vec<String>,
    pub answered: bool,
    /// The SIP code of the hang-up, once ended.
    pub ended: Option<u16>,
    /// Handler failures (each one ends the call as AWS does: 480).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoken {
    pub text: String,
    pub voice_id: String,
    pub language: String,
}

#[derive(Default)]
struct State {
    /// SIP media applications by id, as CreateSipMediaApplication made them.
    applications: BTreeMap<String, Value>,
    scripts: BTreeMap<String, Script>,
    calls: Vec<CallRecord>,
    /// Update arguments waiting for a call's next step.
    updates: BTreeMap<String, VecDeque<BTreeMap<String, String>>>,
    handler: Option<Handler>,
    /// The next calls to place are refused with this (status, error code),
    /// as many times as the count says.
    refusals: Option<(StatusCode, &'static str, usize)>,
    refused: usize,
    /// The account's Chime SDK phone numbers (E.164, which is also their
    /// id) and each one's status; numbers not here are not the account's.
    numbers: BTreeMap<String, String>,
}

/// Service configuration that sends Chime SDK Voice to the network (the
/// per-service endpoint `AWS_ENDPOINT_URL_CHIME_SDK_VOICE`, as the SDK
/// reads it) and everything else where the environment says.
#[derive(Debug)]
pub struct VoiceEndpoint(pub String);

/// The variable the Chime SDK Voice client reads its endpoint from.
pub const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_CHIME_SDK_VOICE";

impl aws_types::service_config::LoadServiceConfig for VoiceEndpoint {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        // As the SDK's own loader: `<variable>_<SERVICE ID>`, then `<variable>`.
        let service = key
            .service_id()
            .to_ascii_uppercase()
            .replace([' ', '-'], "_");
        let specific = format!("{}_{service}", key.env());
        if specific == ENDPOINT_VARIABLE {
            return Some(self.0.clone());
        }
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        get(&specific).or_else(|| get(key.env()))
    }
}

/// The simulated network; dropping it stops the server.
pub struct PhoneNetwork {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PhoneNetwork {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl PhoneNetwork {
    pub async fn start() -> Result<Self, HarnessError> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| HarnessError::Emulator(format!("phone network: bind: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::Emulator(format!("phone network: {e}")))?;
        let mut initial = State::default();
        // The number local stacks with voice call from, as if ordered.
        initial
            .numbers
            .insert(crate::LOCAL_VOICE_FROM.to_string(), "Assigned".to_string());
        let state = Arc::new(Mutex::new(initial));
        let changed = Arc::new(Notify::new());
        let (shared, notify) = (Arc::clone(&state), Arc::clone(&changed));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, notify) = (Arc::clone(&shared), Arc::clone(&notify));
                tokio::spawn(async move {
                    let service =
                        service_fn(move |req| route(Arc::clone(&state), Arc::clone(&notify), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            endpoint: format!("http://{addr}"),
            state,
            changed,
            task,
        })
    }

    /// The next `times` CreateSipMediaApplicationCall requests are refused
    /// as Chime refuses them under load: `ThrottledClientException` (429)
    /// when `throttle`, else `ServiceFailureException` (500). No call is
    /// placed for them.
    pub fn refuse_calls(&self, throttle: bool, times: usize) {
        let (status, code) = if throttle {
            (StatusCode::TOO_MANY_REQUESTS, "ThrottledClientException")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "ServiceFailureException")
        };
        let mut s = lock(&self.state);
        s.refusals = Some((status, code, times));
        s.refused = 0;
    }

    /// How many calls were refused since [`PhoneNetwork::refuse_calls`].
    pub fn refused(&self) -> usize {
        lock(&self.state).refused
    }

    /// Sets a phone number's status in the account's inventory
    /// (`Assigned`, `ReleaseInProgress`, ...); `None` removes it.
    pub fn number_status(&self, number: &str, status: Option<&str>) {
        let mut s = lock(&self.state);
        match status {
            Some(status) => s.numbers.insert(number.to_string(), status.to_string()),
            None => s.numbers.remove(number),
        };
    }

    /// Connects the voice-call handler every call's events go to.
    pub fn connect(&self, handler: Handler) {
        lock(&self.state).handler = Some(handler);
    }

    /// What the phone at `number` does when called (default: no answer).
    pub fn script(&self, number: &str, script: Script) {
        lock(&self.state).scripts.insert(number.to_string(), script);
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        lock(&self.state).calls.clone()
    }

    pub fn calls_to(&self, number: &str) -> Vec<CallRecord> {
        self.calls()
            .into_iter()
            .filter(|c| c.to == number)
            .collect()
    }

    /// Waits until `n` calls to `number` have ended.
    pub async fn ended(
        &self,
        number: &str,
        n: usize,
        patience: Duration,
    ) -> Result<Vec<CallRecord>, HarnessError> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let calls = self.calls_to(number);
            if calls.iter().filter(|c| c.ended.is_some()).count() >= n {
                return Ok(calls);
            }
            if tokio::time::timeout_at(deadline, self.changed.notified())
                .await
                .is_err()
            {
                return Err(HarnessError::Emulator(format!(
                    "phone network: {n} ended calls to {number} did not come in time: {calls:#?}"
                )));
            }
        }
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// A modelled error, as restJson1 sends it: the type in a header.
fn error(status: StatusCode, kind: &str, message: &str) -> Reply {
    let mut r = reply(status, json!({"Code": kind, "Message": message}));
    if let Ok(v) = kind.parse() {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

async fn route(
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let authorization = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                &e.to_string(),
            ));
        }
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    Ok(match parts.as_slice() {
        ["sip-media-applications"] => {
            let id = uuid();
            let region = body["AwsRegion"]
                .as_str()
                .unwrap_or("us-east-1")
                .to_string();
            let lambda = body["Endpoints"][0]["LambdaArn"]
                .as_str()
                .unwrap_or_default();
            if lambda.is_empty() {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    "BadRequestException",
                    "Endpoints[0].LambdaArn is required",
                ));
            }
            let application = json!({
                "SipMediaApplicationId": id,
                "SipMediaApplicationArn": format!("arn:aws:chime:{region}:{}:sma/{id}", crate::stack::LOCAL_ACCOUNT),
                "AwsRegion": region,
                "Name": body["Name"],
                "Endpoints": body["Endpoints"],
            });
            lock(&state)
                .applications
                .insert(id.clone(), application.clone());
            reply(
                StatusCode::CREATED,
                json!({ "SipMediaApplication": application }),
            )
        }
        // GetPhoneNumber: the id is the E.164 number, percent-encoded.
        ["phone-numbers", id] if method == hyper::Method::GET => {
            let number = percent_encoding::percent_decode_str(id)
                .decode_utf8_lossy()
                .to_string();
            if let Some(denied) =
                judged(authorization.as_deref(), "chime:GetPhoneNumber", "*").await
            {
                return Ok(denied);
            }
            match lock(&state).numbers.get(&number) {
                Some(status) => reply(
                    StatusCode::OK,
                    json!({ "PhoneNumber": {
                        "PhoneNumberId": number,
                        "E164PhoneNumber": number,
                        "Type": "Local",
                        "ProductType": "SipMediaApplicationDialIn",
                        "Status": status,
                        "Capabilities": {
                            "InboundCall": true, "OutboundCall": true,
                            "InboundSMS": false, "OutboundSMS": false,
                            "InboundMMS": false, "OutboundMMS": false
                        },
                    }}),
                ),
                None => error(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    "the phone number does not exist",
                ),
            }
        }
        // GetSipMediaApplication (the custom resource reads back what it made).
        ["sip-media-applications", sma] if method == hyper::Method::GET => {
            match lock(&state).applications.get(*sma) {
                Some(application) => reply(
                    StatusCode::OK,
                    json!({ "SipMediaApplication": application }),
                ),
                None => error(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    "no such SIP media application",
                ),
            }
        }
        ["sip-media-applications", sma, "calls"] => {
            let Some(arn) = application_arn(&state, sma) else {
                return Ok(error(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    "no such SIP media application",
                ));
            };
            if let Some(denied) = judged(
                authorization.as_deref(),
                "chime:CreateSipMediaApplicationCall",
                &arn,
            )
            .await
            {
                return Ok(denied);
            }
            {
                let mut s = lock(&state);
                if let Some((status, code, left)) = s.refusals
                    && left > 0
                {
                    s.refusals = Some((status, code, left - 1));
                    s.refused += 1;
                    return Ok(error(status, code, "refused by the simulated network"));
                }
            }
            let (Some(to), Some(from)) = (
                body["ToPhoneNumber"].as_str(),
                body["FromPhoneNumber"].as_str(),
            ) else {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    "BadRequestException",
                    "ToPhoneNumber and FromPhoneNumber are required",
                ));
            };
            let arguments: BTreeMap<String, String> = body["ArgumentsMap"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let record = CallRecord {
                transaction_id: uuid(),
                to: to.to_string(),
                from: from.to_string(),
                arguments,
                ..CallRecord::default()
            };
            let id = record.transaction_id.clone();
            lock(&state).calls.push(record);
            tokio::spawn(run_call(
                Arc::clone(&state),
                changed,
                sma.to_string(),
                id.clone(),
            ));
            reply(
                StatusCode::CREATED,
                json!({"SipMediaApplicationCall": {"TransactionId": id}}),
            )
        }
        ["sip-media-applications", sma, "calls", transaction] => {
            if let Some(arn) = application_arn(&state, sma)
                && let Some(denied) = judged(
                    authorization.as_deref(),
                    "chime:UpdateSipMediaApplicationCall",
                    &arn,
                )
                .await
            {
                return Ok(denied);
            }
            let mut s = lock(&state);
            let live = s
                .calls
                .iter()
                .any(|c| c.transaction_id == *transaction && c.ended.is_none());
            if !live {
                return Ok(error(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    "the call has ended",
                ));
            }
            let args: BTreeMap<String, String> = body["Arguments"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            s.updates
                .entry(transaction.to_string())
                .or_default()
                .push_back(args);
            drop(s);
            changed.notify_waiters();
            reply(
                StatusCode::ACCEPTED,
                json!({"SipMediaApplicationCall": {"TransactionId": transaction}}),
            )
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            &format!("no route {path}"),
        ),
    })
}

fn application_arn(state: &Mutex<State>, sma: &str) -> Option<String> {
    lock(state)
        .applications
        .get(sma)
        .and_then(|a| a["SipMediaApplicationArn"].as_str())
        .map(str::to_string)
}

/// Chime SDK Voice's own authorization, which the emulator decides for
/// this stand-in from the caller's role (`POST /moto-api/klaxon/iam-judge`):
/// the AccessDenied answer when the role may not make this call.
async fn judged(authorization: Option<&str>, action: &str, resource: &str) -> Option<Reply> {
    let authorization = authorization?;
    let emulator = match crate::Emulator::from_env() {
        Ok(e) => e,
        Err(e) => {
            return Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceFailureException",
                &e.to_string(),
            ));
        }
    };
    match emulator.judge(authorization, action, resource).await {
        Ok(None) => None,
        Ok(Some(message)) => Some(error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            &message,
        )),
        Err(e) => Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceFailureException",
            &e.to_string(),
        )),
    }
}

fn uuid() -> String {
    let n: u128 = rand::random();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// One call, from placing to hang-up.
struct Line {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    sma: String,
    id: String,
    call_id: String,
    attributes: Value,
    sequence: u64,
    answered: bool,
}

impl Line {
    fn record(&self, f: impl FnOnce(&mut CallRecord)) {
        let mut s = lock(&self.state);
        if let Some(c) = s.calls.iter_mut().find(|c| c.transaction_id == self.id) {
            f(c);
        }
        drop(s);
        self.changed.notify_waiters();
    }

    fn take_update(&self) -> Option<BTreeMap<String, String>> {
        lock(&self.state).updates.get_mut(&self.id)?.pop_front()
    }

    /// Invokes the handler with one event; returns its actions. A failure
    /// is retried once, as the SIP media application does.
    async fn invoke(
        &mut self,
        kind: &str,
        action_data: Option<Value>,
    ) -> Result<Vec<Value>, String> {
        let (handler, call) = {
            let s = lock(&self.state);
            let call = s
                .calls
                .iter()
                .find(|c| c.transaction_id == self.id)
                .cloned()
                .unwrap_or_default();
            (s.handler.clone(), call)
        };
        let Some(handler) = handler else {
            // Nobody handles the calls: the phone just rings.
            return Ok(Vec::new());
        };
        self.sequence += 1;
        let mut event = json!({
            "SchemaVersion": "1.0",
            "Sequence": self.sequence,
            "InvocationEventType": kind,
            "CallDetails": {
                "TransactionId": self.id,
                "TransactionAttributes": self.attributes,
                "AwsAccountId": crate::stack::LOCAL_ACCOUNT,
                "AwsRegion": "us-east-1",
                "SipMediaApplicationId": self.sma,
                "Participants": [{
                    "CallId": self.call_id,
                    "ParticipantTag": "LEG-A",
                    "To": call.to,
                    "From": call.from,
                    "Direction": "Outbound",
                    "StartTimeInMilliseconds": "1763704800000",
                    "Status": if self.answered { "Connected" } else { "Disconnected" },
                }],
            },
        });
        if let Some(data) = action_data {
            event["ActionData"] = data;
        }
        self.record(|c| c.events.push(kind.to_string()));
        let mut last = String::new();
        for _ in 0..2 {
            match handler(event.clone()).await {
                Ok(response) => {
                    if let Some(attrs) = response.get("TransactionAttributes") {
                        self.attributes = attrs.clone();
                    }
                    return Ok(response["Actions"].as_array().cloned().unwrap_or_default());
                }
                Err(e) => last = e,
            }
        }
        self.record(|c| c.errors.push(format!("{kind}: {last}")));
        Err(last)
    }

    async fn hang_up(&mut self, code: u16) {
        let data = json!({"Type": "Hangup", "Parameters": {
            "SipResponseCode": code, "CallId": self.call_id, "ParticipantTag": "LEG-A"}});
        let _ = self.invoke("HANGUP", Some(data)).await;
        self.record(|c| c.ended = Some(code));
    }
}

async fn run_call(state: Arc<Mutex<State>>, changed: Arc<Notify>, sma: String, id: String) {
    let (to, arguments) = {
        let s = lock(&state);
        let c = s
            .calls
            .iter()
            .find(|c| c.transaction_id == id)
            .cloned()
            .unwrap_or_default();
        (c.to, c.arguments)
    };
    // An unscripted phone rings until the network gives up.
    let script = lock(&state)
        .scripts
        .get(&to)
        .cloned()
        .unwrap_or_else(|| Script::AnswerWhen(Arc::new(Notify::new()), Vec::new()));
    let mut line = Line {
        state,
        changed,
        sma,
        id,
        call_id: uuid(),
        attributes: json!({}),
        sequence: 0,
        answered: false,
    };
    let placed = json!({"Type": "CallAndBridge", "Parameters": {"Arguments": arguments}});
    if line
        .invoke("NEW_OUTBOUND_CALL", Some(placed))
        .await
        .is_err()
    {
        return line.hang_up(480).await;
    }
    let _ = line.invoke("RINGING", None).await;
    let presses = match script {
        Script::NoAnswer => return line.hang_up(480).await,
        Script::Busy => return line.hang_up(486).await,
        Script::Answer(presses) => presses,
        Script::AnswerWhen(gate, presses) => {
            // Rings until answered (the gate: `notify_one`), or until
            // Klaxon asks the call to end.
            let mut rung = 0;
            loop {
                if let Some(args) = line.take_update() {
                    let actions = line
                        .invoke("CALL_UPDATE_REQUESTED", Some(update_data(args)))
                        .await;
                    if hangs_up(&actions) {
                        return line.hang_up(487).await;
                    }
                }
                tokio::select! {
                    () = gate.notified() => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                rung += 1;
                if rung > 600 {
                    // A minute of ringing: the network gives up.
                    return line.hang_up(480).await;
                }
            }
            presses
        }
    };
    line.answered = true;
    line.record(|c| c.answered = true);
    let mut presses: VecDeque<Press> = presses.into();
    let Ok(mut actions) = line.invoke("CALL_ANSWERED", None).await else {
        return line.hang_up(0).await;
    };
    // Bounded, like the SIP media application's 1,000 invocations a call.
    for _ in 0..100 {
        if let Some(args) = line.take_update() {
            match line
                .invoke("CALL_UPDATE_REQUESTED", Some(update_data(args)))
                .await
            {
                Ok(a) => actions = a,
                Err(_) => return line.hang_up(0).await,
            }
        }
        let mut next = None;
        for action in &actions {
            let params = &action["Parameters"];
            match action["Type"].as_str().unwrap_or_default() {
                "Speak" => line.record(|c| c.spoken.push(spoken(params))),
                "SpeakAndGetDigits" => {
                    line.record(|c| c.spoken.push(spoken(&params["SpeechParameters"])));
                    let data = match presses.pop_front().unwrap_or(Press::Silence) {
                        Press::HangUp => return line.hang_up(0).await,
                        Press::Key(k) => (
                            "ACTION_SUCCESSFUL",
                            json!({
                            "Type": "SpeakAndGetDigits", "Parameters": params, "ReceivedDigits": k.to_string()}),
                        ),
                        Press::Silence => (
                            "ACTION_FAILED",
                            json!({
                            "Type": "SpeakAndGetDigits", "Parameters": params,
                            "ErrorType": "InvalidDigitsReceived", "ErrorMessage": "no digits"}),
                        ),
                    };
                    next = Some(data);
                    break;
                }
                "Hangup" => return line.hang_up(0).await,
                _ => {}
            }
        }
        let (kind, data) = match next {
            Some(n) => n,
            None => match actions.last() {
                Some(last) => (
                    "ACTION_SUCCESSFUL",
                    json!({"Type": last["Type"], "Parameters": last["Parameters"]}),
                ),
                // Nothing more to do: the callee hangs up.
                None => return line.hang_up(0).await,
            },
        };
        match line.invoke(kind, Some(data)).await {
            Ok(a) if a.is_empty() && kind == "ACTION_SUCCESSFUL" && next_is_silent(&actions) => {
                return line.hang_up(0).await;
            }
            Ok(a) => actions = a,
            Err(_) => return line.hang_up(0).await,
        }
    }
    line.hang_up(0).await
}

fn next_is_silent(actions: &[Value]) -> bool {
    !actions.iter().any(|a| a["Type"] == "SpeakAndGetDigits")
}

fn hangs_up(actions: &Result<Vec<Value>, String>) -> bool {
    match actions {
        Ok(a) => a.iter().any(|x| x["Type"] == "Hangup"),
        Err(_) => true,
    }
}

fn update_data(args: BTreeMap<String, String>) -> Value {
    json!({"Type": "CallUpdateRequest", "Parameters": {"Arguments": args}})
}

fn spoken(params: &Value) -> Spoken {
    let s = |k: &str| params[k].as_str().unwrap_or_default().to_string();
    Spoken {
        text: s("Text"),
        voice_id: s("VoiceId"),
        language: s("LanguageCode"),
    }
}
