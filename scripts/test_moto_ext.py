"""Checks scripts/moto_ext/: moto's CloudFormation creates Klaxon's stack
with every resource as the template declares it, custom resources wait for
their answer, and moto invokes no Lambda function on its own; the
integration examples (examples/integrations/: EventBridge connections and
API destinations whose password is a Secrets Manager dynamic reference,
an archive) deploy next to a Klaxon bus; and POST
/moto-api/klaxon/filter-records filters records as Lambda's
FilterCriteria would.

    .venv/bin/python scripts/test_moto_ext.py [-v]

Starts its own scripts/moto_server.py on a free port (and stops it),
expands infra/template.yaml with aws-sam-translator as `sam deploy` would
(CodeUri and DefinitionUri uploaded to the emulator's S3 first), creates
the stack with moto's CloudFormation and reads each resource back through
its service's API, comparing it with the template's properties (resolved
here from the stack's physical ids).
"""

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import types
import unittest
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
import botocore.exceptions

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "klaxon-test-artifacts"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
PARAMS = {
    "EmailFrom": "pages@klaxon.example",
    "StatusPage": "enabled",
    "OperatorEmail": "ops@example.com",
}

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION=REGION,
)
for _name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[_name]  # this test's own server only

# ------------------------------------------------------------------ server


