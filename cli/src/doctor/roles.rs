//! `function-roles`: whether each deployed function's execution role still
//! allows the calls Klaxon's code makes, asked of IAM's policy simulator
//! (`iam:SimulatePrincipalPolicy`), so a role edited by hand in the console
//! is caught before it stops a page.
//!
//! [`CALLS`] is what each function's code calls, by IAM action and
//! resource; the notifier also reads the secrets the applied configuration
//! names and mirrors to its services' Incident Manager response plans
//! ([`Facts::questions`]). The integration tests keep this true: every call
//! the functions make in a whole incident, a delivery with secrets and an
//! Incident Manager mirror, as the emulator records it under their roles,
//! must be asked about here (`tests/it/iam.rs`), and a freshly deployed
//! stack must pass this check.

use std::collections::BTreeMap;

use klaxon_config::OncallConfig;
use klaxon_core::secrets::SecretRef;

use super::{Check, Clients};
use crate::aws_error::describe;
use crate::names::StackNames;

/// What a call is made on, resolved against a deployed stack by [`Facts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    IncidentsTable,
    /// The incidents table's indexes.
    IncidentsIndexes,
    /// The incidents table's index of open incidents.
    OpenIncidentsIndex,
    ConfigTable,
    StateMachine,
    /// Any execution of the escalation state machine.
    Executions,
    /// No resource: a phone number (SNS SMS), task tokens.
    Anything,
    /// The SES identity of the sender (`KLAXON_EMAIL_FROM`'s domain).
    SenderIdentity,
    /// The SES identity named by the sender's address itself.
    SenderAddress,
    /// The stack's SIP media application (voice on).
    SipMediaApplication,
    /// The CloudWatch alarms whose tags intake reads.
    Alarms,
    EventBus,
    UndeliveredQueue,
    /// An object of the status page's bucket.
    StatusPage(&'static str),
    IntakeFunction,
}

/// One call: an IAM action on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub action: &'static str,
    pub on: On,
}

const fn call(action: &'static str, on: On) -> Call {
    Call { action, on }
}

use On::*;

