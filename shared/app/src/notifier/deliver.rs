//! One delivery to one destination, and what came of it.

use serde_json::Value;

use super::{Notifier, NotifierPorts, updates_in_place};
use klaxon_config::NotificationSpec;
use klaxon_core::events::{BusEvent, IncidentSummary};
use klaxon_core::incident_manager::{MirrorAction, action};
use klaxon_core::notifications::{email, slack, teams, webhook};
use klaxon_core::secrets::SecretRef;
use klaxon_ports::{
    BackendError, EmailSender, Endpoints, HttpFailure, HttpRequest, IncidentManager, SecretError,
    Secrets,
};

/// Slack's Web API.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// What came of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        status: Option<u16>,
        attempts: u32,
        /// A Slack message's `ts`, an Incident Manager record's ARN: what
        /// later deliveries to the same destination refer to.
        reference: Option<String>,
    },
    /// Failed for good (a refusal, or retries used up).
    Failed {
        status: Option<u16>,
        attempts: u32,
        error: String,
    },
    /// Failed in a way a later try of the batch can fix.
    Retry(String),
    /// Nothing to tell this destination.
    Skipped,
}

impl Outcome {
    fn from_http(failure: HttpFailure) -> Self {
        Self::Failed {
            status: failure.status,
            attempts: failure.attempts,
            error: failure.error,
        }
    }

    fn from_secret(error: SecretError) -> Self {
        if error.retryable() {
            Self::Retry(error.to_string())
        } else {
            Self::Failed {
                status: None,
                attempts: 0,
                error: error.to_string(),
            }
        }
    }

    fn from_backend(error: BackendError, attempts: u32) -> Self {
        if error.retryable {
            Self::Retry(error.to_string())
        } else {
            Self::Failed {
                status: None,
                attempts,
                error: error.to_string(),
            }
        }
    }
}

/// A secret the destination needs (validated to be there by the
/// configuration's checks).
fn needed<'s>(secret: &'s Option<SecretRef>, field: &str) -> Result<&'s SecretRef, Outcome> {
    secret.as_ref().ok_or_else(|| Outcome::Failed {
        status: None,
        attempts: 0,
        error: format!("the destination has no {field}"),
    })
}

fn json_body(value: &Value) -> Vec<u8> {
    // A `Value` always serializes.
    serde_json::to_vec(value).unwrap_or_default()
}