class Server:
    """scripts/moto_server.py on a free port, its output in a file."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto-ext-test-", suffix=".log", delete=False)
        env = {k: v for k, v in os.environ.items() if k != "MOTO_PORT"}
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "moto_server.py"), "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        while True:
            try:
                self.get("/moto-api/")
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() - started > 30:
                    raise RuntimeError(f"moto_server.py did not start:\n{self.output()}") from None
                time.sleep(0.1)
        self.startup_s = time.monotonic() - started
        # As scripts/local-aws.sh runs it: state machines execute (and so
        # live in moto's other Step Functions backend).
        self.request("POST", "/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()

    def get(self, path):
        return self.request("GET", path)

    def custom_requests(self, stack):
        return json.loads(self.get(f"/moto-api/klaxon/custom-resource-requests?stack={stack}"))

    def output(self):
        return Path(self.log.name).read_text(errors="replace")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


SERVER: Server | None = None


def client(service):
    return boto3.client(service, endpoint_url=SERVER.url, region_name=REGION)


def setUpModule():
    global SERVER
    SERVER = Server()
    client("s3").create_bucket(Bucket=BUCKET)


def tearDownModule():
    SERVER.stop()


# --------------------------------------------------------------- templates


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


_EXPANDED = None


def klaxon_template():
    """infra/template.yaml through the SAM transform, its code and
    definitions uploaded as `sam package` would. Once per run."""
    global _EXPANDED
    if _EXPANDED is None:
        from samcli.yamlhelper import yaml_parse
        from samtranslator.translator.transform import transform

        doc = yaml_parse(TEMPLATE.read_text())
        s3 = client("s3")
        for logical_id, resource in doc["Resources"].items():
            props = resource.get("Properties") or {}
            if resource["Type"] == "AWS::Serverless::Function" and isinstance(
                props.get("CodeUri"), str
            ):
                key = f"code/{logical_id}.zip"
                # The emulator never runs the code: any package will do.
                s3.put_object(Bucket=BUCKET, Key=key, Body=_zip({"bootstrap": "not run"}))
                props["CodeUri"] = f"s3://{BUCKET}/{key}"
            if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(
                props.get("DefinitionUri"), str
            ):
                path = TEMPLATE.parent / props["DefinitionUri"]
                key = f"definitions/{path.name}"
                s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
                props["DefinitionUri"] = f"s3://{BUCKET}/{key}"

        class NoManagedPolicies:
            def load(self):
                return {}

        _EXPANDED = transform(
            doc, {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT}, NoManagedPolicies()
        )
    return _EXPANDED


_FIRST_STACK = [True]


def template_url(name, template):
    """The template (an object, or YAML text) uploaded: its S3 URL."""
    if isinstance(template, str):
        body, key = template.encode(), f"templates/{name}.yaml"
    else:
        body, key = json.dumps(template).encode(), f"templates/{name}.json"
    client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"https://{BUCKET}.s3.amazonaws.com/{key}"


def create_stack(name, template, params, wait=True):
    """CreateStack from an S3 URL (the template an object, or YAML text);
    the seconds until it left CREATE_IN_PROGRESS, and whether it was the
    server's first (moto imports its CloudFormation, most of its services,
    on first use)."""
    first, _FIRST_STACK[0] = _FIRST_STACK[0], False
    url = template_url(name, template)
    cfn = client("cloudformation")
    started = time.monotonic()
    cfn.create_stack(
        StackName=name,
        TemplateURL=url,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=CAPABILITIES,
    )
    if not wait:
        return None
    status = wait_for(name, lambda s: not s["StackStatus"].endswith("_IN_PROGRESS"))["StackStatus"]
    assert status == "CREATE_COMPLETE", f"{name}: {status}"
    return time.monotonic() - started, first


def stack(name):
    return client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def wait_for(name, done, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        s = stack(name)
        if done(s):
            return s
        assert time.monotonic() < deadline, f"{name} stays {s['StackStatus']}"
        time.sleep(0.05)


def stack_resources(name):
    return client("cloudformation").describe_stack_resources(StackName=name)["StackResources"]


def outputs(name):
    return {o["OutputKey"]: o["OutputValue"] for o in stack(name).get("Outputs", [])}


# ----------------------------------------------- the template, resolved here

NOVALUE = object()


class Resolver:
    """The template's values as CloudFormation resolves them, from the
    stack's parameters and its resources' physical ids and attributes (read
    through the services' APIs)."""

    def __init__(self, template, stack_name, params, extra_attributes=None):
        self.template = template
        self.stack_name = stack_name
        self.params = {
            k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()
        }
        self.params.update(params)
        self.conditions = {}
        for name in template.get("Conditions", {}):
            self.condition(name)
        resources = stack_resources(stack_name)
        self.physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
        self.types = {r["LogicalResourceId"]: r["ResourceType"] for r in resources}
        self.extra = extra_attributes or {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = self._evaluate(self.template["Conditions"][name])
        return self.conditions[name]

    def _evaluate(self, node):
        ((op, args),) = node.items()
        if op == "Fn::Equals":
            a, b = (self(x) for x in args)
            return str(a) == str(b)
        if op == "Fn::Not":
            return not self._evaluate(args[0])
        if op == "Fn::And":
            return all(self._evaluate(a) for a in args)
        if op == "Fn::Or":
            return any(self._evaluate(a) for a in args)
        if op == "Condition":
            return self.condition(args)
        raise ValueError(node)

    def holds(self, resource):
        condition = resource.get("Condition")
        return not condition or self.condition(condition)

    def ref(self, name):
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NOVALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.params:
            return self.params[name]
        return self.physical[name]

    def getatt(self, name, attr):
        if (name, attr) in self.extra:
            return self.extra[(name, attr)]
        kind, pid = self.types[name], self.physical[name]
        if kind == "AWS::SQS::Queue":
            if attr == "QueueName":
                return pid.rsplit("/", 1)[1]
            return client("sqs").get_queue_attributes(QueueUrl=pid, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        if kind == "AWS::DynamoDB::Table":
            table = client("dynamodb").describe_table(TableName=pid)["Table"]
            return {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn")}[attr]
        if kind == "AWS::Lambda::Function" and attr == "Arn":
            return client("lambda").get_function_configuration(FunctionName=pid)["FunctionArn"]
        if kind == "AWS::IAM::Role" and attr == "Arn":
            return client("iam").get_role(RoleName=pid)["Role"]["Arn"]
        if kind == "AWS::Events::EventBus" and attr == "Arn":
            return client("events").describe_event_bus(Name=pid)["Arn"]
        if kind == "AWS::Events::Rule" and attr == "Arn":
            bus = self(
                self.template["Resources"][name]["Properties"].get("EventBusName", "default")
            )
            return client("events").describe_rule(Name=pid, EventBusName=bus)["Arn"]
        if kind == "AWS::Events::Connection":
            connection = client("events").describe_connection(Name=pid)
            return {"Arn": connection["ConnectionArn"], "SecretArn": connection["SecretArn"]}[attr]
        if kind == "AWS::Events::ApiDestination" and attr == "Arn":
            return client("events").describe_api_destination(Name=pid)["ApiDestinationArn"]
        if kind == "AWS::Events::Archive" and attr == "Arn":
            return client("events").describe_archive(ArchiveName=pid)["ArchiveArn"]
        if kind == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:aws:s3:::{pid}"
        if kind == "AWS::Logs::LogGroup" and attr == "Arn":
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{pid}:*"
        raise ValueError(f"GetAtt {name}.{attr} ({kind})")

    def __call__(self, node):
        if isinstance(node, list):
            return [v for v in (self(x) for x in node) if v is not NOVALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.getatt(name, attr)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                values = {k: self(v) for k, v in variables.items()}

                def sub(m):
                    name = m.group(1)
                    if name in values:
                        return str(values[name])
                    if "." in name and not name.startswith("AWS::"):
                        return str(self.getatt(*name.split(".", 1)))
                    return str(self.ref(name))

                return re.sub(r"\$\{([^!}][^}]*)\}", sub, text)
            if key == "Fn::If":
                condition, a, b = arg
                return self(a if self.condition(condition) else b)
            if key == "Fn::FindInMap":
                mapping, first, second = (str(self(x)) for x in arg)
                return self.template["Mappings"][mapping][first][second]
            if key == "Fn::Join":
                return arg[0].join(str(x) for x in self(arg[1]))
        return {k: v for k, v in ((k, self(v)) for k, v in node.items()) if v is not NOVALUE}


def assert_declared(declared, actual, where):
    """`actual` (an API's answer) holds what the template declared."""
    if isinstance(declared, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        for key, value in declared.items():
            assert key in actual, f"{where}.{key} missing from {sorted(actual)}"
            assert_declared(value, actual[key], f"{where}.{key}")
    elif isinstance(declared, list):
        assert isinstance(actual, list) and len(actual) == len(declared), (
            f"{where}: {actual!r} != {declared!r}"
        )
        for i, (d, a) in enumerate(zip(declared, actual, strict=True)):
            assert_declared(d, a, f"{where}[{i}]")
    elif isinstance(declared, bool) or isinstance(actual, bool):
        assert str(declared).lower() == str(actual).lower(), f"{where}: {actual!r} != {declared!r}"
    elif isinstance(actual, (int, float)) and not isinstance(actual, bool):
        assert float(declared) == float(actual), f"{where}: {actual!r} != {declared!r}"
    else:
        assert declared == actual, f"{where}: {actual!r} != {declared!r}"


def _without(props, *keys):
    return {k: v for k, v in props.items() if k not in keys}


# ============================================================ Klaxon's stack


class KlaxonStack(unittest.TestCase):
    """The whole template: EmailFrom, StatusPage=enabled, OperatorEmail."""

    name = "klaxon-test"

    @classmethod
    def setUpClass(cls):
        cls.template = klaxon_template()
        cls.create_seconds, first = create_stack(cls.name, cls.template, PARAMS)
        cls.r = Resolver(cls.template, cls.name, PARAMS)
        cls.expected = {
            logical_id: resource
            for logical_id, resource in cls.template["Resources"].items()
            if cls.r.holds(resource)
        }
        sys.stderr.write(
            f"\nCreateStack of {len(cls.expected)} resources (of {len(cls.template['Resources'])}"
            f" in the expanded template): {cls.create_seconds:.2f} s"
            + (" (the server's first CloudFormation call)" if first else "")
            + f"; server started in {SERVER.startup_s:.2f} s\n"
        )

    def of_type(self, kind):
        return {k: v for k, v in self.expected.items() if v["Type"] == kind}

    def props(self, logical_id):
        return self.r(self.expected[logical_id].get("Properties", {}))

    def test_every_resource_is_created(self):
        resources = stack_resources(self.name)
        self.assertEqual(sorted(r["LogicalResourceId"] for r in resources), sorted(self.expected))
        for r in resources:
            self.assertTrue(r.get("PhysicalResourceId"), r)
            self.assertEqual(r["ResourceStatus"], "CREATE_COMPLETE", r)
            self.assertEqual(r["ResourceType"], self.expected[r["LogicalResourceId"]]["Type"])
        self.assertEqual(self.r.physical["EventBus"], f"{self.name}-events")
        self.assertEqual(outputs(self.name)["EventBusName"], f"{self.name}-events")

    def test_no_resource_type_is_skipped(self):
        log = SERVER.output()
        self.assertNotIn("not supported by moto", log)
        self.assertNotIn("No Moto CloudFormation support", log)

    def test_alarms(self):
        declared = [
            r for r in self.template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
        ]
        self.assertEqual(len(declared), 29)
        alarms = self.of_type("AWS::CloudWatch::Alarm")  # all but the voice one
        self.assertEqual(len(alarms), 28)
        for logical_id in alarms:
            declared = self.props(logical_id)
            name = self.r.physical[logical_id]
            self.assertEqual(name, declared["AlarmName"])
            (alarm,) = client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
            assert_declared(_without(declared, "Tags"), alarm, logical_id)
            self.assertTrue(alarm["AlarmDescription"])
            self.assertEqual(alarm["AlarmActions"], [self.r.physical["OperatorAlertsTopic"]])

    def test_state_machine_definition_has_its_substitutions(self):
        declared = self.props("EscalationStateMachine")
        machine = client("stepfunctions").describe_state_machine(
            stateMachineArn=self.r.physical["EscalationStateMachine"]
        )
        self.assertNotIn("${", machine["definition"])
        self.assertIn(
            json.dumps(declared["DefinitionSubstitutions"]["EscalationQueueUrl"]),
            machine["definition"],
        )
        self.assertIn(
            json.dumps(declared["DefinitionSubstitutions"]["IncidentsTable"]), machine["definition"]
        )
        self.assertEqual(machine["roleArn"], declared["RoleArn"])
        self.assertEqual(machine["type"], "STANDARD")
        self.assertEqual(machine["name"], f"{self.name}-escalation")
        json.loads(machine["definition"])

    def test_subscriptions(self):
        subscriptions = self.of_type("AWS::SNS::Subscription")
        self.assertIn("OperatorEmailSubscription", subscriptions)
        for logical_id in subscriptions:
            attributes = client("sns").get_subscription_attributes(
                SubscriptionArn=self.r.physical[logical_id]
            )["Attributes"]
            # SNS answers JSON attributes (RedrivePolicy) as JSON text.
            attributes = {
                k: json.loads(v) if isinstance(v, str) and v.startswith("{") else v
                for k, v in attributes.items()
            }
            assert_declared(self.props(logical_id), attributes, logical_id)
            if attributes["Protocol"] == "lambda":
                # What SNS cannot hand to a function is kept, not dropped.
                self.assertIn("dead-letters", attributes["RedrivePolicy"]["deadLetterTargetArn"])

    def test_policies(self):
        for logical_id in self.of_type("AWS::SNS::TopicPolicy"):
            declared = self.props(logical_id)
            for topic in declared["Topics"]:
                policy = client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
                self.assertEqual(json.loads(policy), declared["PolicyDocument"])
        for logical_id in self.of_type("AWS::SQS::QueuePolicy"):
            declared = self.props(logical_id)
            for queue in declared["Queues"]:
                policy = client("sqs").get_queue_attributes(
                    QueueUrl=queue, AttributeNames=["Policy"]
                )
                self.assertEqual(
                    json.loads(policy["Attributes"]["Policy"]), declared["PolicyDocument"]
                )
        declared = self.props("StatusPageBucketPolicy")
        policy = client("s3").get_bucket_policy(Bucket=declared["Bucket"])["Policy"]
        self.assertEqual(json.loads(policy), declared["PolicyDocument"])

    def test_topics_are_encrypted_with_the_stacks_key(self):
        topics = self.of_type("AWS::SNS::Topic")
        self.assertEqual(sorted(topics), ["AlarmTopic", "InboundSmsTopic", "OperatorAlertsTopic"])
        key = self.r.physical["TopicKey"]
        for logical_id in topics:
            attributes = client("sns").get_topic_attributes(TopicArn=self.r.physical[logical_id])
            self.assertEqual(attributes["Attributes"]["KmsMasterKeyId"], key, logical_id)
        kms = client("kms")
        self.assertTrue(kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])
        policy = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
        # moto answers a CloudFormation key's policy as the object it was
        # given, where AWS answers a JSON string.
        policy = json.loads(policy) if isinstance(policy, str) else policy
        self.assertEqual(policy, self.props("TopicKey")["KeyPolicy"])
        aliases = kms.list_aliases(KeyId=key)["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], [f"alias/{self.name}-topics"])

    def test_schedules(self):
        for logical_id, name in [
            ("SelfTestSchedule", "self-test"),
            ("EscalationSweepSchedule", "escalation-sweep"),
        ]:
            declared = self.props(logical_id)
            schedule = client("scheduler").get_schedule(Name=declared["Name"])
            assert_declared(declared, schedule, logical_id)
            self.assertEqual(self.r.physical[logical_id], f"{self.name}-{name}")

    def test_event_invoke_configs(self):
        configs = self.of_type("AWS::Lambda::EventInvokeConfig")
        self.assertEqual(len(configs), 4)
        for logical_id in configs:
            declared = self.props(logical_id)
            config = client("lambda").get_function_event_invoke_config(
                FunctionName=declared["FunctionName"]
            )
            assert_declared(_without(declared, "FunctionName", "Qualifier"), config, logical_id)

    def test_event_source_mappings(self):
        mappings = self.of_type("AWS::Lambda::EventSourceMapping")
        self.assertEqual(len(mappings), 4)
        listed = client("lambda").list_event_source_mappings()["EventSourceMappings"]
        for logical_id in mappings:
            declared = self.props(logical_id)
            esm = client("lambda").get_event_source_mapping(UUID=self.r.physical[logical_id])
            assert_declared(_without(declared, "FunctionName"), esm, logical_id)
            self.assertTrue(esm["FunctionArn"].endswith(":function:" + declared["FunctionName"]))
            self.assertIn(esm["UUID"], [m["UUID"] for m in listed])

    def test_functions(self):
        for logical_id in self.of_type("AWS::Lambda::Function"):
            declared = self.props(logical_id)
            config = client("lambda").get_function_configuration(
                FunctionName=declared["FunctionName"]
            )
            declared["Environment"]["Variables"] = {
                k: str(v) for k, v in declared["Environment"]["Variables"].items()
            }
            # ReservedConcurrentExecutions is GetFunctionConcurrency's.
            assert_declared(
                _without(declared, "Code", "Tags", "ReservedConcurrentExecutions"),
                config,
                logical_id,
            )
        concurrency = client("lambda").get_function_concurrency(
            FunctionName=f"{self.name}-status-page"
        )
        self.assertEqual(concurrency["ReservedConcurrentExecutions"], 1)

    def test_tables_keep_their_ttl_and_point_in_time_recovery(self):
        ddb = client("dynamodb")
        for logical_id in ("IncidentsTable", "ConfigTable"):
            props = self.props(logical_id)
            name = self.r.physical[logical_id]
            pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
            self.assertEqual(
                pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
                "ENABLED" if props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] else "DISABLED",
                logical_id,
            )
            ttl = props.get("TimeToLiveSpecification")
            described = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if ttl:
                self.assertEqual(
                    described, {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}
                )
            else:
                self.assertEqual(described["TimeToLiveStatus"], "DISABLED")

    def test_roles(self):
        iam = client("iam")
        for logical_id in self.of_type("AWS::IAM::Role"):
            declared = self.props(logical_id)
            role_name = self.r.physical[logical_id]
            attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
            self.assertEqual(
                sorted(p["PolicyArn"] for p in attached),
                sorted(declared.get("ManagedPolicyArns", [])),
            )
            for policy in declared.get("Policies", []):
                document = iam.get_role_policy(RoleName=role_name, PolicyName=policy["PolicyName"])
                self.assertEqual(document["PolicyDocument"], policy["PolicyDocument"])
        escalator = self.r.physical["EscalatorFunctionRole"]
        self.assertIn(
            "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
            [
                p["PolicyArn"]
                for p in iam.list_attached_role_policies(RoleName=escalator)["AttachedPolicies"]
            ],
        )

    def test_escalation_message_stays_in_its_queue(self):
        queue_arn = self.props("EscalatorFunctionEscalationTasks")["EventSourceArn"]
        (url,) = [
            self.r.physical[k]
            for k in self.of_type("AWS::SQS::Queue")
            if self.r.getatt(k, "Arn") == queue_arn
        ]
        self.assertEqual(url, self.r.physical["EscalationQueue"])
        sqs = client("sqs")
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"incident_id": "INC-1", "step": 0}))
        time.sleep(0.5)
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])[
            "Messages"
        ]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["Attributes"]["ApproximateReceiveCount"], "1")
        dlq = self.r.physical["EscalationDeadLetterQueue"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )
        self.assertEqual(attributes["Attributes"]["ApproximateNumberOfMessages"], "0")
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])

    def test_stream_records_stay_in_the_stream(self):
        table = self.r.physical["IncidentsTable"]
        client("dynamodb").put_item(
            TableName=table, Item={"pk": {"S": "INC#stream"}, "sk": {"S": "TL#0001"}}
        )
        streams = client("dynamodbstreams")
        arn = self.r.getatt("IncidentsTable", "StreamArn")
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator)["Records"]
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]
        self.assertIn("INC#stream", keys)

    def test_sns_and_eventbridge_invoke_no_function(self):
        # Lambda-protocol subscriptions and Lambda rule targets: accepted,
        # recorded by the topic, delivered to no function.
        client("sns").publish(TopicArn=self.r.physical["AlarmTopic"], Message='{"AlarmName": "x"}')
        answer = client("events").put_events(
            Entries=[
                {
                    "Source": "aws.cloudwatch",
                    "DetailType": "CloudWatch Alarm State Change",
                    "Detail": json.dumps({"state": {"value": "ALARM"}}),
                }
            ]
        )
        self.assertEqual(answer["FailedEntryCount"], 0)
        self.assertNotIn("docker", SERVER.output().lower())


