//! A local copy of Klaxon's stack: `infra/template.yaml` deployed to the
//! emulator as `sam deploy` deploys it to AWS. `scripts/local_stack.py`
//! packages the code and the state machine's definition into the
//! emulator's S3, expands the SAM transform with AWS's own translator and
//! creates the stack with the emulator's CloudFormation. What the harness
//! needs afterwards (function settings, event source mappings, rule
//! patterns) is read back from the deployed resources, never from a second
//! reading of the template. Each test can have its own stack.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_config::SdkConfig;
use klaxon_runtime::{ENV_REGION, SelfTestSettings, Settings};
use serde::Deserialize;

use crate::HarnessError;
use crate::template::repo_root;

/// The account id moto uses.
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// One resource of the deployed stack, as DescribeStackResources lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Resource {
    #[serde(rename = "ResourceType")]
    pub kind: String,
    #[serde(rename = "PhysicalResourceId")]
    pub physical: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Deployed {
    #[serde(rename = "StackId")]
    id: String,
    #[serde(rename = "Region")]
    region: String,
    #[serde(rename = "Account")]
    account: String,
    #[serde(rename = "Parameters")]
    parameters: BTreeMap<String, String>,
    #[serde(rename = "Resources")]
    resources: Vec<DeployedResource>,
}

#[derive(Debug, Deserialize)]
struct DeployedResource {
    #[serde(rename = "LogicalResourceId")]
    logical: String,
    #[serde(flatten)]
    resource: Resource,
}

/// A function as deployed: its name, execution role, timeout and
/// environment.
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub arn: String,
    /// The execution role's ARN, which its code's calls are signed as.
    pub role: String,
    pub timeout_seconds: u64,
    pub environment: BTreeMap<String, String>,
}

/// An event source mapping as deployed (Lambda's own record of it).
#[derive(Debug, Clone)]
pub struct Mapping {
    pub uuid: String,
    pub source_arn: String,
    pub batch_size: usize,
    pub batching_window_seconds: u64,
    pub report_batch_item_failures: bool,
    pub bisect_on_error: bool,
    /// `None`: retried until the record expires (`-1` in AWS).
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_record_age_seconds: Option<u64>,
    pub on_failure: Option<String>,
    /// The filter patterns (JSON), any of which lets a record through.
    pub filters: Vec<String>,
}

/// How Lambda invokes a function asynchronously, as deployed (its
/// `EventInvokeConfig`, or Lambda's defaults without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeConfig {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_seconds: u64,
    pub on_failure: Option<String>,
}

impl Default for InvokeConfig {
    /// Lambda's: two retries, events kept six hours, no destination.
    fn default() -> Self {
        Self {
            maximum_retry_attempts: 2,
            maximum_event_age_seconds: 21_600,
            on_failure: None,
        }
    }
}

/// Resources of one local stack.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub id: String,
    pub region: String,
    pub account: String,
    /// The parameters the stack was deployed with (defaults included).
    pub parameters: BTreeMap<String, String>,
    resources: BTreeMap<String, Resource>,
    functions: BTreeMap<String, Function>,
    mappings: BTreeMap<String, Mapping>,
    invoke_configs: BTreeMap<String, InvokeConfig>,
    rule_patterns: BTreeMap<String, String>,
}

fn sdk_err(context: &str, e: impl std::error::Error) -> HarnessError {
    HarnessError::Aws(format!(
        "{context}: {}",
        aws_sdk_lambda::error::DisplayErrorContext(&e)
    ))
}

/// The venv's Python, which has the translator and boto3.
fn python() -> PathBuf {
    std::env::var_os("KLAXON_VENV_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv").join("bin").join("python"))
}

/// Who hears a local stack's operator alarms (its OperatorEmail).
pub const OPERATOR_EMAIL: &str = "operators@example.com";

impl Stack {
    /// Deploys `infra/template.yaml` (or reuses the stack deployed with the
    /// same template and parameters) with the parameters' defaults.
    pub async fn provision(sdk: &SdkConfig, name: &str) -> Result<Self, HarnessError> {
        Self::provision_with(sdk, name, BTreeMap::new(), &[]).await
    }