/// Each function (by name suffix) and the calls its code makes.
pub const CALLS: &[(&str, &[Call])] = &[
    (
        "alarm-intake",
        &[
            call("dynamodb:GetItem", IncidentsTable),
            call("dynamodb:PutItem", IncidentsTable),
            call("dynamodb:UpdateItem", IncidentsTable),
            call("dynamodb:DeleteItem", IncidentsTable),
            call("dynamodb:GetItem", ConfigTable),
            call("states:StartExecution", StateMachine),
            call("states:StopExecution", Executions),
            call("cloudwatch:ListTagsForResource", Alarms),
        ],
    ),
    (
        "sms-reply",
        &[
            call("dynamodb:GetItem", IncidentsTable),
            call("dynamodb:PutItem", IncidentsTable),
            call("dynamodb:UpdateItem", IncidentsTable),
            call("dynamodb:DeleteItem", IncidentsTable),
            call("dynamodb:Query", IncidentsTable),
            call("dynamodb:GetItem", ConfigTable),
            call("sns:Publish", Anything),
            call("states:StopExecution", Executions),
            call("chime:UpdateSipMediaApplicationCall", SipMediaApplication),
        ],
    ),
    (
        "escalator",
        &[
            call("dynamodb:GetItem", IncidentsTable),
            call("dynamodb:PutItem", IncidentsTable),
            call("dynamodb:UpdateItem", IncidentsTable),
            call("dynamodb:DeleteItem", IncidentsTable),
            call("dynamodb:Query", IncidentsTable),
            call("dynamodb:GetItem", ConfigTable),
            call("sns:Publish", Anything),
            call("ses:SendEmail", SenderIdentity),
            call("states:SendTaskSuccess", Anything),
            call("states:SendTaskFailure", Anything),
            call("states:StartExecution", StateMachine),
            call("chime:CreateSipMediaApplicationCall", SipMediaApplication),
        ],
    ),
    (
        "event-publisher",
        &[
            call("dynamodb:GetItem", IncidentsTable),
            call("events:PutEvents", EventBus),
        ],
    ),
    (
        "notifier",
        &[
            call("dynamodb:GetItem", IncidentsTable),
            call("dynamodb:Query", IncidentsTable),
            call("dynamodb:PutItem", IncidentsTable),
            call("dynamodb:GetItem", ConfigTable),
            call("sqs:SendMessage", UndeliveredQueue),
            call("ses:SendEmail", SenderIdentity),
        ],
    ),
    (
        "status-page",
        &[
            call("dynamodb:GetItem", IncidentsTable),
            call("dynamodb:Query", IncidentsTable),
            call("dynamodb:Query", IncidentsIndexes),
            call("dynamodb:GetItem", ConfigTable),
            call("s3:PutObject", StatusPage("index.html")),
            call("s3:PutObject", StatusPage("status.json")),
        ],
    ),
    (
        "voice-call",
        &[
            call("dynamodb:GetItem", IncidentsTable),
            call("dynamodb:PutItem", IncidentsTable),
            call("dynamodb:UpdateItem", IncidentsTable),
            call("dynamodb:DeleteItem", IncidentsTable),
            call("dynamodb:Query", IncidentsTable),
            call("dynamodb:GetItem", ConfigTable),
            call("states:StopExecution", Executions),
            call("chime:UpdateSipMediaApplicationCall", SipMediaApplication),
        ],
    ),
    (
        "escalation-sweep",
        &[
            call("dynamodb:Query", OpenIncidentsIndex),
            call("dynamodb:Query", IncidentsTable),
            call("dynamodb:UpdateItem", IncidentsTable),
            call("dynamodb:PutItem", IncidentsTable),
            call("states:DescribeExecution", Executions),
            call("states:StartExecution", StateMachine),
        ],
    ),
    (
        "self-test",
        &[
            call("lambda:InvokeFunction", IntakeFunction),
            call("dynamodb:GetItem", IncidentsTable),
            call("dynamodb:Query", IncidentsTable),
            call("states:DescribeExecution", Executions),
            call("cloudwatch:PutMetricData", Anything),
            // The delivery channels, read and never sent on.
            call("dynamodb:GetItem", ConfigTable),
            call("sns:GetSMSSandboxAccountStatus", Anything),
            call("sns:ListSMSSandboxPhoneNumbers", Anything),
            call("sns:GetSMSAttributes", Anything),
            call("sns:ListOriginationNumbers", Anything),
            call("cloudwatch:GetMetricStatistics", Anything),
            call("ses:GetEmailIdentity", SenderAddress),
            call("ses:GetEmailIdentity", SenderIdentity),
            call("ses:GetAccount", Anything),
            call("chime:GetPhoneNumber", Anything),
        ],
    ),
];

/// The calls of one function (by name suffix); empty for one Klaxon does
/// not know.
pub fn calls_of(suffix: &str) -> &'static [Call] {
    CALLS
        .iter()
        .find(|(s, _)| *s == suffix)
        .map(|(_, calls)| *calls)
        .unwrap_or(&[])
}

/// What resolves [`On`] to ARNs on one deployed stack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub region: String,
    pub account: String,
    pub stack: String,
    /// The escalator's sender address; `None` when email is off.
    pub email_from: Option<String>,
    /// The SIP media application's id; `None` when voice is off.
    pub sip_media_application: Option<String>,
    pub event_bus: Option<String>,
    pub status_page_bucket: Option<String>,
    /// The secrets the applied configuration's notifications name.
    pub secrets: Vec<SecretRef>,
    /// The Incident Manager response plans its services mirror to.
    pub response_plans: Vec<String>,
}

/// One call to ask the simulator about: an action on a resource (IAM's
/// pattern), with the condition keys it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub action: &'static str,
    pub resource: String,
    pub context: Vec<(&'static str, String)>,
}

/// Incident Manager's service principal, as `aws:CalledViaFirst` names it
/// on what it does for the caller (forward access).
const INCIDENT_MANAGER: &str = "ssm-incidents.amazonaws.com";

