"""moto's own CloudFormation types completed, and moto's own Lambda
delivery switched off.

Resource types moto has, completed:

- AWS::StepFunctions::StateMachine: DefinitionS3Location is read from
  moto's S3 (JSON or YAML), `Definition` (an object) is serialised, and
  DefinitionSubstitutions are applied to any of the three (`${Name}`
  replaced by the value, as CloudFormation does). StateMachineType,
  LoggingConfiguration, TracingConfiguration and EncryptionConfiguration
  are passed. The state machine goes to the backend the Step Functions API
  answers from: with `stepfunctions.execute_state_machine` on, moto's
  executing backend, not the one moto's CloudFormation wrote to (where the
  API never saw it). GetAtt Arn added.
- AWS::IAM::Role: ManagedPolicyArns attached (kept in step on update, and
  detached before the role is deleted, as CloudFormation does: IAM refuses
  to delete a role with any). moto loads AWS's managed policies only with
  MOTO_IAM_LOAD_MANAGED_POLICIES; one a role names is loaded here from
  moto's copy of AWS's list, and one AWS has but that copy lacks is
  recorded with an empty document, so that ListAttachedRolePolicies names
  it. Inline `Policies` are kept as JSON text, as PutRolePolicy keeps them.
- AWS::Lambda::Function: every property (Architectures, LoggingConfig,
  DeadLetterConfig, TracingConfig, Layers, EphemeralStorage, KmsKeyArn,
  Tags, ...); environment values become strings, as in CloudFormation.
  moto kept no LoggingConfig or DeadLetterConfig: they are kept here
  (CreateFunction, UpdateFunctionConfiguration and CloudFormation alike)
  and GetFunctionConfiguration answers them, LoggingConfig with Lambda's
  defaults.
- AWS::Lambda::EventInvokeConfig's API: PutFunctionEventInvokeConfig
  replaces the function's configuration (moto appended to it).
- AWS::Lambda::EventSourceMapping: KmsKeyArn and Tags in CloudFormation's
  spelling.
- AWS::Lambda::Permission: the statement's Sid is the resource's physical
  id (moto gave no physical id, and a random Sid).
- AWS::Events::EventBus: its physical id is its name (moto had none, so a
  Ref gave the Python object); Description, KmsKeyIdentifier,
  DeadLetterConfig and Tags are passed.
- AWS::Events::Archive: EventPattern is passed as JSON text (moto failed
  on the object a template gives) and RetentionDays as a number, on update
  too (moto read a `Retention`); its physical id (Ref) is its name.

Lambda delivery off. Without Docker every invocation moto makes fails, and
moto then returns the messages to their queue with their receive count
raised (so that they end in the dead-letter queue), or loses stream
records. The Klaxon harness runs the handlers itself and reads the queues
and streams, so moto never invokes a function on its own:

- event source mappings are created and readable (ListEventSourceMappings,
  GetEventSourceMapping, every property) but not attached to their SQS
  queue, DynamoDB table or Kinesis stream, from where moto invokes:
  messages stay in the queue, records in the stream.
- SNS subscriptions with protocol `lambda` exist and receive nothing (the
  topic still records what was published).
- EventBridge rule targets that are Lambda functions are skipped (moto
  5.2.5 raised NotImplementedError on them, failing PutEvents); other
  targets get what moto gives them. moto's own events (S3 CreateBucket)
  and S3 bucket notifications invoke no function either.
- CloudWatch alarm actions: moto runs none; nothing to switch off.
"""

import base64
import functools
import json
from typing import Any

from .helpers import as_string, camel_keys, json_text, lambda_backend, s3_backend, tag_map
from .hooks import after_import

# ================================================ moto's own types completed


def _state_machine_definition(props: dict[str, Any], account_id: str, region_name: str) -> str:
    if "DefinitionString" in props:
        definition = props["DefinitionString"]
    elif "Definition" in props:
        definition = json.dumps(props["Definition"])
    elif "DefinitionS3Location" in props:
        location = props["DefinitionS3Location"]
        key = s3_backend(account_id, region_name).get_object(
            location["Bucket"], location["Key"], version_id=location.get("Version")
        )
        if key is None:
            raise ValueError(f"no definition at s3://{location['Bucket']}/{location['Key']}")
        definition = key.value.decode()
        try:
            json.loads(definition)
        except ValueError:  # a YAML definition
            import yaml

            definition = json.dumps(yaml.safe_load(definition))
    else:
        definition = ""
    for name, value in (props.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + name + "}", as_string(value))
    return definition


