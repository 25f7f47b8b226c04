//! A local copy of Klaxon's stack, created in the emulator from the SAM
//! template: the same tables (key schemas, indexes), queues, topics and
//! state machine (the same ASL file). Each test can have its own stack.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use klaxon::runtime::{ENV_REGION, SelfTestSettings, Settings};
use serde_norway::Value;

use crate::HarnessError;
use crate::template::{Context, Template, resolve};

/// The account id moto uses.
pub const LOCAL_ACCOUNT: &str = "123456789012";
/// Step Functions needs a role; the emulator does not check it.
const LOCAL_ROLE: &str = "arn:aws:iam::123456789012:role/klaxon-local";

/// Resources of one local stack.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub ctx: Context,
    pub template: Template,
}

fn err(context: &str, e: impl std::fmt::Display) -> HarnessError {
    HarnessError::Aws(format!("{context}: {e}"))
}

fn sdk_err<E: std::error::Error + 'static, R: std::fmt::Debug>(
    context: &str,
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> HarnessError {
    HarnessError::Aws(format!(
        "{context}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
    ))
}

fn props(body: &Value) -> Option<&Value> {
    body.get("Properties")
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl Stack {
    /// Creates (or reuses) every emulated resource the template declares,
    /// with the parameters' defaults.
    pub async fn provision(
        sdk: &SdkConfig,
        template: &Template,
        name: &str,
    ) -> Result<Self, HarnessError> {
        Self::provision_with(sdk, template, name, BTreeMap::new()).await
    }

    /// Like [`Stack::provision`], with some parameters given (as
    /// `sam deploy --parameter-overrides` would).
    pub async fn provision_with(
        sdk: &SdkConfig,
        template: &Template,
        name: &str,
        parameters: BTreeMap<String, String>,
    ) -> Result<Self, HarnessError> {
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let mut ctx = Context {
            stack_name: name.to_string(),
            region: region.clone(),
            account: LOCAL_ACCOUNT.into(),
            refs: template.parameter_defaults(),
            attrs: BTreeMap::new(),
            conditions: BTreeMap::new(),
        };
        for (k, v) in parameters {
            if !ctx.refs.contains_key(&k) {
                return Err(HarnessError::Template(format!(
                    "no parameter {k} in the template"
                )));
            }
            ctx.refs.insert(k, v);
        }
        template.evaluate_conditions(&mut ctx)?;

        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        for (id, body) in template.resources_of("AWS::DynamoDB::Table") {
            let p = props(body)
                .ok_or_else(|| HarnessError::Template(format!("{id}: no Properties")))?;
            let table = match p.get("TableName") {
                Some(v) => resolve(v, &ctx)?,
                None => format!("{name}-{id}"),
            };
            if let Some(stream) = create_table(&ddb, &table, p).await? {
                ctx.attrs.insert(format!("{id}.StreamArn"), stream);
            }
            ctx.attrs.insert(
                format!("{id}.Arn"),
                format!("arn:aws:dynamodb:{region}:{LOCAL_ACCOUNT}:table/{table}"),
            );
            ctx.refs.insert(id, table);
        }

        let sqs = aws_sdk_sqs::Client::new(sdk);
        for (id, body) in template.resources_of("AWS::SQS::Queue") {
            let queue = match props(body).and_then(|p| p.get("QueueName")) {
                Some(v) => resolve(v, &ctx)?,
                None => format!("{name}-{id}"),
            };
            let out = sqs
                .create_queue()
                .queue_name(&queue)
                .send()
                .await
                .map_err(|e| sdk_err("CreateQueue", e))?;
            let url = out.queue_url.ok_or_else(|| err("CreateQueue", "no URL"))?;
            ctx.attrs.insert(
                format!("{id}.Arn"),
                format!("arn:aws:sqs:{region}:{LOCAL_ACCOUNT}:{queue}"),
            );
            ctx.attrs.insert(format!("{id}.QueueName"), queue);
            ctx.attrs.insert(format!("{id}.QueueUrl"), url.clone());
            ctx.refs.insert(id, url);
        }

        let events = aws_sdk_eventbridge::Client::new(sdk);
        for (id, body) in template.resources_of("AWS::Events::EventBus") {
            let bus = match props(body).and_then(|p| p.get("Name")) {
                Some(v) => resolve(v, &ctx)?,
                None => format!("{name}-{id}"),
            };
            let created = events.create_event_bus().name(&bus).send().await;
            if let Err(e) = created
                && !e
                    .as_service_error()
                    .is_some_and(|se| se.is_resource_already_exists_exception())
            {
                return Err(err(
                    "CreateEventBus",
                    aws_sdk_eventbridge::error::DisplayErrorContext(&e),
                ));
            }
            ctx.attrs.insert(
                format!("{id}.Arn"),
                format!("arn:aws:events:{region}:{LOCAL_ACCOUNT}:event-bus/{bus}"),
            );
            ctx.attrs.insert(format!("{id}.Name"), bus.clone());
            ctx.refs.insert(id, bus);
        }

        // Buckets (the status page's, with StatusPage=enabled), named as
        // CloudFormation would: from the stack and the logical id.
        let s3 = klaxon::aws::status_page::client(sdk);
        for (id, body) in template.resources_of("AWS::S3::Bucket") {
            if !template.exists(body, &ctx) {
                continue;
            }
            let bucket = match props(body).and_then(|p| p.get("BucketName")) {
                Some(v) => resolve(v, &ctx)?,
                None => bucket_name(name, &id),
            };
            let mut create = s3.create_bucket().bucket(&bucket);
            if region != "us-east-1" {
                create = create.create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            region.as_str(),
                        ))
                        .build(),
                );
            }
            if let Err(e) = create.send().await
                && !e
                    .as_service_error()
                    .is_some_and(|se| se.is_bucket_already_owned_by_you())
            {
                return Err(err(
                    "CreateBucket",
                    aws_sdk_s3::error::DisplayErrorContext(&e),
                ));
            }
            ctx.attrs
                .insert(format!("{id}.Arn"), format!("arn:aws:s3:::{bucket}"));
            ctx.attrs.insert(
                format!("{id}.WebsiteURL"),
                format!("http://{bucket}.s3-website-{region}.amazonaws.com"),
            );
            ctx.refs.insert(id, bucket);
        }

        let sns = aws_sdk_sns::Client::new(sdk);
        for (id, body) in template.resources_of("AWS::SNS::Topic") {
            let topic = match props(body).and_then(|p| p.get("TopicName")) {
                Some(v) => resolve(v, &ctx)?,
                None => format!("{name}-{id}"),
            };
            let out = sns
                .create_topic()
                .name(&topic)
                .send()
                .await
                .map_err(|e| sdk_err("CreateTopic", e))?;
            let arn = out.topic_arn.ok_or_else(|| err("CreateTopic", "no ARN"))?;
            ctx.attrs.insert(format!("{id}.TopicName"), topic);
            ctx.attrs.insert(format!("{id}.TopicArn"), arn.clone());
            ctx.refs.insert(id, arn);
        }

        let sfn = aws_sdk_sfn::Client::new(sdk);
        for kind in [
            "AWS::Serverless::StateMachine",
            "AWS::StepFunctions::StateMachine",
        ] {
            for (id, body) in template.resources_of(kind) {
                let p = props(body)
                    .ok_or_else(|| HarnessError::Template(format!("{id}: no Properties")))?;
                let sm_name = match p.get("Name").or_else(|| p.get("StateMachineName")) {
                    Some(v) => resolve(v, &ctx)?,
                    None => format!("{name}-{id}"),
                };
                let definition = state_machine_definition(template, &id, p, &ctx)?;
                let arn = create_state_machine(&sfn, &sm_name, &definition).await?;
                ctx.attrs.insert(format!("{id}.Name"), sm_name);
                ctx.attrs.insert(format!("{id}.Arn"), arn.clone());
                ctx.refs.insert(id, arn);
            }
        }

        // Functions are not provisioned (the emulator cannot run them), but
        // they are named as the template names them, so a function's
        // environment can refer to another one.
        for (id, body) in template.resources_of("AWS::Serverless::Function") {
            let function = match props(body).and_then(|p| p.get("FunctionName")) {
                Some(v) => resolve(v, &ctx)?,
                None => format!("{name}-{id}"),
            };
            ctx.attrs.insert(
                format!("{id}.Arn"),
                format!("arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{function}"),
            );
            ctx.refs.insert(id, function);
        }

        // The SIP media application: what the custom resource's function
        // does in AWS (CreateSipMediaApplication pointing at the voice-call
        // function), against whatever answers for Chime SDK Voice.
        let chime = aws_sdk_chimesdkvoice::Client::new(sdk);
        for (id, body) in template.resources_of("Custom::SipMediaApplication") {
            if !template.exists(body, &ctx) {
                continue;
            }
            let p = props(body)
                .ok_or_else(|| HarnessError::Template(format!("{id}: no Properties")))?;
            let field = |k: &str| {
                p.get(k)
                    .ok_or_else(|| HarnessError::Template(format!("{id}: no {k}")))
                    .and_then(|v| resolve(v, &ctx))
            };
            let endpoint = aws_sdk_chimesdkvoice::types::SipMediaApplicationEndpoint::builder()
                .lambda_arn(field("LambdaArn")?)
                .build();
            let out = chime
                .create_sip_media_application()
                .aws_region(field("AwsRegion")?)
                .name(field("Name")?)
                .endpoints(endpoint)
                .send()
                .await
                .map_err(|e| {
                    err(
                        "CreateSipMediaApplication",
                        aws_sdk_chimesdkvoice::error::DisplayErrorContext(&e).to_string(),
                    )
                })?;
            let sma = out
                .sip_media_application
                .ok_or_else(|| err("CreateSipMediaApplication", "no application"))?;
            let sma_id = sma.sip_media_application_id.unwrap_or_default();
            ctx.attrs.insert(
                format!("{id}.SipMediaApplicationArn"),
                sma.sip_media_application_arn.unwrap_or_default(),
            );
            ctx.attrs
                .insert(format!("{id}.SipMediaApplicationId"), sma_id.clone());
            ctx.refs.insert(id, sma_id);
        }

        Ok(Self {
            name: name.to_string(),
            ctx,
            template: template.clone(),
        })
    }

    /// The physical id (`Ref`) of a template resource.
    pub fn physical(&self, logical_id: &str) -> Result<&str, HarnessError> {
        self.ctx
            .refs
            .get(logical_id)
            .map(String::as_str)
            .ok_or_else(|| HarnessError::Template(format!("{logical_id} was not provisioned")))
    }

    /// The environment the template gives a function, resolved locally.
    pub fn function_env(
        &self,
        function_id: &str,
    ) -> Result<BTreeMap<String, String>, HarnessError> {
        self.template.function_environment(function_id, &self.ctx)
    }

    /// A function's typed settings, parsed by the same code the function runs.
    pub fn settings(&self, function_id: &str) -> Result<Settings, HarnessError> {
        let env = self.function_env(function_id)?;
        Settings::from_lookup(|k| env.get(k).cloned())
            .map_err(|e| HarnessError::Template(format!("{function_id}: {e}")))
    }

    /// The self-test function's settings, parsed by the same code it runs
    /// (the region is the one Lambda would set).
    pub fn self_test_settings(&self) -> Result<SelfTestSettings, HarnessError> {
        let mut env = self.function_env(crate::ids::SELF_TEST)?;
        env.insert(ENV_REGION.into(), self.ctx.region.clone());
        SelfTestSettings::from_lookup(|k| env.get(k).cloned())
            .map_err(|e| HarnessError::Template(format!("{}: {e}", crate::ids::SELF_TEST)))
    }

    /// The stream a function's `DynamoDB` event reads, and its batch size.
    pub fn stream_source(
        &self,
        function_id: &str,
        event: &str,
    ) -> Result<(String, usize), HarnessError> {
        let p = self
            .template
            .resource(function_id)?
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(|e| e.get(event))
            .and_then(|e| e.get("Properties"))
            .ok_or_else(|| {
                HarnessError::Template(format!("{function_id}.{event}: no Properties"))
            })?;
        let stream = p
            .get("Stream")
            .ok_or_else(|| HarnessError::Template(format!("{function_id}.{event}: no Stream")))
            .and_then(|v| resolve(v, &self.ctx))?;
        let batch = p
            .get("BatchSize")
            .and_then(Value::as_u64)
            .and_then(|b| usize::try_from(b).ok())
            .unwrap_or(100);
        Ok((stream, batch))
    }

    /// The EventBridge pattern of a function's `EventBridgeRule` event, as JSON.
    pub fn rule_pattern(&self, function_id: &str, event: &str) -> Result<String, HarnessError> {
        let pattern = self
            .template
            .resource(function_id)?
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(|e| e.get(event))
            .and_then(|e| e.get("Properties"))
            .and_then(|p| p.get("Pattern"))
            .ok_or_else(|| {
                HarnessError::Template(format!("{function_id}.{event} has no Pattern"))
            })?;
        serde_json::to_string(pattern).map_err(|e| HarnessError::Template(e.to_string()))
    }
}

