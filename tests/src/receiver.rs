//! A local HTTP server standing in for Slack, Microsoft Teams and users'
//! webhooks: it records every request, answers from a per-path script
//! (a status, a `Retry-After`, or hanging past the client's timeout),
//! checks webhook signatures, and plays Slack's Web API
//! (`chat.postMessage`, `chat.update`) well enough to see what a channel
//! shows.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use klaxon_core::notifications::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use klaxon_core::signature::{TOLERANCE_SECS, verify};
use serde_json::{Value, json};

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Timestamp,
    /// Whether its webhook signature verified, when a signing key is set
    /// (a request without one does not verify).
    pub verified: Option<bool>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// How the receiver answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Status {
        status: u16,
        body: String,
        /// A `Retry-After` header (seconds, or an HTTP date).
        retry_after: Option<String>,
    },
    /// No answer for this long (then a 200): longer than the client's
    /// timeout, the client gives up first.
    Hang(Duration),
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            body: String::new(),
            retry_after: None,
        }
    }

    pub fn ok(body: &str) -> Self {
        Self::Status {
            status: 200,
            body: body.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(status: u16, seconds: u64) -> Self {
        Self::Status {
            status,
            body: String::new(),
            retry_after: Some(seconds.to_string()),
        }
    }
}

/// A message in the Slack stand-in, as the channel shows it now.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    pub ts: String,
    pub text: Option<String>,
    pub blocks: Option<Value>,
    /// Replies in its thread, oldest first (empty for a reply).
    pub replies: Vec<SlackMessage>,
}