    /// Like [`Stack::provision`], with some parameters given (as
    /// `sam deploy --parameter-overrides` would) and extra environment for
    /// the deployment (where a custom resource's function reaches a
    /// service, e.g. `AWS_ENDPOINT_URL_CHIME_SDK_VOICE`).
    pub async fn provision_with(
        sdk: &SdkConfig,
        name: &str,
        parameters: BTreeMap<String, String>,
        env: &[(&str, &str)],
    ) -> Result<Self, HarnessError> {
        let template = repo_root().join("infra").join("template.yaml");
        let mut parameters = parameters;
        // The template refuses a stack nobody hears (rule OperatorsHearKlaxon).
        if !parameters.contains_key("OperatorPhone") {
            parameters
                .entry("OperatorEmail".into())
                .or_insert_with(|| OPERATOR_EMAIL.into());
        }
        Self::deploy(sdk, name, &template, parameters, env).await
    }

    /// Deploys any template (an example next to the stack, say).
    pub async fn deploy(
        sdk: &SdkConfig,
        name: &str,
        template: &std::path::Path,
        parameters: BTreeMap<String, String>,
        env: &[(&str, &str)],
    ) -> Result<Self, HarnessError> {
        let mut cmd = tokio::process::Command::new(python());
        cmd.arg(repo_root().join("scripts").join("local_stack.py"))
            .args(["deploy", "--name", name, "--template"])
            .arg(template);
        for (k, v) in &parameters {
            cmd.arg("--param").arg(format!("{k}={v}"));
        }
        if let Some(region) = sdk.region() {
            cmd.env("AWS_REGION", region.as_ref());
        }
        cmd.envs(env.iter().copied());
        let out = cmd
            .output()
            .await
            .map_err(|e| HarnessError::Template(format!("{}: {e}", python().display())))?;
        if !out.status.success() {
            return Err(HarnessError::Template(format!(
                "deploying {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let deployed: Deployed = serde_json::from_slice(&out.stdout)
            .map_err(|e| HarnessError::Template(format!("deploying {name}: {e}")))?;
        let mut stack = Self {
            name: name.to_string(),
            id: deployed.id,
            region: deployed.region,
            account: deployed.account,
            parameters: deployed.parameters,
            resources: deployed
                .resources
                .into_iter()
                .map(|r| (r.logical, r.resource))
                .collect(),
            functions: BTreeMap::new(),
            mappings: BTreeMap::new(),
            invoke_configs: BTreeMap::new(),
            rule_patterns: BTreeMap::new(),
        };
        stack.read_back(sdk).await?;
        Ok(stack)
    }

    /// Reads what the harness runs by from the deployed resources.
    async fn read_back(&mut self, sdk: &SdkConfig) -> Result<(), HarnessError> {
        let lambda = aws_sdk_lambda::Client::new(sdk);
        for (logical, name) in self.of_type("AWS::Lambda::Function") {
            let config = lambda
                .get_function_configuration()
                .function_name(&name)
                .send()
                .await
                .map_err(|e| sdk_err("GetFunctionConfiguration", e))?;
            let environment = config
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let invoke = lambda
                .get_function_event_invoke_config()
                .function_name(&name)
                .send()
                .await;
            let invoke = match invoke {
                Ok(c) => InvokeConfig {
                    maximum_retry_attempts: c
                        .maximum_retry_attempts()
                        .and_then(|r| u32::try_from(r).ok())
                        .unwrap_or(2),
                    maximum_event_age_seconds: c
                        .maximum_event_age_in_seconds()
                        .and_then(|a| u64::try_from(a).ok())
                        .unwrap_or(21_600),
                    on_failure: c
                        .destination_config()
                        .and_then(|d| d.on_failure())
                        .and_then(|f| f.destination())
                        .map(str::to_string),
                },
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_resource_not_found_exception()) =>
                {
                    InvokeConfig::default()
                }
                Err(e) => return Err(sdk_err("GetFunctionEventInvokeConfig", e)),
            };
            self.invoke_configs.insert(logical.clone(), invoke);
            self.functions.insert(
                logical,
                Function {
                    arn: config.function_arn().unwrap_or_default().to_string(),
                    role: config.role().unwrap_or_default().to_string(),
                    name,
                    timeout_seconds: config
                        .timeout()
                        .and_then(|t| u64::try_from(t).ok())
                        .unwrap_or(3),
                    environment,
                },
            );
        }
        for (logical, uuid) in self.of_type("AWS::Lambda::EventSourceMapping") {
            let m = lambda
                .get_event_source_mapping()
                .uuid(&uuid)
                .send()
                .await
                .map_err(|e| sdk_err("GetEventSourceMapping", e))?;
            let on_failure = m
                .destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|f| f.destination())
                .map(str::to_string);
            self.mappings.insert(
                logical,
                Mapping {
                    uuid,
                    source_arn: m.event_source_arn().unwrap_or_default().to_string(),
                    batch_size: m
                        .batch_size()
                        .and_then(|b| usize::try_from(b).ok())
                        .unwrap_or(10),
                    batching_window_seconds: m
                        .maximum_batching_window_in_seconds()
                        .and_then(|b| u64::try_from(b).ok())
                        .unwrap_or(0),
                    report_batch_item_failures: m.function_response_types().iter().any(|t| {
                        *t == aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures
                    }),
                    bisect_on_error: m.bisect_batch_on_function_error().unwrap_or(false),
                    maximum_retry_attempts: m
                        .maximum_retry_attempts()
                        .and_then(|r| u32::try_from(r).ok()),
                    maximum_record_age_seconds: m
                        .maximum_record_age_in_seconds()
                        .and_then(|r| u64::try_from(r).ok()),
                    on_failure,
                    filters: m
                        .filter_criteria()
                        .map(|c| {
                            c.filters()
                                .iter()
                                .filter_map(|f| f.pattern().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                },
            );
        }
        // The patterns of the rules on the default bus (a function's
        // `EventBridgeRule` event); rules on another bus (`bus|name`, as
        // CloudFormation names them) are read where they are used.
        let events = aws_sdk_eventbridge::Client::new(sdk);
        for (logical, rule) in self.of_type("AWS::Events::Rule") {
            let described = events.describe_rule().name(&rule).send().await;
            let described = match described {
                Ok(d) => d,
                Err(e)
                    if rule.contains('|')
                        || e.as_service_error()
                            .is_some_and(|se| se.is_resource_not_found_exception()) =>
                {
                    continue;
                }
                Err(e) => {
                    return Err(HarnessError::Aws(format!(
                        "DescribeRule {rule}: {}",
                        aws_sdk_eventbridge::error::DisplayErrorContext(&e)
                    )));
                }
            };
            if let Some(pattern) = described.event_pattern() {
                self.rule_patterns.insert(logical, pattern.to_string());
            }
        }
        Ok(())
    }

    /// Logical and physical ids of the resources of one type.
    fn of_type(&self, kind: &str) -> Vec<(String, String)> {
        self.resources
            .iter()
            .filter(|(_, r)| r.kind == kind)
            .filter_map(|(id, r)| r.physical.clone().map(|p| (id.clone(), p)))
            .collect()
    }

    /// Every resource the stack holds, by logical id.
    pub fn resources(&self) -> &BTreeMap<String, Resource> {
        &self.resources
    }

    /// Whether the stack holds a resource (its `Condition` held).
    pub fn has(&self, logical_id: &str) -> bool {
        self.resources.contains_key(logical_id)
    }

    /// The physical id (`Ref`) of a template resource.
    pub fn physical(&self, logical_id: &str) -> Result<&str, HarnessError> {
        self.resources
            .get(logical_id)
            .and_then(|r| r.physical.as_deref())
            .ok_or_else(|| {
                HarnessError::Template(format!("{logical_id} is not in stack {}", self.name))
            })
    }

    /// The ARN of a resource (`GetAtt .Arn`), from its physical id.
    pub fn arn(&self, logical_id: &str) -> Result<String, HarnessError> {
        let physical = self.physical(logical_id)?;
        let (region, account) = (&self.region, &self.account);
        let kind = self.resources[logical_id].kind.as_str();
        Ok(match kind {
            "AWS::DynamoDB::Table" => {
                format!("arn:aws:dynamodb:{region}:{account}:table/{physical}")
            }
            "AWS::SQS::Queue" => {
                let name = physical.rsplit('/').next().unwrap_or(physical);
                format!("arn:aws:sqs:{region}:{account}:{name}")
            }
            "AWS::Lambda::Function" => self.functions[logical_id].arn.clone(),
            "AWS::Events::EventBus" => {
                format!("arn:aws:events:{region}:{account}:event-bus/{physical}")
            }
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{physical}"),
            // Topics and state machines are their ARN.
            _ => physical.to_string(),
        })
    }

    /// A queue's name (`GetAtt .QueueName`).
    pub fn queue_name(&self, logical_id: &str) -> Result<&str, HarnessError> {
        let url = self.physical(logical_id)?;
        Ok(url.rsplit('/').next().unwrap_or(url))
    }

    /// A function as deployed.
    pub fn function(&self, logical_id: &str) -> Result<&Function, HarnessError> {
        self.functions.get(logical_id).ok_or_else(|| {
            HarnessError::Template(format!("no function {logical_id} in stack {}", self.name))
        })
    }

    /// The environment the deployed function has.
    pub fn function_env(
        &self,
        function_id: &str,
    ) -> Result<BTreeMap<String, String>, HarnessError> {
        Ok(self.function(function_id)?.environment.clone())
    }

    /// A function's timeout in seconds, as deployed.
    pub fn function_timeout(&self, function_id: &str) -> Result<u64, HarnessError> {
        Ok(self.function(function_id)?.timeout_seconds)
    }

    /// A function's typed settings, parsed by the same code the function runs.
    pub fn settings(&self, function_id: &str) -> Result<Settings, HarnessError> {
        let env = self.function_env(function_id)?;
        Settings::from_lookup(|k| env.get(k).cloned())
            .map_err(|e| HarnessError::Template(format!("{function_id}: {e}")))
    }

    /// The self-test function's settings, parsed by the same code it runs
    /// (the region is the one Lambda sets).
    pub fn self_test_settings(&self) -> Result<SelfTestSettings, HarnessError> {
        let mut env = self.function_env(crate::ids::SELF_TEST)?;
        env.insert(ENV_REGION.into(), self.region.clone());
        SelfTestSettings::from_lookup(|k| env.get(k).cloned())
            .map_err(|e| HarnessError::Template(format!("{}: {e}", crate::ids::SELF_TEST)))
    }

    /// How Lambda invokes a function asynchronously, as deployed.
    pub fn invoke_config(&self, function_id: &str) -> Result<&InvokeConfig, HarnessError> {
        self.invoke_configs.get(function_id).ok_or_else(|| {
            HarnessError::Template(format!("no function {function_id} in stack {}", self.name))
        })
    }

    /// The event source mapping SAM makes of a function's event (logical
    /// id: the function's and the event's).
    pub fn mapping(&self, function_id: &str, event: &str) -> Result<&Mapping, HarnessError> {
        self.mappings
            .get(&format!("{function_id}{event}"))
            .ok_or_else(|| {
                HarnessError::Template(format!(
                    "no event source mapping {function_id}.{event} in stack {}",
                    self.name
                ))
            })
    }

    /// The EventBridge pattern of a function's `EventBridgeRule` event, as
    /// the deployed rule has it.
    pub fn rule_pattern(&self, function_id: &str, event: &str) -> Result<String, HarnessError> {
        self.rule_patterns
            .get(&format!("{function_id}{event}"))
            .cloned()
            .ok_or_else(|| {
                HarnessError::Template(format!(
                    "no rule {function_id}.{event} in stack {}",
                    self.name
                ))
            })
    }
}
