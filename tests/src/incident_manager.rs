//! A stand-in for AWS Systems Manager Incident Manager's API, which the
//! emulator lacks, at its HTTP boundary: the real SDK client of Klaxon's
//! mirror (`klaxon_incident_manager`) is pointed here.
//!
//! It serves the three operations the mirror makes (`StartIncident`,
//! `CreateTimelineEvent`, `UpdateIncidentRecord`) with Incident Manager's
//! idempotency (one record per client token), and asks the emulator to
//! judge each call from the role that signed it (`iam-judge`), answering
//! AccessDenied as Incident Manager does when the role may not make it.
//! `StartIncident` also judges what Incident Manager itself does next with
//! the caller's forward access session for a plan that engages contacts
//! and creates an OpsItem (`ssm-contacts:StartEngagement`,
//! `ssm:CreateOpsItem`, with `aws:CalledViaFirst` set to Incident
//! Manager); those verdicts are recorded for the tests to read.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{Emulator, HarnessError};

/// Incident Manager's service principal, as `aws:CalledViaFirst` names it.
pub const CALLED_VIA: &str = "ssm-incidents.amazonaws.com";

/// One call the stand-in received or made on the caller's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub action: String,
    pub resource: String,
    /// `None` when allowed, else IAM's message.
    pub denied: Option<String>,
}

#[derive(Default)]
struct State {
    /// Client token → incident record ARN.
    records: BTreeMap<String, String>,
    judged: Vec<Judged>,
    /// (operation, request body) in the order received, allowed ones only.
    requests: Vec<(String, Value)>,
}

/// The stand-in server; dropping it stops it.
pub struct IncidentManagerStandIn {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for IncidentManagerStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl IncidentManagerStandIn {
    pub async fn start() -> Result<Self, HarnessError> {
        let emulator = Arc::new(Emulator::from_env()?);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::Emulator(format!("incident manager stand-in: {e}")))?;
        let endpoint = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|e| HarnessError::Emulator(e.to_string()))?
        );
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                let emulator = Arc::clone(&emulator);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        handle(req, Arc::clone(&state), Arc::clone(&emulator))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Self {
            endpoint,
            state,
            task,
        })
    }

    /// An Incident Manager client of `sdk` (its credentials), pointed here.
    pub fn client(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_ssmincidents::Client {
        aws_sdk_ssmincidents::Client::from_conf(
            aws_sdk_ssmincidents::config::Builder::from(sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// Every call judged so far, oldest first.
    pub fn judged(&self) -> Vec<Judged> {
        lock(&self.state).judged.clone()
    }

    /// The allowed requests so far: (operation, body).
    pub fn requests(&self) -> Vec<(String, Value)> {
        lock(&self.state).requests.clone()
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn answer(status: u16, error: Option<&str>, body: Value) -> Response<String> {
    let mut r = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(kind) = error {
        r = r.header("x-amzn-errortype", kind);
    }
    r.body(body.to_string())
        .unwrap_or_else(|_| Response::new(String::new()))
}

async fn judge(
    emulator: &Emulator,
    state: &Mutex<State>,
    authorization: &str,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> Result<Option<String>, HarnessError> {
    let denied = emulator
        .judge_in(authorization, action, resource, context)
        .await?;
    lock(state).judged.push(Judged {
        action: action.into(),
        resource: resource.into(),
        denied: denied.clone(),
    });
    Ok(denied)
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    emulator: Arc<Emulator>,
) -> Result<Response<String>, Infallible> {
    let operation = req.uri().path().trim_start_matches('/').to_string();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = match req.into_body().collect().await {
        Ok(bytes) => serde_json::from_slice(&bytes.to_bytes()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_string();
    let (action, resource) = match operation.as_str() {
        "startIncident" => ("ssm-incidents:StartIncident", text("responsePlanArn")),
        "createTimelineEvent" => (
            "ssm-incidents:CreateTimelineEvent",
            text("incidentRecordArn"),
        ),
        "updateIncidentRecord" => ("ssm-incidents:UpdateIncidentRecord", text("arn")),
        _ => {
            return Ok(answer(
                404,
                Some("ValidationException"),
                json!({"message": format!("the stand-in does not serve /{operation}")}),
            ));
        }
    };
    if resource.is_empty() {
        return Ok(answer(
            400,
            Some("ValidationException"),
            json!({"message": format!("{operation}: no resource ARN")}),
        ));
    }
    match judge(&emulator, &state, &authorization, action, &resource, &[]).await {
        Ok(None) => {}
        Ok(Some(message)) => {
            return Ok(answer(
                403,
                Some("AccessDeniedException"),
                json!({"message": message}),
            ));
        }
        Err(e) => {
            return Ok(answer(
                500,
                Some("InternalServerException"),
                json!({"message": e.to_string()}),
            ));
        }
    }
    let reply = match operation.as_str() {
        "startIncident" => {
            // What Incident Manager does next as the caller (forward access).
            let parts: Vec<&str> = resource.split(':').collect();
            let account = parts.get(4).copied().unwrap_or_default();
            let contact = format!("arn:aws:ssm-contacts:us-east-1:{account}:contact/on-call");
            for (forwarded, on) in [
                ("ssm-contacts:StartEngagement", contact.as_str()),
                ("ssm:CreateOpsItem", "*"),
            ] {
                let via = [("aws:CalledViaFirst", CALLED_VIA)];
                if let Err(e) = judge(&emulator, &state, &authorization, forwarded, on, &via).await
                {
                    return Ok(answer(
                        500,
                        Some("InternalServerException"),
                        json!({"message": e.to_string()}),
                    ));
                }
            }
            let token = text("clientToken");
            let plan = resource.rsplit('/').next().unwrap_or("plan").to_string();
            let mut s = lock(&state);
            let n = s.records.len() + 1;
            let record = s
                .records
                .entry(token)
                .or_insert_with(|| {
                    format!("arn:aws:ssm-incidents::{account}:incident-record/{plan}/{n:08}")
                })
                .clone();
            json!({"incidentRecordArn": record})
        }
        "createTimelineEvent" => {
            json!({"incidentRecordArn": resource, "eventId": text("clientToken")})
        }
        _ => json!({}),
    };
    lock(&state).requests.push((operation, body));
    Ok(answer(200, None, reply))
}