#[derive(Default)]
struct State {
    requests: Vec<Received>,
    scripts: HashMap<String, VecDeque<Answer>>,
    fallback: HashMap<String, Answer>,
    signing_key: Option<Vec<u8>>,
    slack_token: Option<String>,
    slack: BTreeMap<String, Vec<SlackMessage>>,
    next_ts: u64,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on 127.0.0.1, on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| serve(Arc::clone(&state), req));
                    if let Err(e) = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::debug!(error = %e, "receiver connection ended");
                    }
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next answers on `path`, in order (then its fallback).
    pub fn script(&self, path: &str, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.state)
            .scripts
            .entry(path.to_string())
            .or_default()
            .extend(answers);
    }

    /// What `path` answers once its script is used up (unscripted paths
    /// answer `200 ok`, or as Slack under `/api/`).
    pub fn always(&self, path: &str, answer: Answer) {
        lock(&self.state).fallback.insert(path.to_string(), answer);
    }

    /// Checks every request's webhook signature with `key` from now on.
    pub fn verify_signatures(&self, key: &[u8]) {
        lock(&self.state).signing_key = Some(key.to_vec());
    }

    /// The bot token the Slack stand-in accepts.
    pub fn slack_token(&self, token: &str) {
        lock(&self.state).slack_token = Some(token.to_string());
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Received> {
        lock(&self.state).requests.clone()
    }

    /// The requests received on `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The Slack channel's messages (thread parents, oldest first, each
    /// with its replies).
    pub fn slack_messages(&self, channel: &str) -> Vec<SlackMessage> {
        lock(&self.state)
            .slack
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let received = Received {
        path: parts.uri.path().to_string(),
        headers,
        body,
        at: Timestamp::now(),
        verified: None,
    };
    let answer = handle(&mut lock(&state), received);
    Ok(respond(answer).await)
}

/// Records the request and decides the answer.
fn handle(state: &mut State, mut received: Received) -> Answer {
    received.verified = state
        .signing_key
        .as_deref()
        .map(|key| signature_verifies(key, &received));
    let path = received.path.clone();
    let scripted = state
        .scripts
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .or_else(|| state.fallback.get(&path).cloned());
    let answer = scripted.unwrap_or_else(|| match path.as_str() {
        "/api/chat.postMessage" => slack_answer(slack_post(state, &received)),
        "/api/chat.update" => slack_answer(slack_update(state, &received)),
        _ => Answer::ok("ok"),
    });
    state.requests.push(received);
    answer
}

fn signature_verifies(key: &[u8], r: &Received) -> bool {
    let (Some(timestamp), Some(signature)) =
        (r.header(TIMESTAMP_HEADER), r.header(SIGNATURE_HEADER))
    else {
        return false;
    };
    let Ok(timestamp) = timestamp.parse::<i64>() else {
        return false;
    };
    verify(
        key,
        timestamp,
        &r.body,
        signature,
        Timestamp::now().as_second(),
        TOLERANCE_SECS,
    )
    .is_ok()
}

/// Slack answers 200 with `ok` in the body, even for errors.
fn slack_answer(body: Value) -> Answer {
    Answer::ok(&body.to_string())
}

fn slack_error(error: &str) -> Value {
    json!({"ok": false, "error": error})
}

/// The request's JSON, when its bearer token is the one Slack accepts.
fn slack_call(state: &State, r: &Received) -> Result<Value, Value> {
    let token = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    if token.is_none() || token != state.slack_token.as_deref() {
        return Err(slack_error("invalid_auth"));
    }
    r.json().ok_or_else(|| slack_error("invalid_json"))
}

fn slack_post(state: &mut State, r: &Received) -> Value {
    let call = match slack_call(state, r) {
        Ok(call) => call,
        Err(e) => return e,
    };
    let Some(channel) = call["channel"].as_str().map(str::to_string) else {
        return slack_error("channel_not_found");
    };
    state.next_ts += 1;
    let ts = format!("1700000000.{:06}", state.next_ts);
    let message = SlackMessage {
        ts: ts.clone(),
        text: call["text"].as_str().map(str::to_string),
        blocks: call.get("blocks").cloned(),
        replies: Vec::new(),
    };
    let messages = state.slack.entry(channel.clone()).or_default();
    match call["thread_ts"].as_str() {
        Some(parent) => match messages.iter_mut().find(|m| m.ts == parent) {
            Some(parent) => parent.replies.push(message),
            None => return slack_error("thread_not_found"),
        },
        None => messages.push(message),
    }
    json!({"ok": true, "channel": channel, "ts": ts})
}

fn slack_update(state: &mut State, r: &Received) -> Value {
    let call = match slack_call(state, r) {
        Ok(call) => call,
        Err(e) => return e,
    };
    let (Some(channel), Some(ts)) = (call["channel"].as_str(), call["ts"].as_str()) else {
        return slack_error("message_not_found");
    };
    let message = state
        .slack
        .get_mut(channel)
        .and_then(|messages| find_message(messages, ts));
    let Some(message) = message else {
        return slack_error("message_not_found");
    };
    if let Some(text) = call["text"].as_str() {
        message.text = Some(text.to_string());
    }
    if let Some(blocks) = call.get("blocks") {
        message.blocks = Some(blocks.clone());
    }
    json!({"ok": true, "channel": channel, "ts": ts})
}

/// A message or a thread reply, by its `ts`.
fn find_message<'a>(messages: &'a mut [SlackMessage], ts: &str) -> Option<&'a mut SlackMessage> {
    for m in messages.iter_mut() {
        if m.ts == ts {
            return Some(m);
        }
        if let Some(reply) = m.replies.iter_mut().find(|r| r.ts == ts) {
            return Some(reply);
        }
    }
    None
}

async fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let (status, body, retry_after) = match answer {
        Answer::Status {
            status,
            body,
            retry_after,
        } => (status, body, retry_after),
        Answer::Hang(duration) => {
            tokio::time::sleep(duration).await;
            (200, "late".to_string(), None)
        }
    };
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(after) = retry_after {
        response = response.header("retry-after", after);
    }
    response
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from(body))))
}

#[cfg(test)]
mod tests {
    use klaxon_core::signature::sign;

    use super::*;

    async fn post(
        r: &Receiver,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Option<String>, String) {
        let mut req = crate::http_client()
            .post(r.url(path))
            .body(body.to_string());
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        (status, after, res.text().await.unwrap())
    }