/// Creates a table (or finds it created); its stream's ARN if it has one.
/// A bucket name as CloudFormation makes one up: the stack's and the
/// resource's names, lower case, within S3's 63 characters (CloudFormation
/// adds a random suffix; a local stack's name is already unique).
fn bucket_name(stack: &str, logical_id: &str) -> String {
    let name: String = format!("{stack}-{logical_id}")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    name.trim_end_matches('-').to_string()
}

async fn create_table(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    p: &Value,
) -> Result<Option<String>, HarnessError> {
    let attr_type = |t: &str| match t {
        "N" => ScalarAttributeType::N,
        "B" => ScalarAttributeType::B,
        _ => ScalarAttributeType::S,
    };
    let key_schema = |v: Option<&Value>| -> Result<Vec<KeySchemaElement>, HarnessError> {
        v.and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(str_at(k, "AttributeName").unwrap_or_default())
                    .key_type(if str_at(k, "KeyType") == Some("RANGE") {
                        KeyType::Range
                    } else {
                        KeyType::Hash
                    })
                    .build()
                    .map_err(|e| err("KeySchema", e))
            })
            .collect()
    };
    let mut req = ddb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(p.get("KeySchema"))?));
    for a in p
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(str_at(a, "AttributeName").unwrap_or_default())
                .attribute_type(attr_type(str_at(a, "AttributeType").unwrap_or("S")))
                .build()
                .map_err(|e| err("AttributeDefinition", e))?,
        );
    }
    for g in p
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let projection = match g
            .get("Projection")
            .and_then(|p| str_at(p, "ProjectionType"))
        {
            Some("KEYS_ONLY") => ProjectionType::KeysOnly,
            Some("INCLUDE") => ProjectionType::Include,
            _ => ProjectionType::All,
        };
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(str_at(g, "IndexName").unwrap_or_default())
                .set_key_schema(Some(key_schema(g.get("KeySchema"))?))
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(|e| err("GlobalSecondaryIndex", e))?,
        );
    }
    if let Some(view) = p
        .get("StreamSpecification")
        .and_then(|s| str_at(s, "StreamViewType"))
    {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .map_err(|e| err("StreamSpecification", e))?,
        );
    }
    match req.send().await {
        Ok(out) => Ok(out.table_description.and_then(|d| d.latest_stream_arn)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception()) =>
        {
            let described = ddb
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| sdk_err("DescribeTable", e))?;
            Ok(described.table.and_then(|t| t.latest_stream_arn))
        }
        Err(e) => Err(sdk_err("CreateTable", e)),
    }
}