# ===================================================== custom resource flow


def run_inline_handler(code, event):
    """Runs an inline Python function's handler here, with the cfnresponse
    module Lambda gives inline code (moto's copy of AWS's)."""
    import moto

    cfnresponse = (
        Path(moto.__file__).parent / "awslambda/resources/cfnresponse.py.txt"
    ).read_text()
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "index.py").write_text(code)
        Path(folder, "cfnresponse.py").write_text(cfnresponse)
        sys.path.insert(0, folder)
        try:
            for module in ("index", "cfnresponse"):
                sys.modules.pop(module, None)
            import index

            with contextlib.redirect_stdout(io.StringIO()):  # cfnresponse prints
                index.handler(event, types.SimpleNamespace(log_stream_name="local/test"))
        finally:
            sys.path.remove(folder)
            for module in ("index", "cfnresponse"):
                sys.modules.pop(module, None)


HANDLER = """import cfnresponse

def handler(event, context):
    props = event["ResourceProperties"]
    if props.get("Fail") == "true":
        reason = "no greeting for " + props["Who"]
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason=reason)
        return
    greeting = "hello-" + props["Who"]
    cfnresponse.send(event, context, cfnresponse.SUCCESS,
                     {"Greeting": greeting, "Count": props["Count"], "Flag": props["Flag"]},
                     "greeting-" + props["Who"])
"""

UNKNOWN_AWS_POLICY = "arn:aws:iam::aws:policy/KlaxonTestPolicyMotoDoesNotList"


def greeting_template(fail=False):
    return {
        "Parameters": {"Who": {"Type": "String", "Default": "world"}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "ManagedPolicyArns": [
                        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                        UNKNOWN_AWS_POLICY,
                    ],
                },
            },
            "DeadLetters": {"Type": "AWS::SQS::Queue"},
            "Logs": {"Type": "AWS::Logs::LogGroup"},
            "Greeter": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": HANDLER},
                    "Timeout": 30,
                    "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}},
                    "Environment": {"Variables": {"RETRIES": 3, "VERBOSE": True}},
                },
            },
            "GreeterUrl": {
                "Type": "AWS::Lambda::Url",
                "Properties": {
                    "TargetFunctionArn": {"Fn::GetAtt": ["Greeter", "Arn"]},
                    "AuthType": "AWS_IAM",
                    "InvokeMode": "RESPONSE_STREAM",
                    "Cors": {
                        "AllowOrigins": ["https://klaxon.example"],
                        "AllowMethods": ["GET"],
                        "MaxAge": 60,
                    },
                },
            },
            "Greeting": {
                "Type": "Custom::Greeting",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["Greeter", "Arn"]},
                    "Who": {"Ref": "Who"},
                    "Count": 3,
                    "Flag": True,
                    "Fail": fail,
                },
            },
            # Uses the answer: created after it.
            "GreetingQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": {"Fn::Sub": "${AWS::StackName}-${Greeting.Greeting}"}},
            },
            "GreetingMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "StateMachineType": "EXPRESS",
                    "Definition": {
                        "StartAt": "Say",
                        "States": {
                            "Say": {
                                "Type": "Pass",
                                "Result": {"says": "${Greeting}", "id": "${Id}"},
                                "End": True,
                            }
                        },
                    },
                    "DefinitionSubstitutions": {
                        "Greeting": {"Fn::GetAtt": ["Greeting", "Greeting"]},
                        "Id": {"Ref": "Greeting"},
                    },
                    "LoggingConfiguration": {
                        "Level": "ERROR",
                        "IncludeExecutionData": False,
                        "Destinations": [
                            {
                                "CloudWatchLogsLogGroup": {
                                    "LogGroupArn": {"Fn::GetAtt": ["Logs", "Arn"]}
                                }
                            }
                        ],
                    },
                    "TracingConfiguration": {"Enabled": True},
                },
            },
        },
        "Outputs": {
            "Greeting": {"Value": {"Fn::GetAtt": ["Greeting", "Greeting"]}},
            "GreetingId": {"Value": {"Ref": "Greeting"}},
            "Count": {"Value": {"Fn::GetAtt": ["Greeting", "Count"]}},
            "Url": {"Value": {"Fn::GetAtt": ["GreeterUrl", "FunctionUrl"]}},
        },
    }


def answer_pending(name, template, expected_type="Create"):
    """Runs the pending request of `name` through its function's inline code."""
    (request,) = wait_for_requests(name)
    assert request["RequestType"] == expected_type, request
    code = template["Resources"]["Greeter"]["Properties"]["Code"]["ZipFile"]
    run_inline_handler(code, request)
    return request