impl Facts {
    /// The resource ARN (IAM's pattern, `*` for any) of `on`, or `None`
    /// when the stack does not use it (voice or email off).
    pub fn resource(&self, on: On) -> Option<String> {
        let (r, a, s) = (&self.region, &self.account, &self.stack);
        let table = |name: &str| format!("arn:aws:dynamodb:{r}:{a}:table/{s}-{name}");
        Some(match on {
            IncidentsTable => table("incidents"),
            IncidentsIndexes => format!("{}/index/*", table("incidents")),
            OpenIncidentsIndex => format!("{}/index/open-incidents", table("incidents")),
            ConfigTable => table("config"),
            StateMachine => format!("arn:aws:states:{r}:{a}:stateMachine:{s}-escalation"),
            Executions => format!("arn:aws:states:{r}:{a}:execution:{s}-escalation:*"),
            Anything => "*".into(),
            SenderIdentity => {
                let address = address_of(self.email_from.as_deref()?);
                let domain = address.rsplit_once('@').map_or(address, |(_, d)| d);
                format!("arn:aws:ses:{r}:{a}:identity/{domain}")
            }
            SenderAddress => format!(
                "arn:aws:ses:{r}:{a}:identity/{}",
                address_of(self.email_from.as_deref()?)
            ),
            SipMediaApplication => format!(
                "arn:aws:chime:{r}:{a}:sma/{}",
                self.sip_media_application.as_deref()?
            ),
            Alarms => format!("arn:aws:cloudwatch:{r}:{a}:alarm:*"),
            EventBus => format!(
                "arn:aws:events:{r}:{a}:event-bus/{}",
                self.event_bus.as_deref()?
            ),
            UndeliveredQueue => format!("arn:aws:sqs:{r}:{a}:{s}-undelivered-notifications"),
            StatusPage(key) => {
                format!("arn:aws:s3:::{}/{key}", self.status_page_bucket.as_deref()?)
            }
            IntakeFunction => format!("arn:aws:lambda:{r}:{a}:function:{s}-alarm-intake"),
        })
    }

