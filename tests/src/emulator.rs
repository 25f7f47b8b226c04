//! What only the local emulator can tell: the SMS "sent" and its switches.
//! Works with moto (the default) and LocalStack, whichever
//! `AWS_ENDPOINT_URL` points at.

use serde::Deserialize;
use serde_json::Value;

use crate::HarnessError;

/// One SMS the emulator accepted through SNS `Publish`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentSms {
    pub message_id: String,
    pub phone_number: String,
    pub message: String,
}

/// The emulator behind `AWS_ENDPOINT_URL`.
/// An email the emulator accepted (moto's SES v2 `SendEmail` record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub message_id: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Emulator {
    pub endpoint: String,
    http: reqwest::Client,
}

fn http_err(context: &str, e: impl std::fmt::Display) -> HarnessError {
    HarnessError::Emulator(format!("{context}: {e}"))
}

impl Emulator {
    /// The emulator named by `AWS_ENDPOINT_URL`. Without it, the harness
    /// refuses to run rather than touch a real account.
    pub fn from_env() -> Result<Self, HarnessError> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
            HarnessError::Emulator(
                "AWS_ENDPOINT_URL is not set: start the emulator with `scripts/local-aws.sh start` \
                 and `source .klaxon/env`"
                    .into(),
            )
        })?;
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            http: crate::http_client(),
        })
    }

    /// Lets moto's Step Functions really execute state machines. Harmless
    /// elsewhere (LocalStack executes them anyway).
    pub async fn enable_step_functions(&self) -> Result<(), HarnessError> {
        let url = format!("{}/moto-api/config", self.endpoint);
        let body = serde_json::json!({"stepfunctions": {"execute_state_machine": true}});
        match self.http.post(&url).json(&body).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(http_err("enabling Step Functions execution", e)),
        }
    }

    /// Whether the emulator is moto (it answers on `/moto-api/`).
    async fn is_moto(&self) -> bool {
        let url = format!("{}/moto-api/", self.endpoint);
        matches!(self.http.get(&url).send().await, Ok(r) if r.status().is_success())
    }

    /// Every SMS sent so far.
    pub async fn sms_sent(&self) -> Result<Vec<SentSms>, HarnessError> {
        if self.is_moto().await {
            self.moto_sms().await
        } else {
            self.localstack_sms().await
        }
    }

    /// moto lists SMS in its state dump. Serialising that dump can fail
    /// while other requests change the state; a later read succeeds.
    /// moto's whole state (`/moto-api/data.json`), retried: a read that
    /// races a mutation can fail.
    async fn moto_state(&self) -> Result<Value, HarnessError> {
        // Only SNS and SES: `scripts/moto_server.py` then skips every other
        // service's objects (another moto ignores the filter).
        let url = format!(
            "{}/moto-api/data.json?service=sns&service=ses",
            self.endpoint
        );
        let mut last = String::new();
        for _ in 0..10 {
            match self.http.get(&url).send().await {
                Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                    Ok(v) => return Ok(v),
                    Err(e) => last = e.to_string(),
                },
                Ok(r) => last = format!("HTTP {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(http_err("reading moto state", last))
    }

    async fn moto_sms(&self) -> Result<Vec<SentSms>, HarnessError> {
        let data = self.moto_state().await?;
        let sms = data
            .pointer("/sns/SMS")
            .cloned()
            .unwrap_or(Value::Array(vec![]));
        serde_json::from_value(sms).map_err(|e| http_err("moto SMS list", e))
    }

    /// Every email sent through SES (moto only).
    pub async fn emails_sent(&self) -> Result<Vec<SentEmail>, HarnessError> {
        let data = self.moto_state().await?;
        let text = |m: &Value, k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(data
            .pointer("/ses/Message")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| SentEmail {
                message_id: text(m, "id"),
                to: m
                    .pointer("/destinations/ToAddresses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                subject: text(m, "subject"),
                body: text(m, "body"),
            })
            .collect())
    }

    pub async fn emails_to(&self, address: &str) -> Result<Vec<SentEmail>, HarnessError> {
        Ok(self
            .emails_sent()
            .await?
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect())
    }

    /// LocalStack keeps SMS at its own internal endpoint.
    async fn localstack_sms(&self) -> Result<Vec<SentSms>, HarnessError> {
        let localstack = format!("{}/_aws/sns/sms-messages", self.endpoint);
        let data: Value = self
            .http
            .get(&localstack)
            .send()
            .await
            .map_err(|e| http_err("reading LocalStack SMS", e))?
            .json()
            .await
            .map_err(|e| http_err("LocalStack SMS", e))?;
        let mut out = Vec::new();
        for (_region, by_number) in data
            .get("sms_messages")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for (number, messages) in by_number.as_object().into_iter().flatten() {
                for m in messages.as_array().into_iter().flatten() {
                    out.push(SentSms {
                        message_id: m
                            .get("MessageId")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        phone_number: number.clone(),
                        message: m
                            .get("Message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The calls the emulator judged against `role` (an execution role's
    /// ARN), oldest first: each with the IAM action, the resource and
    /// whether the role allowed it (`scripts/moto_ext/iam.py`).
    pub async fn iam_calls(&self, role: &str) -> Result<Vec<IamCall>, HarnessError> {
        // An ARN's characters (`:`, `/`, `-`) need no escaping in a query.
        let url = format!("{}/moto-api/klaxon/iam-calls?role={role}", self.endpoint);
        let answer = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{url}: {e}")))?;
        let body: IamCalls = answer
            .json()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{url}: {e}")))?;
        Ok(body.calls)
    }

    /// Fails the next `times` calls Step Functions' executor makes itself
    /// to `service`'s `operation` whose request contains `contains` (a
    /// queue's name), with HTTP `status`, before they reach the service
    /// (`scripts/moto_ext/faults.py`). Returns the fault's id.
    pub async fn fail_integration(
        &self,
        service: &str,
        operation: &str,
        contains: &str,
        status: u16,
        times: usize,
    ) -> Result<u64, HarnessError> {
        let url = format!("{}/moto-api/klaxon/integration-faults", self.endpoint);
        let answer = self
            .http
            .post(&url)
            .json(&serde_json::json!({
                "service": service,
                "operation": operation,
                "contains": contains,
                "status": status,
                "times": times,
            }))
            .send()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{url}: {e}")))?;
        let body: serde_json::Value = answer
            .json()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{url}: {e}")))?;
        body["id"]
            .as_u64()
            .ok_or_else(|| HarnessError::Emulator(format!("{url}: {body}")))
    }

    /// Sets `region`'s SNS SMS sandbox (the emulator's stand-in,
    /// `scripts/moto_ext/sandboxes.py`): in it or not, and its verified and
    /// pending numbers. Other regions are untouched.
    pub async fn sms_sandbox(
        &self,
        region: &str,
        in_sandbox: bool,
        verified: &[&str],
        pending: &[&str],
    ) -> Result<(), HarnessError> {
        self.knob(
            "sms-sandbox",
            serde_json::json!({
                "region": region,
                "in_sandbox": in_sandbox,
                "verified": verified,
                "pending": pending,
            }),
        )
        .await
    }

    /// Sets whether SES sends in `region` (the emulator's stand-in for
    /// SESv2 GetAccount).
    pub async fn ses_sending(&self, region: &str, enabled: bool) -> Result<(), HarnessError> {
        self.knob(
            "ses-account",
            serde_json::json!({ "region": region, "sending_enabled": enabled }),
        )
        .await
    }

    async fn knob(&self, name: &str, body: serde_json::Value) -> Result<(), HarnessError> {
        let url = format!("{}/moto-api/klaxon/{name}", self.endpoint);
        let answer = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{url}: {e}")))?;
        if !answer.status().is_success() {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            return Err(HarnessError::Emulator(format!(
                "{url}: HTTP {status}: {text}"
            )));
        }
        Ok(())
    }

    /// How many times the integration fault `id` has fired.
    pub async fn integration_fault_fired(&self, id: u64) -> Result<u64, HarnessError> {
        let url = format!("{}/moto-api/klaxon/integration-faults", self.endpoint);
        let body: serde_json::Value = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{url}: {e}")))?
            .json()
            .await
            .map_err(|e| HarnessError::Emulator(format!("{url}: {e}")))?;
        body["faults"]
            .as_array()
            .and_then(|all| all.iter().find(|f| f["id"].as_u64() == Some(id)))
            .and_then(|f| f["fired"].as_u64())
            .ok_or_else(|| HarnessError::Emulator(format!("{url}: no fault {id} in {body}")))
    }

    /// Whether the role that signed a call a stand-in received
    /// (`authorization`, its SigV4 header) may make it: `None` when it may
    /// (or the signer is no role), else IAM's message for AccessDenied.
    pub async fn judge(
        &self,
        authorization: &str,
        action: &str,
        resource: &str,
    ) -> Result<Option<String>, HarnessError> {
        self.judge_in(authorization, action, resource, &[]).await
    }

    /// [`Emulator::judge`] with the request's condition keys (`context`:
    /// key, value), such as `aws:CalledViaFirst` of a forward access
    /// session.
    pub async fn judge_in(
        &self,
        authorization: &str,
        action: &str,
        resource: &str,
        context: &[(&str, &str)],
    ) -> Result<Option<String>, HarnessError> {
        let url = format!("{}/moto-api/klaxon/iam-judge", self.endpoint);
        let context: serde_json::Map<String, serde_json::Value> = context
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::json!([v])))
            .collect();
        let answer = self
            .http
            .post(&url)
            .json(&serde_json::json!({
                "authorization": authorization,
                "action": action,
                "resource": resource,
                "context": context,
            }))
            .send()
            .await
            .map_err(|e| http_err(&url, e))?;
        let verdict: serde_json::Value = answer.json().await.map_err(|e| http_err(&url, e))?;
        if verdict["judged"] == true && verdict["allowed"] != true {
            return Ok(Some(
                verdict["message"]
                    .as_str()
                    .unwrap_or("access denied")
                    .to_string(),
            ));
        }
        Ok(None)
    }

    /// The SMS sent to one number, oldest first.
    pub async fn sms_to(&self, phone: &str) -> Result<Vec<SentSms>, HarnessError> {
        Ok(self
            .sms_sent()
            .await?
            .into_iter()
            .filter(|m| m.phone_number == phone)
            .collect())
    }
}

/// One call the emulator judged against an assumed role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct IamCall {
    pub role: String,
    /// The access key of the role's session that signed the call.
    pub access_key: String,
    /// The request's operation (`DynamoDB_20120810.DeleteItem`, ...).
    pub operation: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

#[derive(Debug, serde::Deserialize)]
struct IamCalls {
    calls: Vec<IamCall>,
}