def wait_for_requests(name, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        requests = SERVER.custom_requests(name)
        if requests or time.monotonic() > deadline:
            return requests
        time.sleep(0.05)


class CustomResources(unittest.TestCase):
    def test_request_answer_and_what_waited(self):
        name = "greeting-test"
        template = greeting_template()
        create_stack(name, template, {}, wait=False)
        s = stack(name)
        self.assertEqual(s["StackStatus"], "CREATE_IN_PROGRESS")
        self.assertNotIn("Outputs", s)
        created = {r["LogicalResourceId"]: r for r in stack_resources(name)}
        self.assertEqual(created["Greeting"]["ResourceStatus"], "CREATE_IN_PROGRESS")
        self.assertNotIn("PhysicalResourceId", created["Greeting"])
        self.assertNotIn("GreetingQueue", created)  # waits for the answer
        self.assertNotIn("GreetingMachine", created)
        self.assertEqual(created["Greeter"]["ResourceStatus"], "CREATE_COMPLETE")

        (request,) = SERVER.custom_requests(name)
        self.assertEqual(SERVER.custom_requests(s["StackId"]), [request])
        self.assertEqual(SERVER.custom_requests("some-other-stack"), [])
        function_arn = client("lambda").get_function_configuration(
            FunctionName=created["Greeter"]["PhysicalResourceId"]
        )["FunctionArn"]
        self.assertEqual(request["ServiceToken"], function_arn)
        self.assertEqual(request["StackId"], s["StackId"])
        self.assertEqual(request["LogicalResourceId"], "Greeting")
        self.assertEqual(request["ResourceType"], "Custom::Greeting")
        self.assertTrue(request["RequestId"])
        self.assertEqual(
            request["ResourceProperties"],
            {
                "ServiceToken": function_arn,
                "Who": "world",
                "Count": "3",
                "Flag": "true",
                "Fail": "false",
            },
        )
        self.assertTrue(request["ResponseURL"].startswith(SERVER.url + "/"), request["ResponseURL"])

        answer_pending(name, template)
        s = wait_for(name, lambda s: s["StackStatus"] != "CREATE_IN_PROGRESS")
        self.assertEqual(s["StackStatus"], "CREATE_COMPLETE")
        self.assertEqual(SERVER.custom_requests(name), [])
        out = outputs(name)
        self.assertEqual(out["Greeting"], "hello-world")
        self.assertEqual(out["GreetingId"], "greeting-world")
        self.assertEqual(out["Count"], "3")
        resources = {r["LogicalResourceId"]: r for r in stack_resources(name)}
        self.assertEqual(len(resources), len(template["Resources"]))
        self.assertTrue(all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in resources.values()))
        self.assertEqual(resources["Greeting"]["PhysicalResourceId"], "greeting-world")
        self.assertTrue(
            resources["GreetingQueue"]["PhysicalResourceId"].endswith(f"/{name}-hello-world")
        )

        # The state machine: Definition (an object) with its substitutions.
        machine = client("stepfunctions").describe_state_machine(
            stateMachineArn=resources["GreetingMachine"]["PhysicalResourceId"]
        )
        self.assertEqual(
            json.loads(machine["definition"])["States"]["Say"]["Result"],
            {"says": "hello-world", "id": "greeting-world"},
        )
        self.assertEqual(machine["type"], "EXPRESS")
        self.assertEqual(machine["loggingConfiguration"]["level"], "ERROR")
        self.assertFalse(machine["loggingConfiguration"]["includeExecutionData"])
        self.assertEqual(len(machine["loggingConfiguration"]["destinations"]), 1)
        self.assertTrue(machine["tracingConfiguration"]["enabled"])

        # The function: DeadLetterConfig, LoggingConfig (defaults), strings.
        config = client("lambda").get_function_configuration(
            FunctionName=resources["Greeter"]["PhysicalResourceId"]
        )
        queue_arn = client("sqs").get_queue_attributes(
            QueueUrl=resources["DeadLetters"]["PhysicalResourceId"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.assertEqual(config["DeadLetterConfig"], {"TargetArn": queue_arn})
        self.assertEqual(config["LoggingConfig"]["LogFormat"], "Text")
        self.assertEqual(config["Environment"]["Variables"], {"RETRIES": "3", "VERBOSE": "true"})
        self.assertEqual(config["Timeout"], 30)

        # The function URL.
        url = client("lambda").get_function_url_config(FunctionName=config["FunctionName"])
        self.assertEqual(url["FunctionUrl"], out["Url"])
        self.assertEqual(url["AuthType"], "AWS_IAM")
        self.assertEqual(url["InvokeMode"], "RESPONSE_STREAM")
        self.assertEqual(url["Cors"]["AllowOrigins"], ["https://klaxon.example"])
        self.assertEqual(resources["GreeterUrl"]["PhysicalResourceId"], config["FunctionArn"])

        # A managed policy moto's list lacks is still listed.
        attached = client("iam").list_attached_role_policies(
            RoleName=resources["Role"]["PhysicalResourceId"]
        )
        self.assertIn(UNKNOWN_AWS_POLICY, [p["PolicyArn"] for p in attached["AttachedPolicies"]])

        # An update that changes the resource's properties asks again.
        client("cloudformation").update_stack(
            StackName=name,
            TemplateURL=f"https://{BUCKET}.s3.amazonaws.com/templates/{name}.json",
            Parameters=[{"ParameterKey": "Who", "ParameterValue": "klaxon"}],
            Capabilities=CAPABILITIES,
        )
        self.assertEqual(stack(name)["StackStatus"], "UPDATE_IN_PROGRESS")
        request = answer_pending(name, template, "Update")
        self.assertEqual(request["PhysicalResourceId"], "greeting-world")
        self.assertEqual(request["OldResourceProperties"]["Who"], "world")
        self.assertEqual(request["ResourceProperties"]["Who"], "klaxon")
        s = wait_for(name, lambda s: s["StackStatus"] != "UPDATE_IN_PROGRESS")
        self.assertEqual(s["StackStatus"], "UPDATE_COMPLETE")
        self.assertEqual(outputs(name)["Greeting"], "hello-klaxon")
        self.assertEqual(outputs(name)["GreetingId"], "greeting-klaxon")
        # What uses its data was updated after the answer.
        machine = client("stepfunctions").describe_state_machine(
            stateMachineArn=resources["GreetingMachine"]["PhysicalResourceId"]
        )
        self.assertEqual(
            json.loads(machine["definition"])["States"]["Say"]["Result"],
            {"says": "hello-klaxon", "id": "greeting-klaxon"},
        )

    def test_failed_answer_rolls_the_stack_back(self):
        name = "greeting-fails"
        template = greeting_template(fail=True)
        create_stack(name, template, {}, wait=False)
        answer_pending(name, template)
        s = wait_for(name, lambda s: not s["StackStatus"].endswith("_IN_PROGRESS"))
        self.assertEqual(s["StackStatus"], "ROLLBACK_COMPLETE")
        self.assertIn("[Greeting]", s["StackStatusReason"])
        self.assertIn("no greeting for world", s["StackStatusReason"])
        self.assertEqual(SERVER.custom_requests(name), [])
        self.assertEqual(stack_resources(name), [])  # rolled back
        self.assertNotIn("Outputs", s)

    def test_an_answer_to_no_request_is_refused(self):
        body = json.dumps(
            {
                "Status": "SUCCESS",
                "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/none/x",
                "RequestId": "x",
                "LogicalResourceId": "x",
                "PhysicalResourceId": "x",
            }
        ).encode()
        req = urllib.request.Request(
            f"{SERVER.url}/cloudformation_{REGION}/cfnresponse?stack=none", data=body, method="PUT"
        )
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertIn(e.exception.code, (400, 404))


class VoiceStack(unittest.TestCase):
    """Klaxon's template with VoiceFromNumber: the SIP media application
    (a custom resource) is answered here directly, to prove the flow."""

    name = "klaxon-voice-test"

    def test_voice_stack_waits_for_the_sip_media_application(self):
        template = klaxon_template()
        params = {**PARAMS, "VoiceFromNumber": "+12065550100"}
        started = time.monotonic()
        create_stack(self.name, template, params, wait=False)
        (request,) = wait_for_requests(self.name)
        self.assertEqual(request["LogicalResourceId"], "SipMediaApplication")
        self.assertEqual(request["ResourceType"], "Custom::SipMediaApplication")
        self.assertEqual(request["ResourceProperties"]["Name"], f"{self.name}-voice")
        self.assertTrue(request["ServiceToken"].endswith(f":function:{self.name}-voice-setup"))
        self.assertTrue(
            request["ResourceProperties"]["LambdaArn"].endswith(f":function:{self.name}-voice-call")
        )
        self.assertEqual(stack(self.name)["StackStatus"], "CREATE_IN_PROGRESS")
        waiting = {r["LogicalResourceId"] for r in stack_resources(self.name)}
        for logical_id in (
            "SmsReplyFunction",
            "EscalatorFunction",
            "SmsReplyFunctionRole",
            "EscalatorFunctionRole",
        ):
            self.assertNotIn(logical_id, waiting)  # they use its id and ARN
        self.assertIn("VoiceSetupFunction", waiting)

        sma_id = f"sma-{uuid.uuid4()}"  # this test's answer, in place of Chime's
        sma_arn = f"arn:aws:chime:{REGION}:{ACCOUNT}:sma/{sma_id}"
        body = json.dumps(
            {
                "Status": "SUCCESS",
                "PhysicalResourceId": sma_id,
                "StackId": request["StackId"],
                "RequestId": request["RequestId"],
                "LogicalResourceId": request["LogicalResourceId"],
                "Data": {"SipMediaApplicationId": sma_id, "SipMediaApplicationArn": sma_arn},
            }
        ).encode()
        urllib.request.urlopen(
            urllib.request.Request(
                request["ResponseURL"], data=body, method="PUT", headers={"content-type": ""}
            ),
            timeout=30,
        ).read()
        s = wait_for(self.name, lambda s: s["StackStatus"] != "CREATE_IN_PROGRESS")
        self.assertEqual(s["StackStatus"], "CREATE_COMPLETE")
        sys.stderr.write(
            f"\nvoice stack: created and answered in {time.monotonic() - started:.2f} s\n"
        )

        r = Resolver(
            template,
            self.name,
            params,
            {
                ("SipMediaApplication", "SipMediaApplicationId"): sma_id,
                ("SipMediaApplication", "SipMediaApplicationArn"): sma_arn,
            },
        )
        expected = {k for k, v in template["Resources"].items() if r.holds(v)}
        resources = {x["LogicalResourceId"]: x for x in stack_resources(self.name)}
        self.assertEqual(sorted(resources), sorted(expected))
        self.assertTrue(
            all(
                x["ResourceStatus"] == "CREATE_COMPLETE" and x.get("PhysicalResourceId")
                for x in resources.values()
            )
        )
        self.assertEqual(resources["SipMediaApplication"]["PhysicalResourceId"], sma_id)
        self.assertEqual(outputs(self.name)["SipMediaApplicationId"], sma_id)
        for function in ("sms-reply", "escalator"):
            env = client("lambda").get_function_configuration(
                FunctionName=f"{self.name}-{function}"
            )["Environment"]["Variables"]
            self.assertEqual(env["KLAXON_SIP_MEDIA_APPLICATION_ID"], sma_id)
            self.assertEqual(env["KLAXON_VOICE_FROM_NUMBER"], "+12065550100")
        role = resources["EscalatorFunctionRole"]["PhysicalResourceId"]
        document = client("iam").get_role_policy(
            RoleName=role, PolicyName="EscalatorFunctionRolePolicy0"
        )["PolicyDocument"]
        voice = [st for st in document["Statement"] if st.get("Sid") == "VoicePages"]
        self.assertEqual(voice[0]["Resource"], sma_arn)
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role" and logical_id in expected:
                for policy in r(resource["Properties"]).get("Policies", []):
                    got = client("iam").get_role_policy(
                        RoleName=resources[logical_id]["PhysicalResourceId"],
                        PolicyName=policy["PolicyName"],
                    )["PolicyDocument"]
                    self.assertEqual(got, policy["PolicyDocument"], logical_id)

        # The escalation state machine runs (moto's executing backend) with
        # its substituted definition: its first step reaches the queue.
        sfn = client("stepfunctions")
        execution = sfn.start_execution(
            stateMachineArn=resources["EscalationStateMachine"]["PhysicalResourceId"],
            input=json.dumps({"incident_id": "INC-voice", "step": 0, "hold_seconds": 0}),
        )["executionArn"]
        queue = resources["EscalationQueue"]["PhysicalResourceId"]
        deadline = time.monotonic() + 20
        messages = []
        while not messages and time.monotonic() < deadline:
            messages = (
                client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
            )
        self.assertTrue(messages, sfn.describe_execution(executionArn=execution))
        step = json.loads(messages[0]["Body"])
        self.assertEqual((step["incident_id"], step["step"]), ("INC-voice", 0))
        self.assertTrue(step["task_token"])
        sfn.stop_execution(executionArn=execution)


class KlaxonUpdateAndDelete(unittest.TestCase):
    """UpdateStack: conditions that change (status page off, voice on), a
    parameter used in a Sub (the interval) or an Fn::If; then DeleteStack."""

    name = "klaxon-update-test"

    def test_update_then_delete(self):
        template = klaxon_template()
        create_stack(self.name, template, PARAMS)
        self.assertTrue(
            client("lambda").get_function_configuration(FunctionName=f"{self.name}-status-page")
        )
        bucket = {
            r["LogicalResourceId"]: r["PhysicalResourceId"] for r in stack_resources(self.name)
        }["StatusPageBucket"]

        params = {
            **PARAMS,
            "StatusPage": "disabled",
            "LogLevel": "DEBUG",
            "SelfTestIntervalMinutes": "5",
            "VoiceFromNumber": "+12065550100",
        }
        client("cloudformation").update_stack(
            StackName=self.name,
            TemplateURL=f"https://{BUCKET}.s3.amazonaws.com/templates/{self.name}.json",
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=CAPABILITIES,
        )
        # Voice on: the SIP media application is asked for, and what uses
        # it waits.
        self.assertEqual(stack(self.name)["StackStatus"], "UPDATE_IN_PROGRESS")
        (request,) = wait_for_requests(self.name)
        self.assertEqual(
            (request["RequestType"], request["LogicalResourceId"]),
            ("Create", "SipMediaApplication"),
        )
        env = client("lambda").get_function_configuration(FunctionName=f"{self.name}-sms-reply")[
            "Environment"
        ]["Variables"]
        self.assertEqual(env["KLAXON_SIP_MEDIA_APPLICATION_ID"], "")

        sma_id = f"sma-{uuid.uuid4()}"  # this test's answer, in place of Chime's
        sma_arn = f"arn:aws:chime:{REGION}:{ACCOUNT}:sma/{sma_id}"
        body = json.dumps(
            {
                "Status": "SUCCESS",
                "PhysicalResourceId": sma_id,
                "StackId": request["StackId"],
                "RequestId": request["RequestId"],
                "LogicalResourceId": "SipMediaApplication",
                "Data": {"SipMediaApplicationId": sma_id, "SipMediaApplicationArn": sma_arn},
            }
        ).encode()
        # urllib's default Content-Type (form-encoded): the ResponseURL takes any.
        urllib.request.urlopen(
            urllib.request.Request(request["ResponseURL"], data=body, method="PUT"), timeout=30
        ).read()
        s = wait_for(self.name, lambda s: s["StackStatus"] != "UPDATE_IN_PROGRESS")
        self.assertEqual(s["StackStatus"], "UPDATE_COMPLETE")

        r = Resolver(
            template,
            self.name,
            params,
            {
                ("SipMediaApplication", "SipMediaApplicationId"): sma_id,
                ("SipMediaApplication", "SipMediaApplicationArn"): sma_arn,
            },
        )
        expected = {k for k, v in template["Resources"].items() if r.holds(v)}
        resources = stack_resources(self.name)
        self.assertEqual(sorted(x["LogicalResourceId"] for x in resources), sorted(expected))
        self.assertTrue(
            all(
                x["ResourceStatus"] == "UPDATE_COMPLETE" and x.get("PhysicalResourceId")
                for x in resources
            )
        )
        self.assertNotIn("StatusPageBucket", expected)
        client("s3").head_bucket(Bucket=bucket)  # DeletionPolicy: Retain
        functions = {f["FunctionName"] for f in client("lambda").list_functions()["Functions"]}
        self.assertNotIn(f"{self.name}-status-page", functions)
        self.assertIn(f"{self.name}-voice-call", functions)
        alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{self.name}-")[
            "MetricAlarms"
        ]
        self.assertEqual(
            sorted(a["AlarmName"] for a in alarms),
            sorted(
                r.physical[k]
                for k in expected
                if template["Resources"][k]["Type"] == "AWS::CloudWatch::Alarm"
            ),
        )
        (self_test,) = [a for a in alarms if a["AlarmName"] == f"{self.name}-self-test"]
        self.assertEqual((self_test["EvaluationPeriods"], self_test["DatapointsToAlarm"]), (7, 7))
        schedule = client("scheduler").get_schedule(Name=f"{self.name}-self-test")
        self.assertEqual(schedule["ScheduleExpression"], "rate(5 minutes)")
        for function in ("sms-reply", "escalator"):
            config = client("lambda").get_function_configuration(
                FunctionName=f"{self.name}-{function}"
            )
            self.assertEqual(
                config["Environment"]["Variables"]["KLAXON_SIP_MEDIA_APPLICATION_ID"], sma_id
            )
            self.assertEqual(config["LoggingConfig"]["ApplicationLogLevel"], "DEBUG")
        self.assertEqual(outputs(self.name)["SipMediaApplicationId"], sma_id)
        self.assertNotIn("StatusPageUrl", outputs(self.name))

        client("cloudformation").delete_stack(StackName=self.name)
        self.assertEqual(
            client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{self.name}-")["MetricAlarms"],
            [],
        )
        self.assertFalse(
            [
                f
                for f in client("lambda").list_functions()["Functions"]
                if f["FunctionName"].startswith(self.name)
            ]
        )
        self.assertFalse(
            [x for x in client("iam").list_roles()["Roles"] if x["RoleName"].startswith(self.name)]
        )
        self.assertFalse(
            [
                s
                for s in client("scheduler").list_schedules()["Schedules"]
                if s["Name"].startswith(self.name)
            ]
        )
        names = {
            m["FunctionArn"].rsplit(":", 1)[1]
            for m in client("lambda").list_event_source_mappings()["EventSourceMappings"]
        }
        self.assertFalse([n for n in names if n.startswith(self.name)])
        # Retained, as the template says.
        client("dynamodb").describe_table(TableName=f"{self.name}-incidents")


# ======================================= integration examples (EventBridge)

EXAMPLES = ROOT / "examples" / "integrations"


def example_template(name):
    """An example's YAML text, and the template it declares (short-form
    functions as their long form, for Resolver)."""
    from samcli.yamlhelper import yaml_parse

    text = (EXAMPLES / name).read_text()
    return text, yaml_parse(text)


def rule_on_bus(bus, name):
    """The rule named `name` on the bus, and its targets."""
    events = client("events")
    (rule,) = [r for r in events.list_rules(EventBusName=bus)["Rules"] if r["Name"] == name]
    targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    return rule, targets


class IntegrationExamples(unittest.TestCase):
    """examples/integrations/: the Jira and ServiceNow API destinations
    (connections whose password is a Secrets Manager dynamic reference)
    and the archive, deployed next to a Klaxon stack's bus."""

    klaxon = "klaxon-int"  # the Klaxon stack they name: its bus only
    bus = f"{klaxon}-events"

    @classmethod
    def setUpClass(cls):
        client("events").create_event_bus(Name=cls.bus)
        secrets = client("secretsmanager")
        secrets.create_secret(Name="jira-token", SecretString="jira-example-token")
        secrets.create_secret(Name="sn-password", SecretString="sn-example-password")

    def deploy(self, example, name, params):
        text, template = example_template(example)
        params = {"KlaxonStack": self.klaxon, **params}
        create_stack(name, text, params)
        resources = stack_resources(name)
        self.assertEqual(
            sorted(r["LogicalResourceId"] for r in resources), sorted(template["Resources"])
        )
        for r in resources:
            self.assertEqual(r["ResourceStatus"], "CREATE_COMPLETE", r)
            self.assertTrue(r.get("PhysicalResourceId"), r)
        return template, Resolver(template, name, params)

    def check_api_destination(
        self, template, r, prefix, connection_id, destination_id, user, secret
    ):
        events = client("events")
        # The connection: generated name, BASIC auth, the password resolved
        # from Secrets Manager (DescribeConnection hides it, as AWS does;
        # the connection's own secret holds it).
        name = r.physical[connection_id]
        self.assertTrue(name.startswith(f"{r.stack_name}-{connection_id}-"), name)
        connection = events.describe_connection(Name=name)
        self.assertEqual(connection["Name"], name)
        self.assertEqual(connection["AuthorizationType"], "BASIC")
        self.assertEqual(connection["AuthParameters"]["BasicAuthParameters"]["Username"], user)
        stored = client("secretsmanager").get_secret_value(SecretId=connection["SecretArn"])
        self.assertEqual(json.loads(stored["SecretString"]), {"username": user, "password": secret})
        # The API destination.
        declared = r(template["Resources"][destination_id]["Properties"])
        destination = events.describe_api_destination(Name=r.physical[destination_id])
        self.assertEqual(destination["ConnectionArn"], connection["ConnectionArn"])
        self.assertTrue(destination["InvocationEndpoint"].startswith(prefix))
        assert_declared(declared, destination, destination_id)
        self.assertIn(":api-destination/", destination["ApiDestinationArn"])
        # The rule on Klaxon's bus, and its one target: the API destination.
        declared = r(template["Resources"]["OpenedIncidents"]["Properties"])
        self.assertEqual(declared["EventBusName"], self.bus)
        rule, targets = rule_on_bus(self.bus, r.physical["OpenedIncidents"])
        self.assertEqual(json.loads(rule["EventPattern"]), declared["EventPattern"])
        self.assertEqual(rule["Description"], declared["Description"])
        (target,) = targets
        (declared_target,) = declared["Targets"]
        assert_declared(declared_target, target, "OpenedIncidents.Targets[0]")
        self.assertEqual(target["Arn"], destination["ApiDestinationArn"])
        self.assertEqual(target["RetryPolicy"], declared_target["RetryPolicy"])
        self.assertEqual(target["InputTransformer"]["InputPathsMap"]["id"], "$.detail.incident_id")
        self.assertNotIn("${", target["InputTransformer"]["InputTemplate"])
        dead_letters = [
            k for k, v in template["Resources"].items() if v["Type"] == "AWS::SQS::Queue"
        ]
        self.assertEqual(target["DeadLetterConfig"]["Arn"], r.getatt(dead_letters[0], "Arn"))
        self.assertEqual(target["RoleArn"], r.getatt("InvokeRole", "Arn"))
        # The role may invoke it; the dead-letter queue takes the rule's.
        (policy,) = r(template["Resources"]["InvokeRole"]["Properties"])["Policies"]
        document = client("iam").get_role_policy(
            RoleName=r.physical["InvokeRole"], PolicyName=policy["PolicyName"]
        )["PolicyDocument"]
        self.assertEqual(document["Statement"][0]["Resource"], destination["ApiDestinationArn"])
        queue_policy = json.loads(
            client("sqs").get_queue_attributes(
                QueueUrl=r.physical[dead_letters[0]], AttributeNames=["Policy"]
            )["Attributes"]["Policy"]
        )
        self.assertEqual(
            queue_policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"], rule["Arn"]
        )
        # An event the rule matches is accepted (the emulator sends nothing
        # to an API destination), and nothing is dead-lettered.
        answer = client("events").put_events(
            Entries=[
                {
                    "EventBusName": self.bus,
                    "Source": "klaxon",
                    "DetailType": "Incident Opened",
                    "Detail": json.dumps(
                        {
                            "incident_id": "INC-1",
                            "incident": {"severity": "SEV1", "title": "t", "service": "s"},
                        }
                    ),
                }
            ]
        )
        self.assertEqual(answer["FailedEntryCount"], 0)
        attributes = client("sqs").get_queue_attributes(
            QueueUrl=r.physical[dead_letters[0]], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        self.assertEqual(attributes["ApproximateNumberOfMessages"], "0")
        return target

    def test_jira(self):
        params = {
            "JiraBaseUrl": "https://example.atlassian.net",
            "JiraProjectKey": "OPS",
            "JiraUser": "ops@example.com",
            "JiraTokenSecretName": "jira-token",
        }
        template, r = self.deploy("jira.yaml", "int-jira", params)
        target = self.check_api_destination(
            template,
            r,
            "https://example.atlassian.net/rest/api/2/issue",
            "JiraConnection",
            "JiraIssues",
            "ops@example.com",
            "jira-example-token",
        )
        body = target["InputTransformer"]["InputTemplate"]
        self.assertIn('"project": {"key": "OPS"}', body)
        self.assertEqual(
            sorted(target["InputTransformer"]["InputPathsMap"]),
            ["alarm", "id", "opened", "service", "severity", "title", "url"],
        )

    def test_servicenow(self):
        params = {
            "ServiceNowInstanceUrl": "https://example.service-now.com",
            "ServiceNowUser": "klaxon",
            "ServiceNowPasswordSecretName": "sn-password",
        }
        template, r = self.deploy("servicenow.yaml", "int-servicenow", params)
        target = self.check_api_destination(
            template,
            r,
            "https://example.service-now.com/api/now/table/incident",
            "ServiceNowConnection",
            "ServiceNowIncidents",
            "klaxon",
            "sn-example-password",
        )
        self.assertIn('"correlation_id": "<id>"', target["InputTransformer"]["InputTemplate"])

    def test_archive(self):
        template, r = self.deploy("archive.yaml", "int-archive", {})
        declared = r(template["Resources"]["IncidentEventsArchive"]["Properties"])
        name = r.physical["IncidentEventsArchive"]
        self.assertEqual(name, f"{self.klaxon}-incident-events")
        archive = client("events").describe_archive(ArchiveName=name)
        bus_arn = client("events").describe_event_bus(Name=self.bus)["Arn"]
        self.assertEqual(archive["EventSourceArn"], bus_arn)
        self.assertEqual(archive["EventSourceArn"], declared["SourceArn"])
        self.assertEqual(archive["RetentionDays"], 90)
        self.assertEqual(json.loads(archive["EventPattern"]), {"source": ["klaxon"]})
        self.assertEqual(archive["Description"], declared["Description"])
        self.assertEqual(outputs("int-archive")["ArchiveArn"], archive["ArchiveArn"])

    def test_a_missing_secret_fails_the_connection_and_rolls_back(self):
        name = "int-servicenow-no-secret"
        text, _ = example_template("servicenow.yaml")
        params = {
            "KlaxonStack": self.klaxon,
            "ServiceNowInstanceUrl": "https://example.service-now.com",
            "ServiceNowUser": "klaxon",
            "ServiceNowPasswordSecretName": "no-such-secret",
        }
        create_stack(name, text, params, wait=False)  # CreateStack answers
        s = wait_for(name, lambda s: not s["StackStatus"].endswith("_IN_PROGRESS"))
        self.assertEqual(s["StackStatus"], "ROLLBACK_COMPLETE")
        self.assertIn("[ServiceNowConnection]", s["StackStatusReason"])
        self.assertIn("can't find the specified secret", s["StackStatusReason"])
        self.assertEqual(stack_resources(name), [])
        events = client("events")
        self.assertFalse(
            [c for c in events.list_connections()["Connections"] if c["Name"].startswith(name)]
        )
        self.assertFalse(
            [x for x in client("iam").list_roles()["Roles"] if x["RoleName"].startswith(name)]
        )
        rules = events.list_rules(EventBusName=self.bus)["Rules"]
        self.assertFalse([x for x in rules if x["Name"].startswith(name)])


DYNAMIC_TEMPLATE = {
    "Parameters": {
        "Description": {"Type": "String", "Default": "first"},
        "SecretName": {"Type": "String", "Default": "int-api-key"},
        "Endpoint": {"Type": "String", "Default": "https://example.com/hook"},
    },
    "Resources": {
        "Connection": {
            "Type": "AWS::Events::Connection",
            "Properties": {
                "Name": {"Fn::Sub": "${AWS::StackName}-conn"},
                "Description": {"Ref": "Description"},
                "AuthorizationType": "API_KEY",
                "AuthParameters": {
                    "ApiKeyAuthParameters": {
                        "ApiKeyName": "Authorization",
                        # Part of a string, a JSON key, the secret's ARN.
                        "ApiKeyValue": {
                            "Fn::Sub": [
                                "Bearer {{resolve:secretsmanager:${Arn}:SecretString:token}}",
                                {"Arn": "SECRET_ARN"},
                            ]
                        },
                    },
                    "InvocationHttpParameters": {
                        "HeaderParameters": [
                            {
                                "Key": "X-User",
                                "Value": {
                                    "Fn::Sub": "{{resolve:secretsmanager:${SecretName}"
                                    ":SecretString:user:AWSCURRENT}}"
                                },
                                "IsValueSecret": "false",
                            }
                        ]
                    },
                },
            },
        },
        "Destination": {
            "Type": "AWS::Events::ApiDestination",
            "Properties": {
                "ConnectionArn": {"Fn::GetAtt": ["Connection", "Arn"]},
                "InvocationEndpoint": {"Ref": "Endpoint"},
                "HttpMethod": "PUT",
                "InvocationRateLimitPerSecond": "3",
                "Description": {"Ref": "Description"},
            },
        },
    },
    "Outputs": {
        "ConnectionName": {"Value": {"Ref": "Connection"}},
        "ConnectionArn": {"Value": {"Fn::GetAtt": ["Connection", "Arn"]}},
        "SecretArn": {"Value": {"Fn::GetAtt": ["Connection", "SecretArn"]}},
        "DestinationName": {"Value": {"Ref": "Destination"}},
        "DestinationArn": {"Value": {"Fn::GetAtt": ["Destination", "Arn"]}},
    },
}


class ConnectionsAndDynamicReferences(unittest.TestCase):
    # Long enough for a generated API destination name to be cut to 64.
    name = "int-dynamic-references-with-a-stack-name-long-enough-to-cut"

    def test_resolved_and_updated_in_place(self):
        secret_arn = client("secretsmanager").create_secret(
            Name="int-api-key", SecretString=json.dumps({"token": "t0k3n", "user": "bot"})
        )["ARN"]
        template = json.loads(json.dumps(DYNAMIC_TEMPLATE).replace("SECRET_ARN", secret_arn))
        create_stack(self.name, template, {})
        out = outputs(self.name)
        events = client("events")
        self.assertEqual(out["ConnectionName"], f"{self.name}-conn")
        connection = events.describe_connection(Name=out["ConnectionName"])
        self.assertEqual(connection["ConnectionArn"], out["ConnectionArn"])
        self.assertEqual(connection["SecretArn"], out["SecretArn"])
        self.assertEqual(connection["AuthorizationType"], "API_KEY")
        self.assertEqual(connection["Description"], "first")
        stored = json.loads(
            client("secretsmanager").get_secret_value(SecretId=out["SecretArn"])["SecretString"]
        )
        self.assertEqual(stored["api_key_value"], "Bearer t0k3n")
        (header,) = stored["invocation_http_parameters"]["header_parameters"]
        self.assertEqual((header["key"], header["value"]), ("X-User", "bot"))
        self.assertIs(header["is_value_secret"], False)
        # A generated name: <stack>-<logical id>-<suffix>, cut to 64.
        destination_name = out["DestinationName"]
        self.assertEqual(len(destination_name), 64)
        self.assertTrue(destination_name.startswith(self.name[:20]))
        self.assertRegex(destination_name, r"-[0-9A-Z]{12}$")
        destination = events.describe_api_destination(Name=destination_name)
        self.assertEqual(destination["ApiDestinationArn"], out["DestinationArn"])
        self.assertEqual(destination["ConnectionArn"], out["ConnectionArn"])
        self.assertEqual(destination["InvocationRateLimitPerSecond"], 3)
        self.assertEqual(destination["HttpMethod"], "PUT")

        # An update keeping the names changes both in place: ARNs kept; the
        # connection, updated, reads the secret again.
        client("secretsmanager").put_secret_value(
            SecretId="int-api-key", SecretString=json.dumps({"token": "n3w", "user": "bot"})
        )
        client("cloudformation").update_stack(
            StackName=self.name,
            TemplateURL=template_url(self.name, template),
            Parameters=[
                {"ParameterKey": "Description", "ParameterValue": "second"},
                {"ParameterKey": "Endpoint", "ParameterValue": "https://example.com/v2"},
            ],
            Capabilities=CAPABILITIES,
        )
        s = wait_for(self.name, lambda s: not s["StackStatus"].endswith("_IN_PROGRESS"))
        self.assertEqual(s["StackStatus"], "UPDATE_COMPLETE")
        self.assertEqual(outputs(self.name), out)
        self.assertEqual(
            events.describe_connection(Name=out["ConnectionName"])["Description"], "second"
        )
        stored = json.loads(
            client("secretsmanager").get_secret_value(SecretId=out["SecretArn"])["SecretString"]
        )
        self.assertEqual(stored["api_key_value"], "Bearer n3w")
        destination = events.describe_api_destination(Name=destination_name)
        self.assertEqual(destination["InvocationEndpoint"], "https://example.com/v2")
        self.assertEqual(destination["ConnectionArn"], out["ConnectionArn"])

        client("cloudformation").delete_stack(StackName=self.name)
        self.assertFalse(
            [
                c
                for c in events.list_connections()["Connections"]
                if c["Name"].startswith(self.name[:20])
            ]
        )
        self.assertFalse(events.list_api_destinations(NamePrefix=self.name[:20])["ApiDestinations"])

    def test_a_missing_json_key_fails_the_resource(self):
        name = "int-dynamic-missing-key"
        client("secretsmanager").create_secret(Name="int-no-user", SecretString='{"token": "x"}')
        template = json.loads(json.dumps(DYNAMIC_TEMPLATE).replace("SECRET_ARN", "int-no-user"))
        create_stack(name, template, {"SecretName": "int-no-user"}, wait=False)
        s = wait_for(name, lambda s: not s["StackStatus"].endswith("_IN_PROGRESS"))
        self.assertEqual(s["StackStatus"], "ROLLBACK_COMPLETE")
        self.assertIn("[Connection]", s["StackStatusReason"])
        self.assertIn("user", s["StackStatusReason"])


# =========================================== Lambda filter criteria, locally


def filter_records(patterns, records):
    """POST /moto-api/klaxon/filter-records: (status, answer)."""
    try:
        answer = SERVER.request(
            "POST", "/moto-api/klaxon/filter-records", {"patterns": patterns, "records": records}
        )
        return 200, json.loads(answer)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def stream_record(event_name, sk, size=120, new_image=None):
    """A DynamoDB stream record as Lambda delivers it."""
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "Keys": {"pk": {"S": "INC#1"}, "sk": {"S": sk}},
            "NewImage": new_image or {"pk": {"S": "INC#1"}, "sk": {"S": sk}},
            "SequenceNumber": "100",
            "SizeBytes": size,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


class FilterRecords(unittest.TestCase):
    def test_the_templates_timeline_filter(self):
        # The pattern Klaxon's stream consumers filter with, from the template.
        patterns = {
            f["Pattern"]
            for r in klaxon_template()["Resources"].values()
            if r["Type"] == "AWS::Lambda::EventSourceMapping"
            for f in r["Properties"].get("FilterCriteria", {}).get("Filters", [])
        }
        self.assertEqual(len(patterns), 1)
        records = [
            stream_record("INSERT", "TL#0001"),
            stream_record("MODIFY", "TL#0001"),  # the key matches, the event not
            stream_record("INSERT", "META"),  # the event matches, the key not
            stream_record("REMOVE", "STATE"),
        ]
        self.assertEqual(
            filter_records(sorted(patterns), records),
            (200, {"matches": [True, False, False, False]}),
        )

    def test_comparisons(self):
        acked = {"pk": {"S": "INC#1"}, "acked_at": {"S": "2026-01-01T00:00:00Z"}}
        cases = [
            (
                '{"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "TL#"}]}}}}',
                [stream_record("MODIFY", "TL#2"), stream_record("MODIFY", "XTL#2")],
                [True, False],
            ),
            (
                '{"eventName": [{"anything-but": ["REMOVE"]}]}',
                [stream_record("INSERT", "a"), stream_record("REMOVE", "a")],
                [True, False],
            ),
            (
                '{"dynamodb": {"SizeBytes": [{"numeric": [">", 100, "<=", 1000]}]}}',
                [
                    stream_record("INSERT", "a", 120),
                    stream_record("INSERT", "a", 50),
                    stream_record("INSERT", "a", 2000),
                ],
                [True, False, False],
            ),
            (
                '{"dynamodb": {"NewImage": {"acked_at": {"S": [{"exists": false}]}}}}',
                [stream_record("INSERT", "a"), stream_record("INSERT", "a", new_image=acked)],
                [True, False],
            ),
            (
                '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"acked_at": {"S": [{"exists": true}]}}}}',
                [
                    stream_record("INSERT", "a", new_image=acked),
                    stream_record("MODIFY", "a", new_image=acked),
                    stream_record("INSERT", "a"),
                ],
                [True, False, False],
            ),
        ]
        for pattern, records, expected in cases:
            with self.subTest(pattern=pattern):
                self.assertEqual(filter_records([pattern], records), (200, {"matches": expected}))

    def test_any_pattern_lets_a_record_through(self):
        records = [
            stream_record("INSERT", "TL#1"),
            stream_record("REMOVE", "x"),
            stream_record("MODIFY", "x"),
        ]
        patterns = ['{"eventName": ["INSERT"]}', '{"eventName": ["REMOVE"]}']
        self.assertEqual(filter_records(patterns, records), (200, {"matches": [True, True, False]}))
        # No filter at all: every record, as a mapping without FilterCriteria.
        self.assertEqual(filter_records([], records), (200, {"matches": [True, True, True]}))
        self.assertEqual(filter_records(patterns, []), (200, {"matches": []}))

    def test_an_invalid_pattern_is_named(self):
        good = '{"eventName": ["INSERT"]}'
        for bad in (
            '{"eventName": ["INSERT"]',  # not JSON
            '["INSERT"]',  # not an object
            '{"eventName": "INSERT"}',  # a value that is no list
            '{"eventName": []}',  # an empty list
            '{"dynamodb": {"Keys": {"sk": {"S": [{"prefx": "TL#"}]}}}}',  # no such operator
            '{"dynamodb": {"SizeBytes": [{"numeric": [">", "100"]}]}}',
            '{"dynamodb": {"SizeBytes": [{"exists": "yes"}]}}',
        ):
            with self.subTest(pattern=bad):
                status, answer = filter_records([good, bad], [stream_record("INSERT", "a")])
                self.assertEqual(status, 400)
                self.assertIn("pattern 1", answer["message"])
                self.assertIn(bad, answer["message"])
        status, answer = filter_records([good], ["INSERT"])
        self.assertEqual((status, answer["message"]), (400, "record 0 is not a JSON object"))



class IntegrationFaultsTest(unittest.TestCase):
    """scripts/moto_ext/faults.py: only the Step Functions executor's
    calls that match are failed, as many times as armed; the body still
    reaches the service otherwise."""

    def setUp(self):
        sys.path.insert(0, str(ROOT / "scripts"))
        import moto_ext.faults as faults  # noqa: PLC0415 (needs the path)

        self.faults = faults
        faults._faults.clear()

    def tearDown(self):
        sys.path.remove(str(ROOT / "scripts"))

    def environ(self, key, body):
        return {
            "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={key}/20261207/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x",
            "HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }

    def test_matching_executor_calls_fail_as_many_times_as_armed(self):
        self.faults.arm({"service": "sqs", "operation": "SendMessage", "contains": "q-1", "times": 2})
        started = []
        body = b'{"QueueUrl": "http://x/123/q-1", "MessageBody": "{}"}'
        for _ in range(2):
            answer = self.faults.intercept(self.environ("ak", body), lambda s, h: started.append(s))
            self.assertIsNotNone(answer)
            self.assertIn("InternalError", json.loads(answer[0])["__type"])
        self.assertEqual(started, ["500 Injected", "500 Injected"])
        environ = self.environ("ak", body)
        self.assertIsNone(self.faults.intercept(environ, None), "spent after two")
        self.assertEqual(environ["wsgi.input"].read(), body, "the body goes on")
        self.assertEqual(self.faults.listed()[0]["fired"], 2)

    def test_other_signers_and_other_queues_are_served(self):
        self.faults.arm({"service": "sqs", "operation": "SendMessage", "contains": "q-1", "times": 5})
        mine = b'{"QueueUrl": "http://x/123/q-1"}'
        other = b'{"QueueUrl": "http://x/123/q-2"}'
        self.assertIsNone(self.faults.intercept(self.environ("testing", mine), None))
        self.assertIsNone(self.faults.intercept(self.environ("ak", other), None))
        self.assertEqual(self.faults.listed()[0]["fired"], 0)

    def test_a_fault_needs_a_status_and_a_count(self):
        with self.assertRaises(ValueError):
            self.faults.arm({"service": "sqs", "operation": "SendMessage", "times": 0})
        with self.assertRaises(KeyError):
            self.faults.arm({"service": "sqs", "operation": "SendMessage"})


# ------------------------------------------------ SMS sandbox, SES account


def knob(method, route, body=None, query=""):
    """(status, JSON answer) of /moto-api/klaxon/<route>."""
    try:
        return 200, json.loads(SERVER.request(method, f"/moto-api/klaxon/{route}{query}", body))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def regional(service, region, session=None):
    return (session or boto3).client(service, endpoint_url=SERVER.url, region_name=region)


class SandboxStandIns(unittest.TestCase):
    """scripts/moto_ext/sandboxes.py: SNS's SMS sandbox calls and SESv2
    GetAccount, answered from per-region state the knobs set. Each test
    uses regions of its own (as tests against one emulator do)."""

    def client_error(self, call, code, status):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            call()
        response = raised.exception.response
        self.assertEqual(response["Error"]["Code"], code, response)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], status, response)
        return response

    def test_defaults_out_of_the_sms_sandbox_and_ses_in_production(self):
        sns = regional("sns", "eu-north-1")
        status = sns.get_sms_sandbox_account_status()
        self.assertIs(status["IsInSandbox"], False)
        self.assertTrue(status["ResponseMetadata"]["RequestId"])
        self.assertEqual(sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"], [])
        account = regional("sesv2", "eu-north-1").get_account()
        self.assertIs(account["SendingEnabled"], True)
        self.assertIs(account["ProductionAccessEnabled"], True)
        self.assertEqual(account["EnforcementStatus"], "HEALTHY")
        self.assertIs(account["DedicatedIpAutoWarmupEnabled"], False)
        self.assertEqual(
            account["SendQuota"], {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0}
        )
        self.assertNotIn("Details", account)
        self.assertEqual(
            knob("GET", "sms-sandbox", query="?region=eu-north-1")[1],
            {"region": "eu-north-1", "account": ACCOUNT, "in_sandbox": False, "verified": [],
             "pending": [], "one_time_passwords": {}},
        )

    def test_a_region_in_the_sandbox_with_a_verified_and_a_pending_number(self):
        status, state = knob("POST", "sms-sandbox", {
            "region": "ap-southeast-3", "in_sandbox": True,
            "verified": ["+15555550101"], "pending": ["+15555550102"],
        })
        self.assertEqual(status, 200, state)
        self.assertEqual(list(state["one_time_passwords"]), ["+15555550102"])
        self.assertRegex(state["one_time_passwords"]["+15555550102"], r"^[0-9]{6}$")
        sns = regional("sns", "ap-southeast-3")
        self.assertIs(sns.get_sms_sandbox_account_status()["IsInSandbox"], True)
        first = sns.list_sms_sandbox_phone_numbers(MaxResults=1)
        self.assertEqual(first["PhoneNumbers"], [{"PhoneNumber": "+15555550101", "Status": "Verified"}])
        second = sns.list_sms_sandbox_phone_numbers(MaxResults=1, NextToken=first["NextToken"])
        self.assertEqual(second["PhoneNumbers"], [{"PhoneNumber": "+15555550102", "Status": "Pending"}])
        self.assertNotIn("NextToken", second)
        pages = sns.get_paginator("list_sms_sandbox_phone_numbers").paginate(PaginationConfig={"PageSize": 1})
        self.assertEqual(len([n for page in pages for n in page["PhoneNumbers"]]), 2)
        self.client_error(lambda: sns.list_sms_sandbox_phone_numbers(NextToken="nonsense"), "InvalidParameter", 400)
        # Another region is unaffected.
        other = regional("sns", "ap-southeast-4")
        self.assertIs(other.get_sms_sandbox_account_status()["IsInSandbox"], False)
        self.assertEqual(other.list_sms_sandbox_phone_numbers()["PhoneNumbers"], [])
        # Numbers replace the list; in_sandbox left out keeps its value.
        state = knob("POST", "sms-sandbox", {"region": "ap-southeast-3", "verified": [], "pending": []})[1]
        self.assertEqual((state["in_sandbox"], state["verified"], state["pending"]), (True, [], []))

    def test_create_then_verify_with_the_one_time_password(self):
        knob("POST", "sms-sandbox", {"region": "ca-west-1", "in_sandbox": True})
        sns = regional("sns", "ca-west-1")
        number = "+15555550103"
        sns.create_sms_sandbox_phone_number(PhoneNumber=number, LanguageCode="en-US")
        self.assertEqual(
            sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"], [{"PhoneNumber": number, "Status": "Pending"}]
        )
        otp = knob("GET", "sms-sandbox", query="?region=ca-west-1")[1]["one_time_passwords"][number]
        wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
        error = self.client_error(
            lambda: sns.verify_sms_sandbox_phone_number(PhoneNumber=number, OneTimePassword=wrong),
            "VerificationException",
            400,
        )
        self.assertTrue(error["Error"]["Message"])
        self.assertEqual(sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"][0]["Status"], "Pending")
        sns.verify_sms_sandbox_phone_number(PhoneNumber=number, OneTimePassword=otp)
        self.assertEqual(
            sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"], [{"PhoneNumber": number, "Status": "Verified"}]
        )
        state = knob("GET", "sms-sandbox", query="?region=ca-west-1")[1]
        self.assertEqual((state["verified"], state["one_time_passwords"]), ([number], {}))
        self.client_error(
            lambda: sns.verify_sms_sandbox_phone_number(PhoneNumber="+15555550199", OneTimePassword=otp),
            "ResourceNotFound",
            404,
        )
        self.client_error(
            lambda: sns.create_sms_sandbox_phone_number(PhoneNumber="12-34"), "InvalidParameter", 400
        )
        sns.delete_sms_sandbox_phone_number(PhoneNumber=number)
        self.assertEqual(sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"], [])
        self.client_error(lambda: sns.delete_sms_sandbox_phone_number(PhoneNumber=number), "ResourceNotFound", 404)

    def test_an_otp_the_knob_sets(self):
        number = "+15555550104"
        state = knob("POST", "sms-sandbox", {
            "region": "il-central-1", "in_sandbox": True, "pending": [number],
            "one_time_passwords": {number: "24680"},
        })[1]
        self.assertEqual(state["one_time_passwords"], {number: "24680"})
        regional("sns", "il-central-1").verify_sms_sandbox_phone_number(PhoneNumber=number, OneTimePassword="24680")
        self.assertEqual(knob("GET", "sms-sandbox", query="?region=il-central-1")[1]["verified"], [number])

    def test_ses_sending_disabled_in_one_region(self):
        status, state = knob("POST", "ses-account", {"region": "me-central-1", "sending_enabled": False})
        self.assertEqual(status, 200, state)
        self.assertEqual(
            state,
            {"region": "me-central-1", "account": ACCOUNT, "sending_enabled": False,
             "production_access": True, "enforcement_status": "HEALTHY"},
        )
        account = regional("sesv2", "me-central-1").get_account()
        self.assertIs(account["SendingEnabled"], False)
        self.assertIs(account["ProductionAccessEnabled"], True)
        knob("POST", "ses-account", {"region": "me-central-1", "production_access": False,
                                     "enforcement_status": "PROBATION"})
        account = regional("sesv2", "me-central-1").get_account()
        self.assertEqual(
            (account["SendingEnabled"], account["ProductionAccessEnabled"], account["EnforcementStatus"]),
            (False, False, "PROBATION"),
        )
        self.assertEqual(account["SendQuota"]["Max24HourSend"], 200.0)
        self.assertEqual(knob("GET", "ses-account", query="?region=me-central-1")[1], {
            "region": "me-central-1", "account": ACCOUNT, "sending_enabled": False,
            "production_access": False, "enforcement_status": "PROBATION"})
        self.assertIs(regional("sesv2", "me-south-1").get_account()["SendingEnabled"], True)

    def test_the_knobs_refuse_what_they_cannot_take(self):
        for route, body in [
            ("sms-sandbox", {"in_sandbox": True}),
            ("sms-sandbox", {"region": "af-south-1", "in_sandbox": "yes"}),
            ("sms-sandbox", {"region": "af-south-1", "verified": ["5555"], "pending": ["5555"]}),
            ("sms-sandbox", {"region": "af-south-1", "verified": ["not a number"]}),
            ("sms-sandbox", {"region": "af-south-1", "account": "42"}),
            ("ses-account", {"region": "af-south-1", "enforcement_status": "FINE"}),
            ("ses-account", {"region": "af-south-1", "sending_enabled": 0}),
        ]:
            status, answer = knob("POST", route, body)
            self.assertEqual(status, 400, (route, body, answer))
            self.assertIn(route, answer["message"])
        self.assertEqual(knob("GET", "ses-account")[0], 400)

    def test_a_role_needs_the_permission_before_the_stand_in_answers(self):
        iam = regional("iam", REGION)
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName="sandbox-doctor", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName="sandbox-doctor", PolicyName="status", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sns:GetSMSSandboxAccountStatus", "Resource": "*"}]}))
        creds = regional("sts", REGION).assume_role(RoleArn=role, RoleSessionName="doctor")["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        sns = regional("sns", "sa-east-1", session)
        self.assertIs(sns.get_sms_sandbox_account_status()["IsInSandbox"], False)
        self.client_error(sns.list_sms_sandbox_phone_numbers, "AuthorizationError", 403)
        self.client_error(
            lambda: sns.create_sms_sandbox_phone_number(PhoneNumber="+15555550105"), "AuthorizationError", 403
        )
        self.assertEqual(knob("GET", "sms-sandbox", query="?region=sa-east-1")[1]["pending"], [], "judged first")
        self.client_error(regional("sesv2", "sa-east-1", session).get_account, "AccessDeniedException", 403)
        calls = json.loads(SERVER.get(f"/moto-api/klaxon/iam-calls?role={role}"))["calls"]
        self.assertEqual(
            [(c["action"], c["resource"], c["allowed"]) for c in calls],
            [
                ("sns:GetSMSSandboxAccountStatus", "*", True),
                ("sns:ListSMSSandboxPhoneNumbers", "*", False),
                ("sns:CreateSMSSandboxPhoneNumber", "*", False),
                ("ses:GetAccount", "*", False),
            ],
        )

    def test_motos_reset_resets_the_state(self):
        sys.path.insert(0, str(ROOT / "scripts"))
        try:
            from moto.moto_api._internal.models import moto_api_backend
            from moto_ext import sandboxes  # (needs the path)

            sandboxes.set_sms({"region": "eu-south-2", "in_sandbox": True, "pending": ["+15555550106"]})
            sandboxes.set_ses({"region": "eu-south-2", "sending_enabled": False})
            moto_api_backend.reset()
            self.assertFalse(sandboxes.sms_state("eu-south-2")["in_sandbox"])
            self.assertEqual(sandboxes.sms_state("eu-south-2")["pending"], [])
            self.assertTrue(sandboxes.ses_state("eu-south-2")["sending_enabled"])
        finally:
            sys.path.remove(str(ROOT / "scripts"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