    #[tokio::test]
    async fn requests_are_recorded_and_answered_from_the_script_then_the_fallback() {
        let r = Receiver::start().await.unwrap();
        r.script("/hook", [Answer::retry_after(429, 3), Answer::status(500)]);
        r.always("/hook", Answer::status(404));
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(post(&r, "/hook", &[("x-test", "1")], "{}").await);
        }
        assert_eq!(answers[0].0, 429);
        assert_eq!(answers[0].1.as_deref(), Some("3"));
        assert_eq!(answers[1].0, 500);
        assert_eq!(answers[2].0, 404);
        assert_eq!(post(&r, "/other", &[], "x").await.0, 200);
        let hook = r.requests_to("/hook");
        assert_eq!(hook.len(), 3);
        assert_eq!(hook[0].header("X-Test"), Some("1"));
        assert_eq!(hook[0].body, b"{}");
        assert_eq!(hook[0].verified, None, "no key set");
    }

    #[tokio::test]
    async fn a_signed_request_verifies_and_a_tampered_or_unsigned_one_does_not() {
        let r = Receiver::start().await.unwrap();
        r.verify_signatures(b"key");
        let now = Timestamp::now().as_second();
        let body = r#"{"id":"e1"}"#;
        let signature = sign(b"key", now, body.as_bytes());
        let ts = now.to_string();
        let signed = [
            (TIMESTAMP_HEADER, ts.as_str()),
            (SIGNATURE_HEADER, signature.as_str()),
        ];
        post(&r, "/hook", &signed, body).await;
        post(&r, "/hook", &signed, r#"{"id":"e2"}"#).await;
        post(&r, "/hook", &[], body).await;
        let verified: Vec<Option<bool>> = r.requests().iter().map(|x| x.verified).collect();
        assert_eq!(verified, vec![Some(true), Some(false), Some(false)]);
    }

    #[tokio::test]
    async fn slack_posts_thread_replies_and_updates_in_place() {
        let r = Receiver::start().await.unwrap();
        r.slack_token("xoxb-good");
        let auth = [("authorization", "Bearer xoxb-good")];
        let (status, _, answer) = post(
            &r,
            "/api/chat.postMessage",
            &auth,
            r#"{"channel":"C1","text":"SEV2 opened","blocks":[{"type":"section"}]}"#,
        )
        .await;
        assert_eq!(status, 200);
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["ok"], true);
        assert_eq!(answer["channel"], "C1");
        let ts = answer["ts"].as_str().unwrap().to_string();
        let reply = json!({"channel": "C1", "text": "paged Aiko", "thread_ts": ts}).to_string();
        let (_, _, second) = post(&r, "/api/chat.postMessage", &auth, &reply).await;
        let second: Value = serde_json::from_str(&second).unwrap();
        assert!(
            second["ts"].as_str().unwrap() > ts.as_str(),
            "increasing ts"
        );
        let update = json!({"channel": "C1", "ts": ts, "text": "SEV2 resolved"}).to_string();
        let (_, _, updated) = post(&r, "/api/chat.update", &auth, &update).await;
        assert_eq!(serde_json::from_str::<Value>(&updated).unwrap()["ok"], true);

        let channel = r.slack_messages("C1");
        assert_eq!(channel.len(), 1, "one parent message");
        assert_eq!(channel[0].text.as_deref(), Some("SEV2 resolved"));
        assert_eq!(channel[0].blocks, Some(json!([{"type": "section"}])));
        assert_eq!(channel[0].replies.len(), 1);
        assert_eq!(channel[0].replies[0].text.as_deref(), Some("paged Aiko"));
    }

    #[tokio::test]
    async fn slack_refuses_a_wrong_token_and_an_unknown_message_with_http_200() {
        let r = Receiver::start().await.unwrap();
        r.slack_token("xoxb-good");
        let body = r#"{"channel":"C1","text":"x"}"#;
        let (status, _, answer) = post(
            &r,
            "/api/chat.postMessage",
            &[("authorization", "Bearer xoxb-bad")],
            body,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            serde_json::from_str::<Value>(&answer).unwrap(),
            json!({"ok": false, "error": "invalid_auth"})
        );
        let (_, _, answer) = post(
            &r,
            "/api/chat.update",
            &[("authorization", "Bearer xoxb-good")],
            r#"{"channel":"C1","ts":"1.0","text":"y"}"#,
        )
        .await;
        assert_eq!(
            serde_json::from_str::<Value>(&answer).unwrap(),
            json!({"ok": false, "error": "message_not_found"})
        );
        assert!(r.slack_messages("C1").is_empty());
    }
}