def _stepfunctions_backend(account_id: str, region_name: str) -> Any:
    """The backend the Step Functions API answers from (an executing one
    with the `stepfunctions.execute_state_machine` setting)."""
    from moto.stepfunctions.responses import get_backend

    return get_backend(account_id, region_name)


def _patch_stepfunctions(models: Any) -> None:
    StateMachine = models.StateMachine

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        return _stepfunctions_backend(account_id, region_name).create_state_machine(
            name=props.get("StateMachineName", resource_name),
            definition=_state_machine_definition(props, account_id, region_name),
            roleArn=props.get("RoleArn", ""),
            tags=models.cfn_to_api_tags(props.get("Tags", [])),
            loggingConfiguration=camel_keys(props.get("LoggingConfiguration")),
            tracingConfiguration=camel_keys(props.get("TracingConfiguration")),
            encryptionConfiguration=camel_keys(props.get("EncryptionConfiguration")),
            sm_type=props.get("StateMachineType"),
        )

    def update(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        name = props.get("StateMachineName", original_resource.name)
        if name != original_resource.name:  # replacement
            new = create(cls, name, cloudformation_json, account_id, region_name)
            original_resource.backend.delete_state_machine(original_resource.arn)
            return new
        backend = original_resource.backend
        machine = backend.update_state_machine(
            original_resource.arn,
            definition=_state_machine_definition(props, account_id, region_name),
            role_arn=props.get("RoleArn"),
            logging_configuration=camel_keys(props.get("LoggingConfiguration")),
            tracing_configuration=camel_keys(props.get("TracingConfiguration")),
            encryption_configuration=camel_keys(props.get("EncryptionConfiguration")),
        )
        backend.tagger.tag_resource(machine.arn, models.cfn_to_api_tags(props.get("Tags", [])))
        return machine

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        _stepfunctions_backend(account_id, region_name).delete_state_machine(resource_name)

    get_attribute = StateMachine.get_cfn_attribute
    has_attribute = StateMachine.has_cfn_attr.__func__

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Arn":
            return self.arn
        return get_attribute(self, attribute_name)

    StateMachine.create_from_cloudformation_json = classmethod(create)
    StateMachine.update_from_cloudformation_json = classmethod(update)
    StateMachine.delete_from_cloudformation_json = classmethod(delete)
    StateMachine.get_cfn_attribute = get_cfn_attribute
    StateMachine.has_cfn_attr = classmethod(
        lambda cls, attr: attr == "Arn" or has_attribute(cls, attr)
    )


@functools.lru_cache(maxsize=1)
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def _managed_policy(backend: Any, arn: str) -> None:
    """Makes an AWS managed policy attachable, as moto does when it loads
    AWS's list (MOTO_IAM_LOAD_MANAGED_POLICIES)."""
    if arn in backend.managed_policies or ":iam::aws:policy/" not in arn:
        return  # known, or the account's own (which must exist, as in AWS)
    from moto.iam.models import AWSManagedPolicy

    path_and_name = arn.split(":policy", 1)[1]
    path, name = path_and_name.rsplit("/", 1)
    data = _aws_managed_policies().get(name)
    if data is not None and f"{data.get('Path')}{name}" == path_and_name:
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
    else:
        # AWS has it, moto's copy of the list does not: recorded so that
        # the role lists it; its document is not known here.
        policy = AWSManagedPolicy(
            name,
            account_id=backend.account_id,
            region=backend.region_name,
            path=path + "/",
            document=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
    backend.aws_managed_policies.append(policy)
    backend.managed_policies[policy.arn] = policy


def _sync_role(backend: Any, role: Any, props: dict[str, Any]) -> None:
    """The role's inline policies (as PutRolePolicy keeps them: JSON text)
    and attached managed policies, as the properties say."""
    policies = {p["PolicyName"]: json_text(p["PolicyDocument"]) for p in props.get("Policies", [])}
    for name in set(role.policies) - set(policies):
        del role.policies[name]
    role.policies.update(policies)
    wanted = props.get("ManagedPolicyArns", [])
    for arn in set(role.managed_policies) - set(wanted):
        backend.detach_role_policy(arn, role.name)
    for arn in wanted:
        if arn not in role.managed_policies:
            _managed_policy(backend, arn)
            backend.attach_role_policy(arn, role.name)


def _patch_iam(models: Any) -> None:
    Role = models.Role
    create_role = Role.create_from_cloudformation_json.__func__
    update_role = Role.update_from_cloudformation_json.__func__
    delete_role = Role.delete_from_cloudformation_json.__func__

    def backend(account_id, region_name):
        return models.iam_backends[account_id][models.get_partition(region_name)]

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        role = create_role(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        _sync_role(backend(account_id, region_name), role, cloudformation_json["Properties"])
        return role

    def update(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        role = update_role(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        props = cloudformation_json["Properties"]
        role.assume_role_policy_document = json_text(props["AssumeRolePolicyDocument"])
        _sync_role(backend(account_id, region_name), role, props)
        return role

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        # CloudFormation detaches the managed policies (IAM refuses to
        # delete a role that has any).
        iam = backend(account_id, region_name)
        for role in list(iam.roles.values()):
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    iam.detach_role_policy(arn, role.name)
        delete_role(cls, resource_name, cloudformation_json, account_id, region_name)

    Role.create_from_cloudformation_json = classmethod(create)
    Role.update_from_cloudformation_json = classmethod(update)
    Role.delete_from_cloudformation_json = classmethod(delete)


def _lambda_spec(props: dict[str, Any], function_name: str) -> dict[str, Any]:
    """A CreateFunction request from CloudFormation's properties."""
    spec = {k: v for k, v in props.items() if k not in ("KmsKeyArn", "Tags", "Environment")}
    spec["FunctionName"] = function_name
    if "KmsKeyArn" in props:
        spec["KMSKeyArn"] = props["KmsKeyArn"]
    if "Tags" in props:
        spec["Tags"] = tag_map(props["Tags"])
    if "Environment" in props:
        env = dict(props["Environment"])
        env["Variables"] = {k: as_string(v) for k, v in (env.get("Variables") or {}).items()}
        spec["Environment"] = env
    for key in ("MemorySize", "Timeout", "ReservedConcurrentExecutions"):
        if key in spec:
            spec[key] = int(spec[key])
    return spec


def _logging_config(function: Any) -> dict[str, Any]:
    """LoggingConfig as Lambda answers it: its defaults, then what was set."""
    config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"}
    config.update(getattr(function, "logging_config", None) or {})
    if config["LogFormat"] == "JSON":
        config.setdefault("ApplicationLogLevel", "INFO")
        config.setdefault("SystemLogLevel", "INFO")
    return config


def _patch_lambda(models: Any) -> None:
    LambdaFunction = models.LambdaFunction

    # LoggingConfig and DeadLetterConfig, kept and answered.
    init = LambdaFunction.__init__
    get_configuration = LambdaFunction.get_configuration
    update_configuration = LambdaFunction.update_configuration

    def __init__(self, account_id, spec, *args, **kwargs):
        init(self, account_id, spec, *args, **kwargs)
        self.logging_config = spec.get("LoggingConfig")
        self.dead_letter_config = spec.get("DeadLetterConfig")

    def configuration(self, on_create=False):
        config = get_configuration(self, on_create)
        config["LoggingConfig"] = _logging_config(self)
        if getattr(self, "dead_letter_config", None):
            config["DeadLetterConfig"] = self.dead_letter_config
        return config

    def update(self, config_updates):
        if "LoggingConfig" in config_updates:
            self.logging_config = {
                **(getattr(self, "logging_config", None) or {}),
                **config_updates["LoggingConfig"],
            }
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"] or None
        if "ReservedConcurrentExecutions" in config_updates:
            self.reserved_concurrency = config_updates["ReservedConcurrentExecutions"]
        return update_configuration(self, config_updates)

    LambdaFunction.__init__ = __init__
    LambdaFunction.get_configuration = configuration
    LambdaFunction.update_configuration = update

    # CloudFormation: every property.
    cfn_update = LambdaFunction.update_from_cloudformation_json.__func__

    def create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        spec = _lambda_spec(cloudformation_json["Properties"], resource_name)
        spec["Code"] = dict(spec["Code"])
        if "ZipFile" in spec["Code"]:  # inline code (with cfnresponse, as in AWS)
            spec["Code"]["ZipFile"] = base64.b64encode(
                cls._create_zipfile_from_plaintext_code(spec["Code"]["ZipFile"])
            )
        return lambda_backend(account_id, region_name).create_function(spec)

    def update_function(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        spec = _lambda_spec(cloudformation_json["Properties"], original_resource.function_name)
        return cfn_update(
            cls,
            original_resource,
            new_resource_name,
            {**cloudformation_json, "Properties": spec},
            account_id,
            region_name,
        )

    LambdaFunction.create_from_cloudformation_json = classmethod(create_function)
    LambdaFunction.update_from_cloudformation_json = classmethod(update_function)

    # PutFunctionEventInvokeConfig replaces the function's configuration
    # (moto appended, and Get answered the first one);
    # UpdateFunctionEventInvokeConfig changes only the fields given.
    backend_class = models.LambdaBackend

    def put_event_invoke_config(self, function_name, config):
        fn = self.get_function(function_name)
        event_config = models.EventInvokeConfig(fn.function_arn, fn.last_modified, config)
        fn.event_invoke_config = [event_config]
        return event_config.response()

    def update_event_invoke_config(self, function_name, config):
        fn = self.get_function(function_name)
        current = dict(fn.event_invoke_config[0].config) if fn.event_invoke_config else {}
        return put_event_invoke_config(self, function_name, {**current, **config})

    backend_class.put_function_event_invoke_config = put_event_invoke_config
    backend_class.update_function_event_invoke_config = update_event_invoke_config

    # Permissions: the statement's id is the resource's physical id (moto
    # gave none, and a random Sid), and the statement is only the
    # permission (moto kept FunctionName in it).
    Permission = models.Permission

    def create_permission(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        statement = {k: v for k, v in props.items() if k != "FunctionName"}
        statement["StatementId"] = resource_name
        fn = lambda_backend(account_id, region_name).get_function(props["FunctionName"])
        fn.policy.add_statement(raw=json.dumps(statement))
        permission = cls(region=region_name)
        permission.account_id = account_id
        permission.function_name = props["FunctionName"]
        permission.statement_id = resource_name
        return permission

    def delete_permission(self, account_id, region_name):
        try:
            fn = lambda_backend(account_id, region_name).get_function(self.function_name)
            fn.policy.del_statement(self.statement_id)
        except Exception:  # the function may be gone already
            pass

    Permission.create_from_cloudformation_json = classmethod(create_permission)
    Permission.physical_resource_id = property(lambda self: getattr(self, "statement_id", None))
    Permission.delete = delete_permission

    # Event source mappings: CloudFormation's spelling; and never attached
    # to their source (delivery off).
    EventSourceMapping = models.EventSourceMapping

    def create_mapping(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        spec = dict(cloudformation_json["Properties"])
        if "KmsKeyArn" in spec:
            spec["KMSKeyArn"] = spec.pop("KmsKeyArn")
        if "Tags" in spec:
            spec["Tags"] = tag_map(spec["Tags"])
        return lambda_backend(account_id, region_name).create_event_source_mapping(spec)

    EventSourceMapping.create_from_cloudformation_json = classmethod(create_mapping)

    create_event_source_mapping = backend_class.create_event_source_mapping

    def create_detached(self, spec):
        esm = create_event_source_mapping(self, spec)
        _detach(esm, self.account_id, self.region_name)
        return esm

    backend_class.create_event_source_mapping = create_detached


def _detach(esm: Any, account_id: str, region_name: str) -> None:
    """Takes the mapping off its SQS queue, DynamoDB table or Kinesis
    stream: moto invokes the function from there."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends
    from moto.sqs.models import sqs_backends

    sources = [
        *sqs_backends[account_id][region_name].queues.values(),
        *dynamodb_backends[account_id][region_name].tables.values(),
        *kinesis_backends[account_id][region_name].streams.values(),
    ]
    for source in sources:
        mappings = getattr(source, "lambda_event_source_mappings", None) or {}
        for key, value in list(mappings.items()):
            if value is esm:
                del mappings[key]


# ====================================================== Lambda delivery off


def _patch_sns(models: Any) -> None:
    publish = models.Subscription.publish

    def publish_except_to_lambda(self, *args, **kwargs):
        if self.protocol == "lambda":
            return None
        return publish(self, *args, **kwargs)

    models.Subscription.publish = publish_except_to_lambda


class _RuleWithoutLambdaTargets:
    """A rule seen without its Lambda targets (everything else is the rule's)."""

    def __init__(self, rule: Any):
        self._rule = rule
        self.targets = [t for t in rule.targets if not _is_lambda(t.get("Arn", ""))]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rule, name)


def _is_lambda(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 2 and parts[2] == "lambda"


def _patch_events(models: Any) -> None:
    send_to_targets = models.Rule.send_to_targets

    def send_except_to_lambda(self, original_event, transform_input=True):
        if any(_is_lambda(t.get("Arn", "")) for t in self.targets):
            self = _RuleWithoutLambdaTargets(self)
        return send_to_targets(self, original_event, transform_input)

    models.Rule.send_to_targets = send_except_to_lambda

    # An event bus's physical id (and so its Ref) is its name.
    models.EventBus.physical_resource_id = property(lambda self: self.name)

    def create_bus(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        return models.events_backends[account_id][region_name].create_event_bus(
            name=resource_name,
            event_source_name=props.get("EventSourceName"),
            description=props.get("Description"),
            kms_key_identifier=props.get("KmsKeyIdentifier"),
            dead_letter_config=props.get("DeadLetterConfig"),
            tags=props.get("Tags"),
        )

    models.EventBus.create_from_cloudformation_json = classmethod(create_bus)

    # Archives: EventPattern as JSON text (a template gives an object, on
    # which moto failed), RetentionDays a number (and read on update, where
    # moto read `Retention`); the physical id (Ref) is the name.
    Archive = models.Archive
    Archive.physical_resource_id = property(lambda self: self.name)

    def archive_json(cloudformation_json):
        props = dict(cloudformation_json.get("Properties") or {})
        if isinstance(props.get("EventPattern"), (dict, list)):
            props["EventPattern"] = json.dumps(props["EventPattern"])
        if props.get("RetentionDays") is not None:
            props["RetentionDays"] = int(props["RetentionDays"])
        return {**cloudformation_json, "Properties": props}

    create_archive = Archive.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return create_archive(
            cls, resource_name, archive_json(cloudformation_json), account_id, region_name
        )

    def update(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        cloudformation_json = archive_json(cloudformation_json)
        if new_resource_name != original_resource.name:
            original_resource.delete(account_id, region_name)
            return create(cls, new_resource_name, cloudformation_json, account_id, region_name)
        props = cloudformation_json["Properties"]
        original_resource.update(
            props.get("Description"), props.get("EventPattern"), props.get("RetentionDays")
        )
        return original_resource

    Archive.create_from_cloudformation_json = classmethod(create)
    Archive.update_from_cloudformation_json = classmethod(update)


def _no_invocation(*args: Any, **kwargs: Any) -> None:
    return None


after_import("moto.awslambda.models", _patch_lambda)
after_import("moto.sns.models", _patch_sns)
after_import("moto.events.models", _patch_events)
after_import(
    "moto.events.notifications",
    lambda m: setattr(m, "_invoke_lambda", _no_invocation),
)
after_import(
    "moto.s3.notifications",
    lambda m: setattr(m, "_invoke_awslambda", _no_invocation),
)
after_import("moto.stepfunctions.models", _patch_stepfunctions)
after_import("moto.iam.models", _patch_iam)