    /// Region and account from a function's ARN, and the stack's optional
    /// resources from its environment (`var`).
    pub fn learn(&mut self, function_arn: &str, var: impl Fn(&str) -> Option<String>) {
        let parts: Vec<&str> = function_arn.split(':').collect();
        if parts.len() >= 5 && self.region.is_empty() {
            self.region = parts[3].to_string();
            self.account = parts[4].to_string();
        }
        let set = |key: &str| {
            var(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = set("KLAXON_EMAIL_FROM") {
            self.email_from = Some(v);
        }
        if let Some(v) = set("KLAXON_SIP_MEDIA_APPLICATION_ID") {
            self.sip_media_application = Some(v);
        }
        if let Some(v) = set("KLAXON_EVENT_BUS") {
            self.event_bus = Some(v.rsplit('/').next().unwrap_or(&v).to_string());
        }
        if let Some(v) = set("KLAXON_STATUS_PAGE_BUCKET") {
            self.status_page_bucket = Some(v);
        }
    }

    /// What the applied configuration has the notifier read and call.
    pub fn learn_config(&mut self, config: &OncallConfig) {
        let mut secrets = std::collections::BTreeSet::new();
        for spec in config.raw.notifications.values() {
            secrets.extend(spec.secrets().into_iter().map(|(_, s)| s.clone()));
        }
        self.secrets = secrets.into_iter().collect();
        let plans: std::collections::BTreeSet<String> = config
            .raw
            .services
            .values()
            .filter_map(|s| s.incident_manager.as_ref())
            .map(|m| m.response_plan_arn.clone())
            .collect();
        self.response_plans = plans.into_iter().collect();
    }

    /// Every call function `suffix` makes on this stack: its [`CALLS`] on
    /// the resources the stack uses, and the notifier's reads of the
    /// configuration's secrets and its Incident Manager mirror.
    pub fn questions(&self, suffix: &str) -> Vec<Asked> {
        let mut asked: Vec<Asked> = calls_of(suffix)
            .iter()
            .filter_map(|c| {
                Some(Asked {
                    action: c.action,
                    resource: self.resource(c.on)?,
                    context: self.context(c),
                })
            })
            .collect();
        if suffix == "notifier" {
            asked.extend(self.configured_calls());
        }
        asked
    }

    fn configured_calls(&self) -> Vec<Asked> {
        let (r, a) = (&self.region, &self.account);
        let plain = |action, resource| Asked {
            action,
            resource,
            context: Vec::new(),
        };
        let mut asked = Vec::new();
        for secret in &self.secrets {
            asked.push(match secret {
                SecretRef::Ssm(name) => plain(
                    "ssm:GetParameter",
                    format!(
                        "arn:aws:ssm:{r}:{a}:parameter/{}",
                        name.trim_start_matches('/')
                    ),
                ),
                SecretRef::SecretsManager(arn) if arn.starts_with("arn:") => {
                    plain("secretsmanager:GetSecretValue", arn.clone())
                }
                // A secret's ARN ends in six characters Secrets Manager picks.
                SecretRef::SecretsManager(name) => plain(
                    "secretsmanager:GetSecretValue",
                    format!("arn:aws:secretsmanager:{r}:{a}:secret:{name}-??????"),
                ),
            });
        }
        for plan in &self.response_plans {
            asked.push(plain("ssm-incidents:StartIncident", plan.clone()));
            let records = match plan.split_once(":response-plan/") {
                Some((head, name)) => format!("{head}:incident-record/{name}/*"),
                None => continue,
            };
            for action in [
                "ssm-incidents:CreateTimelineEvent",
                "ssm-incidents:UpdateIncidentRecord",
            ] {
                asked.push(plain(action, records.clone()));
            }
        }
        if !self.response_plans.is_empty() {
            for action in ["ssm-contacts:StartEngagement", "ssm:CreateOpsItem"] {
                asked.push(Asked {
                    action,
                    resource: "*".into(),
                    context: vec![("aws:CalledViaFirst", INCIDENT_MANAGER.into())],
                });
            }
        }
        asked
    }

    /// The condition keys a call carries that Klaxon's roles test.
    pub fn context(&self, call: &Call) -> Vec<(&'static str, String)> {
        match call.action {
            "ses:SendEmail" => self
                .email_from
                .iter()
                .map(|from| ("ses:FromAddress", address_of(from).to_string()))
                .collect(),
            "cloudwatch:PutMetricData" => vec![("cloudwatch:namespace", "Klaxon".into())],
            _ => Vec::new(),
        }
    }
}

fn address_of(from: &str) -> &str {
    from.rsplit_once('<')
        .map_or(from, |(_, a)| a.trim_end_matches('>'))
        .trim()
}

/// A call a role was found not to allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub function: String,
    pub role: String,
    pub action: String,
    pub resource: String,
    pub decision: String,
}

/// The check from what was found: every function read and simulated, the
/// calls refused, and what could not be checked.
pub fn roles_check(checked: &[String], refused: &[Refused], unchecked: &[String]) -> Check {
    const NAME: &str = "function-roles";
    if !refused.is_empty() {
        let lines: Vec<String> = refused
            .iter()
            .map(|r| {
                format!(
                    "{} ({}) may not {} on {} ({})",
                    r.function, r.role, r.action, r.resource, r.decision
                )
            })
            .collect();
        return Check::problem(
            NAME,
            format!(
                "{} call(s) Klaxon makes are not allowed; those pages or steps will fail:\n{}",
                refused.len(),
                lines.join("\n")
            ),
            "deploy the stack's template again (sam deploy) to restore the roles, or give each role back the action on the resource",
        );
    }
    if !unchecked.is_empty() {
        return Check::warning(
            NAME,
            format!("could not check every role:\n{}", unchecked.join("\n")),
            "allow iam:SimulatePrincipalPolicy on the stack's roles (the template's OperatorPolicy does) and run doctor again",
        );
    }
    Check::ok(
        NAME,
        format!(
            "the roles of {} allow every call Klaxon makes",
            checked.join(", ")
        ),
    )
}

/// A question to the simulator: a resource and the call's context keys.
type Question = (String, Vec<(&'static str, String)>);

/// Reads each deployed function's role and settings, and asks IAM's
/// simulator about every call it makes ([`Facts::questions`]).
pub(super) async fn check(
    clients: &Clients,
    names: &StackNames,
    config: Option<&OncallConfig>,
) -> Check {
    let mut checked = Vec::new();
    let mut refused = Vec::new();
    let mut unchecked = Vec::new();
    let mut deployed = Vec::new();
    let mut facts = Facts {
        stack: names.stack.clone(),
        ..Facts::default()
    };
    if let Some(config) = config {
        facts.learn_config(config);
    }
    for (suffix, _) in CALLS {
        let function = names.function(suffix);
        match super::stack::function_configuration(clients, &function).await {
            Ok(Some(out)) => {
                let env = out
                    .environment()
                    .and_then(|e| e.variables())
                    .cloned()
                    .unwrap_or_default();
                facts.learn(out.function_arn().unwrap_or_default(), |k| {
                    env.get(k).cloned()
                });
                deployed.push((*suffix, out.role().unwrap_or_default().to_string()));
            }
            Ok(None) => {}
            Err(why) => unchecked.push(format!("{function}: {why}")),
        }
    }
    for (suffix, role) in deployed {
        let function = names.function(suffix);
        // One question per resource and context: its actions together.
        let mut asks: BTreeMap<Question, Vec<&str>> = BTreeMap::new();
        for asked in facts.questions(suffix) {
            asks.entry((asked.resource, asked.context))
                .or_default()
                .push(asked.action);
        }
        let mut complete = true;
        for ((resource, context), actions) in asks {
            match simulate(clients, &role, &actions, &resource, &context).await {
                Ok(decisions) => {
                    for (action, decision) in decisions {
                        if decision != "allowed" {
                            refused.push(Refused {
                                function: function.clone(),
                                role: role.clone(),
                                action,
                                resource: resource.clone(),
                                decision,
                            });
                        }
                    }
                }
                Err(why) => {
                    unchecked.push(format!("{function}: {why}"));
                    complete = false;
                    break;
                }
            }
        }
        if complete {
            checked.push(function);
        }
    }
    roles_check(&checked, &refused, &unchecked)
}

/// (action, decision) for each action on the resource, as the simulator
/// decides for the role.
async fn simulate(
    clients: &Clients,
    role: &str,
    actions: &[&str],
    resource: &str,
    context: &[(&str, String)],
) -> Result<Vec<(String, String)>, String> {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};

    let mut ask = clients
        .iam
        .simulate_principal_policy()
        .policy_source_arn(role)
        .resource_arns(resource);
    for action in actions {
        ask = ask.action_names(*action);
    }
    for (key, value) in context {
        ask = ask.context_entries(
            ContextEntry::builder()
                .context_key_name(*key)
                .context_key_type(ContextKeyTypeEnum::String)
                .context_key_values(value)
                .build(),
        );
    }
    let out = ask.send().await.map_err(|e| describe(&e))?;
    Ok(out
        .evaluation_results()
        .iter()
        .map(|r| {
            (
                r.eval_action_name().to_string(),
                r.eval_decision().as_str().to_string(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            region: "eu-west-1".into(),
            account: "111122223333".into(),
            stack: "prod".into(),
            email_from: Some("Klaxon <pages@example.com>".into()),
            sip_media_application: None,
            event_bus: Some("prod-incidents".into()),
            status_page_bucket: None,
            ..Facts::default()
        }
    }

    #[test]
    fn the_notifier_is_asked_about_the_configurations_secrets_and_response_plans() {
        let mut f = facts();
        f.secrets = vec![
            "ssm:/klaxon/slack-token".parse().unwrap(),
            "secretsmanager:klaxon/hook".parse().unwrap(),
            "secretsmanager:arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf"
                .parse()
                .unwrap(),
        ];
        f.response_plans = vec!["arn:aws:ssm-incidents::111122223333:response-plan/db".into()];
        let asked = f.questions("notifier");
        let has = |action: &str, resource: &str| {
            asked
                .iter()
                .any(|a| a.action == action && a.resource == resource)
        };
        assert!(has(
            "ssm:GetParameter",
            "arn:aws:ssm:eu-west-1:111122223333:parameter/klaxon/slack-token"
        ));
        assert!(has(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:klaxon/hook-??????"
        ));
        assert!(has(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf"
        ));
        assert!(has(
            "ssm-incidents:StartIncident",
            "arn:aws:ssm-incidents::111122223333:response-plan/db"
        ));
        assert!(has(
            "ssm-incidents:CreateTimelineEvent",
            "arn:aws:ssm-incidents::111122223333:incident-record/db/*"
        ));
        let forwarded = asked
            .iter()
            .find(|a| a.action == "ssm-contacts:StartEngagement")
            .unwrap();
        assert_eq!(
            forwarded.context,
            vec![("aws:CalledViaFirst", INCIDENT_MANAGER.to_string())]
        );
        // Only the notifier reads them.
        assert!(
            !f.questions("escalator")
                .iter()
                .any(|a| a.action.starts_with("ssm"))
        );
    }

    #[test]
    fn resources_resolve_to_the_stacks_arns_and_unused_ones_to_none() {
        let f = facts();
        assert_eq!(
            f.resource(IncidentsTable).unwrap(),
            "arn:aws:dynamodb:eu-west-1:111122223333:table/prod-incidents"
        );
        assert_eq!(
            f.resource(Executions).unwrap(),
            "arn:aws:states:eu-west-1:111122223333:execution:prod-escalation:*"
        );
        assert_eq!(
            f.resource(SenderIdentity).unwrap(),
            "arn:aws:ses:eu-west-1:111122223333:identity/example.com"
        );
        assert_eq!(f.resource(SipMediaApplication), None, "voice is off");
        assert_eq!(f.resource(StatusPage("index.html")), None);
    }

    #[test]
    fn the_sender_address_is_the_context_of_an_email_and_the_namespace_of_a_metric() {
        let f = facts();
        assert_eq!(
            f.context(&call("ses:SendEmail", SenderIdentity)),
            vec![("ses:FromAddress", "pages@example.com".to_string())]
        );
        assert_eq!(
            f.context(&call("cloudwatch:PutMetricData", Anything)),
            vec![("cloudwatch:namespace", "Klaxon".to_string())]
        );
        assert!(f.context(&call("sns:Publish", Anything)).is_empty());
    }

    #[test]
    fn a_refused_call_is_a_problem_naming_function_action_and_resource() {
        let refused = Refused {
            function: "prod-escalator".into(),
            role: "arn:aws:iam::1:role/prod-EscalatorRole".into(),
            action: "dynamodb:DeleteItem".into(),
            resource: "arn:aws:dynamodb:eu-west-1:1:table/prod-incidents".into(),
            decision: "implicitDeny".into(),
        };
        let c = roles_check(&["prod-escalator".into()], &[refused], &[]);
        assert_eq!(c.status, super::super::Status::Problem);
        assert!(c.message.contains(
            "prod-escalator (arn:aws:iam::1:role/prod-EscalatorRole) may not dynamodb:DeleteItem on arn:aws:dynamodb:eu-west-1:1:table/prod-incidents (implicitDeny)"
        ));
        let c = roles_check(&["prod-escalator".into()], &[], &["x: AccessDenied".into()]);
        assert_eq!(c.status, super::super::Status::Warning);
        let c = roles_check(&["prod-escalator".into()], &[], &[]);
        assert_eq!(c.status, super::super::Status::Ok);
    }

    #[test]
    fn every_function_named_has_calls_and_none_twice() {
        let mut seen = std::collections::BTreeSet::new();
        for (suffix, calls) in CALLS {
            assert!(seen.insert(*suffix), "{suffix} twice");
            assert!(!calls.is_empty(), "{suffix}");
            assert_eq!(calls_of(suffix), *calls);
        }
        assert!(calls_of("nobody").is_empty());
    }
}