/// The ASL document with `DefinitionSubstitutions` applied, as deployed.
pub fn state_machine_definition(
    template: &Template,
    id: &str,
    p: &Value,
    ctx: &Context,
) -> Result<String, HarnessError> {
    let mut definition = match (p.get("DefinitionUri"), p.get("Definition")) {
        (Some(uri), _) => {
            let uri = uri.as_str().ok_or_else(|| {
                HarnessError::Template(format!("{id}: DefinitionUri must be a local path"))
            })?;
            let path = template.dir().join(uri);
            std::fs::read_to_string(&path)
                .map_err(|e| HarnessError::Template(format!("{}: {e}", path.display())))?
        }
        (None, Some(inline)) => {
            serde_json::to_string(inline).map_err(|e| HarnessError::Template(e.to_string()))?
        }
        (None, None) => {
            return Err(HarnessError::Template(format!("{id}: no definition")));
        }
    };
    for (k, v) in p
        .get("DefinitionSubstitutions")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let key = k.as_str().unwrap_or_default();
        definition = definition.replace(&format!("${{{key}}}"), &resolve(v, ctx)?);
    }
    Ok(definition)
}

async fn create_state_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
) -> Result<String, HarnessError> {
    match sfn
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(LOCAL_ROLE)
        .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
        .send()
        .await
    {
        Ok(out) => Ok(out.state_machine_arn),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_state_machine_already_exists()) =>
        {
            let list = sfn
                .list_state_machines()
                .send()
                .await
                .map_err(|e| sdk_err("ListStateMachines", e))?;
            let arn = list
                .state_machines()
                .iter()
                .find(|m| m.name() == name)
                .map(|m| m.state_machine_arn().to_string())
                .ok_or_else(|| err("CreateStateMachine", "exists but not listed"))?;
            sfn.update_state_machine()
                .state_machine_arn(&arn)
                .definition(definition)
                .send()
                .await
                .map_err(|e| sdk_err("UpdateStateMachine", e))?;
            Ok(arn)
        }
        Err(e) => Err(sdk_err("CreateStateMachine", e)),
    }
}