impl<P: NotifierPorts> Notifier<'_, P> {
    async fn secret(&self, secret: &Option<SecretRef>, field: &str) -> Result<String, Outcome> {
        let secret = needed(secret, field)?;
        self.secrets.get(secret).await.map_err(Outcome::from_secret)
    }

    /// Slack through the Web API: the incident's one message, posted once
    /// and rewritten with its current state, later events in its thread.
    pub(super) async fn slack(
        &self,
        spec: &NotificationSpec,
        event: &BusEvent,
        incident: &IncidentSummary,
        paging: &[String],
        posted: Option<String>,
    ) -> Outcome {
        let token = match self.secret(&spec.token, "token").await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        let channel = spec.channel.clone().unwrap_or_default();
        let mut attempts = 0;
        let mut call =
            async |method: &str, mut body: Value| -> Result<(u16, Option<String>), Outcome> {
                body["channel"] = Value::String(channel.clone());
                let request = HttpRequest {
                    url: format!("{}/{method}", self.slack_api.trim_end_matches('/')),
                    headers: vec![("Authorization".into(), format!("Bearer {token}"))],
                    body: json_body(&body),
                };
                let answer = self.endpoints.post(&request).await;
                match answer {
                    Ok(delivered) => {
                        attempts += delivered.attempts;
                        match slack::api_answer(&delivered.body) {
                            slack::ApiAnswer::Ok { ts } => Ok((delivered.status, ts)),
                            slack::ApiAnswer::Refused { error, retryable } => Err(if retryable {
                                Outcome::Retry(format!("Slack {method}: {error}"))
                            } else {
                                Outcome::Failed {
                                    status: Some(delivered.status),
                                    attempts,
                                    error: format!("Slack {method} refused: {error}"),
                                }
                            }),
                        }
                    }
                    Err(failure) => {
                        attempts += failure.attempts;
                        Err(Outcome::from_http(HttpFailure {
                            attempts,
                            ..failure
                        }))
                    }
                }
            };
        let message = slack::incident_message(incident, paging);
        let result = match posted {
            None => {
                // The first delivery posts the message, whatever the event.
                match call("chat.postMessage", message).await {
                    Ok((status, Some(ts))) if !updates_in_place(event.detail_type) => {
                        let mut reply = slack::thread_reply(event);
                        reply["thread_ts"] = Value::String(ts.clone());
                        if let Err(outcome) = call("chat.postMessage", reply).await {
                            // The message is up (and shows the incident as
                            // it is now): a lost reply is not worth a
                            // second message on a retry.
                            tracing::warn!(
                                ?outcome,
                                "the thread reply under a new Slack message failed"
                            );
                        }
                        Ok((status, Some(ts)))
                    }
                    other => other,
                }
            }
            Some(ts) if updates_in_place(event.detail_type) => {
                let mut update = message;
                update["ts"] = Value::String(ts);
                call("chat.update", update).await.map(|(s, _)| (s, None))
            }
            Some(ts) => {
                let mut reply = slack::thread_reply(event);
                reply["thread_ts"] = Value::String(ts);
                call("chat.postMessage", reply)
                    .await
                    .map(|(s, _)| (s, None))
            }
        };
        match result {
            Ok((status, reference)) => Outcome::Delivered {
                status: Some(status),
                attempts,
                reference,
            },
            Err(outcome) => outcome,
        }
    }

    /// Slack incoming webhooks, Teams workflows and signed webhooks: one
    /// POST per event to a URL that is itself a secret.
    pub(super) async fn hook(
        &self,
        spec: &NotificationSpec,
        event: &BusEvent,
        incident: &IncidentSummary,
        paging: &[String],
    ) -> Outcome {
        let url = match self.secret(&spec.url, "url").await {
            Ok(u) => u,
            Err(outcome) => return outcome,
        };
        let mut headers = Vec::new();
        let body = match spec.kind {
            klaxon_core::notifications::DestinationKind::SlackWebhook => {
                json_body(&slack::webhook_message(event, incident, paging))
            }
            klaxon_core::notifications::DestinationKind::Teams => {
                json_body(&teams::message(event, incident, paging))
            }
            _ => {
                let key = match self.secret(&spec.signing_key, "signing_key").await {
                    Ok(k) => k,
                    Err(outcome) => return outcome,
                };
                let (body, signed) =
                    webhook::signed(event, key.as_bytes(), self.clock.now().as_second());
                headers = signed;
                body
            }
        };
        let request = HttpRequest { url, headers, body };
        match self.endpoints.post(&request).await {
            Ok(delivered) => Outcome::Delivered {
                status: Some(delivered.status),
                attempts: delivered.attempts,
                reference: None,
            },
            Err(failure) => Outcome::from_http(failure),
        }
    }

    /// A stakeholder list, through SES: one email per address.
    pub(super) async fn mail(
        &self,
        spec: &NotificationSpec,
        event: &BusEvent,
        incident: &IncidentSummary,
    ) -> Outcome {
        let (subject, body) = email::message(event, incident);
        for to in &spec.to {
            if let Err(e) = self.email.send_email(to, &subject, &body).await {
                return Outcome::from_backend(e, 1);
            }
        }
        Outcome::Delivered {
            status: None,
            attempts: 1,
            reference: None,
        }
    }

    /// The service's Incident Manager record: started on open (or on the
    /// first event that finds none: starting is idempotent by client
    /// token), told of each change, resolved on resolve.
    pub(super) async fn incident_manager(
        &self,
        response_plan_arn: &str,
        event: &BusEvent,
        incident: &IncidentSummary,
        record: Option<String>,
    ) -> Outcome {
        let to_do = action(event);
        if let MirrorAction::Skip { .. } = to_do {
            return Outcome::Skipped;
        }
        let (record, started) = match record {
            Some(arn) if to_do != MirrorAction::Start => (arn, false),
            _ => match self
                .incident_manager
                .start(response_plan_arn, incident, &incident.alarm_arn)
                .await
            {
                Ok(arn) => (arn, true),
                Err(e) => return Outcome::from_backend(e, 1),
            },
        };
        let done = match to_do {
            MirrorAction::Timeline { .. } => {
                self.incident_manager
                    .add_timeline_event(&record, event)
                    .await
            }
            MirrorAction::Resolve => self.incident_manager.resolve(&record).await,
            MirrorAction::Start | MirrorAction::Skip { .. } => Ok(()),
        };
        match done {
            Ok(()) => Outcome::Delivered {
                status: None,
                attempts: 1,
                reference: started.then_some(record),
            },
            Err(e) => Outcome::from_backend(e, 1),
        }
    }
}
