"""Checks scripts/moto_ext/iam.py: a call signed with an assumed role's
credentials is allowed or denied as IAM would decide it from the role's
identity policies; calls signed otherwise are not judged.

    .venv/bin/python scripts/test_iam.py [-v]

Starts its own scripts/moto_server.py on a free port (moto's DynamoDB),
creates a role with ARN-scoped statements like Klaxon's, assumes it, and
makes the calls Klaxon's functions make.
"""

import json
import sys
import unittest
from pathlib import Path

import boto3
import botocore.exceptions

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_moto_ext as ext  # noqa: E402  (its Server, on a free port)

REGION = ext.REGION
ACCOUNT = ext.ACCOUNT
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iam-incidents"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "IncidentsReadWrite",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
            "Resource": TABLE,
        },
        {"Sid": "NeverUpdateConfig", "Effect": "Deny", "Action": "dynamodb:UpdateItem", "Resource": TABLE,
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CONFIG#*"]}}},
        {"Sid": "TimelineOnly", "Effect": "Allow", "Action": "dynamodb:PutItem",
         "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iam-other",
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["INC#*"]}}},
        {"Sid": "SmsPages", "Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
        {"Sid": "VoicePages", "Effect": "Allow", "Action": "chime:CreateSipMediaApplicationCall",
         "Resource": f"arn:aws:chime:{REGION}:{ACCOUNT}:sma/allowed-sma"},
        {"Sid": "Steps", "Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:iam-steps"},
        {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "Klaxon"}}},
    ],
}

SERVER = None
ROLE_ARN = None
MACHINE_ROLE = None
ROLE = None  # a boto3 session with the role's credentials


def admin(service):
    return boto3.client(service, endpoint_url=SERVER.url, region_name=REGION)


def as_role(service):
    return ROLE.client(service, endpoint_url=SERVER.url, region_name=REGION)


def setUpModule():
    global SERVER, ROLE_ARN, ROLE
    SERVER = ext.Server()
    iam = admin("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    ROLE_ARN = iam.create_role(RoleName="iam-escalator", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="iam-escalator", PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    creds = admin("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="escalator")["Credentials"]
    ROLE = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    ddb = admin("dynamodb")
    for name in ("iam-incidents", "iam-other"):
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "open", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "open-incidents",
                                     "KeySchema": [{"AttributeName": "open", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
        )
    for name in ("iam-steps", "iam-elsewhere"):
        admin("sqs").create_queue(QueueName=name)
    global MACHINE_ROLE
    states_trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    MACHINE_ROLE = iam.create_role(
        RoleName="iam-machine", AssumeRolePolicyDocument=json.dumps(states_trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="iam-machine", PolicyName="steps", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                       "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:iam-steps"}]}))
    # As scripts/local-aws.sh runs it: state machines execute.
    SERVER.request("POST", "/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})


def tearDownModule():
    SERVER.stop()


class RoleEnforcement(unittest.TestCase):
    def denied(self, call, code="AccessDeniedException"):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            call()
        self.assertEqual(raised.exception.response["Error"]["Code"], code, raised.exception.response)
        return raised.exception.response["Error"]["Message"]

    def test_an_allowed_action_on_its_resource_goes_through(self):
        ddb = as_role("dynamodb")
        ddb.put_item(TableName="iam-incidents", Item={"pk": {"S": "INC#1"}})
        self.assertIn("Item", ddb.get_item(TableName="iam-incidents", Key={"pk": {"S": "INC#1"}}))

    def test_a_missing_action_is_denied_naming_action_and_resource(self):
        message = self.denied(
            lambda: as_role("dynamodb").delete_item(TableName="iam-incidents", Key={"pk": {"S": "INC#1"}})
        )
        self.assertIn("dynamodb:DeleteItem", message)
        self.assertIn(TABLE, message)
        self.assertIn(ROLE_ARN, message)

    def test_an_index_is_not_its_table(self):
        ddb = as_role("dynamodb")
        query = dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "INC#1"}})
        ddb.query(TableName="iam-incidents", **query)
        message = self.denied(lambda: ddb.query(
            TableName="iam-incidents", IndexName="open-incidents",
            KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "open"},
            ExpressionAttributeValues={":o": {"S": "y"}}))
        self.assertIn(f"{TABLE}/index/open-incidents", message)

    def test_each_transaction_item_needs_its_own_action(self):
        ddb = as_role("dynamodb")
        put = {"Put": {"TableName": "iam-incidents", "Item": {"pk": {"S": "INC#2"}}}}
        ddb.transact_write_items(TransactItems=[put])
        delete = {"Delete": {"TableName": "iam-incidents", "Key": {"pk": {"S": "INC#1"}}}}
        message = self.denied(lambda: ddb.transact_write_items(TransactItems=[put, delete]))
        self.assertIn("dynamodb:DeleteItem", message)
        check = {"ConditionCheck": {"TableName": "iam-incidents", "Key": {"pk": {"S": "INC#1"}},
                                    "ConditionExpression": "attribute_exists(pk)"}}
        self.assertIn("dynamodb:ConditionCheckItem", self.denied(lambda: ddb.transact_write_items(TransactItems=[check])))

    def test_an_explicit_deny_wins_over_an_allow(self):
        ddb = as_role("dynamodb")
        update = dict(UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}})
        ddb.update_item(TableName="iam-incidents", Key={"pk": {"S": "INC#3"}}, **update)
        message = self.denied(lambda: ddb.update_item(TableName="iam-incidents", Key={"pk": {"S": "CONFIG#x"}}, **update))
        self.assertIn("explicit deny", message)

    def test_conditions_on_leading_keys_and_namespaces(self):
        ddb = as_role("dynamodb")
        ddb.put_item(TableName="iam-other", Item={"pk": {"S": "INC#9"}})
        self.denied(lambda: ddb.put_item(TableName="iam-other", Item={"pk": {"S": "PAGE#9"}}))
        cw = as_role("cloudwatch")
        cw.put_metric_data(Namespace="Klaxon", MetricData=[{"MetricName": "ok", "Value": 1}])
        self.denied(lambda: cw.put_metric_data(Namespace="Other", MetricData=[{"MetricName": "x", "Value": 1}]))

    def test_a_queue_and_a_phone_number(self):
        sqs = as_role("sqs")
        steps = admin("sqs").get_queue_url(QueueName="iam-steps")["QueueUrl"]
        elsewhere = admin("sqs").get_queue_url(QueueName="iam-elsewhere")["QueueUrl"]
        sqs.send_message(QueueUrl=steps, MessageBody="{}")
        self.denied(lambda: sqs.send_message(QueueUrl=elsewhere, MessageBody="{}"))
        as_role("sns").publish(PhoneNumber="+819012345678", Message="page")
        topic = admin("sns").create_topic(Name="iam-topic")["TopicArn"]
        # sns:Publish on "*" covers topics too.
        as_role("sns").publish(TopicArn=topic, Message="x")
        self.denied(lambda: as_role("sns").create_topic(Name="iam-new"), code="AuthorizationError")

    def test_an_operation_the_emulator_cannot_judge_is_denied_saying_so(self):
        message = self.denied(lambda: as_role("lambda").list_functions())
        self.assertIn("cannot be judged here", message)

    def test_calls_not_signed_by_a_role_are_not_judged(self):
        admin("dynamodb").delete_item(TableName="iam-incidents", Key={"pk": {"S": "INC#2"}})

    def test_every_judged_call_is_recorded_with_its_action_and_resource(self):
        as_role("dynamodb").get_item(TableName="iam-incidents", Key={"pk": {"S": "INC#7"}})
        calls = json.loads(SERVER.get(f"/moto-api/klaxon/iam-calls?role={ROLE_ARN}"))["calls"]
        self.assertIn(
            {"role": ROLE_ARN, "access_key": ROLE.get_credentials().access_key,
             "operation": "DynamoDB_20120810.GetItem", "action": "dynamodb:GetItem",
             "resource": TABLE, "allowed": True},
            calls,
        )
        # Denied calls are recorded too.
        self.denied(lambda: as_role("dynamodb").delete_item(TableName="iam-incidents", Key={"pk": {"S": "INC#8"}}))
        calls = json.loads(SERVER.get(f"/moto-api/klaxon/iam-calls?role={ROLE_ARN}"))["calls"]
        self.assertEqual(calls[-1]["action"], "dynamodb:DeleteItem")
        self.assertFalse(calls[-1]["allowed"])


class StateMachineRole(unittest.TestCase):
    """A service integration runs as the state machine's role."""

    def execute(self, queue_url):
        import time

        sfn = admin("stepfunctions")
        definition = {"StartAt": "Send", "States": {"Send": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": queue_url, "MessageBody": "step"}, "End": True}}}
        machine = sfn.create_state_machine(
            name=f"iam-machine-{queue_url.rsplit('/', 1)[-1]}",
            definition=json.dumps(definition),
            roleArn=MACHINE_ROLE,
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        for _ in range(100):
            status = sfn.describe_execution(executionArn=execution)["status"]
            if status != "RUNNING":
                return status
            time.sleep(0.1)
        self.fail("the execution never ended")

    def test_a_queue_its_role_allows_and_one_it_does_not(self):
        steps = admin("sqs").get_queue_url(QueueName="iam-steps")["QueueUrl"]
        elsewhere = admin("sqs").get_queue_url(QueueName="iam-elsewhere")["QueueUrl"]
        self.assertEqual(self.execute(steps), "SUCCEEDED")
        self.assertEqual(self.execute(elsewhere), "FAILED")
        calls = json.loads(SERVER.get(f"/moto-api/klaxon/iam-calls?role={MACHINE_ROLE}"))["calls"]
        self.assertEqual(
            [(c["action"], c["resource"].rsplit(":", 1)[-1], c["allowed"]) for c in calls],
            [("sqs:SendMessage", "iam-steps", True), ("sqs:SendMessage", "iam-elsewhere", False)],
        )


class StandIns(unittest.TestCase):
    """A stand-in for a service the emulator lacks asks it to judge."""

    def judge(self, action, resource, credentials=None):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url="http://voice.local/sip-media-applications/x/calls", data=b"{}")
        creds = credentials or ROLE.get_credentials()
        SigV4Auth(creds, "chime", REGION).add_auth(request)
        body = {"authorization": request.headers["Authorization"], "action": action, "resource": resource}
        return json.loads(SERVER.request("POST", "/moto-api/klaxon/iam-judge", body))

    def test_the_role_decides_a_call_made_to_a_stand_in(self):
        allowed = self.judge("chime:CreateSipMediaApplicationCall", f"arn:aws:chime:{REGION}:{ACCOUNT}:sma/allowed-sma")
        self.assertEqual((allowed["judged"], allowed["allowed"]), (True, True), allowed)
        denied = self.judge("chime:CreateSipMediaApplicationCall", f"arn:aws:chime:{REGION}:{ACCOUNT}:sma/other")
        self.assertEqual((denied["judged"], denied["allowed"]), (True, False), denied)
        self.assertIn("chime:CreateSipMediaApplicationCall", denied["message"])

    def test_a_signer_that_is_no_role_is_not_judged(self):
        from botocore.credentials import Credentials

        verdict = self.judge("chime:CreateSipMediaApplicationCall", "*", Credentials("testing", "testing"))
        self.assertEqual(verdict, {"judged": False})


class SimulatePrincipalPolicy(unittest.TestCase):
    """IAM's policy simulator, which moto lacks, answers from the role's
    policies as the enforcement decides (klaxon doctor asks it)."""

    def simulate(self, actions, resources, **extra):
        results = admin("iam").simulate_principal_policy(
            PolicySourceArn=ROLE_ARN, ActionNames=actions, ResourceArns=resources, **extra
        )["EvaluationResults"]
        return {(r["EvalActionName"], r["EvalResourceName"]): r for r in results}

    def test_each_action_on_its_resource_is_allowed_or_implicitly_denied(self):
        got = self.simulate(["dynamodb:PutItem", "dynamodb:DeleteItem"], [TABLE])
        self.assertEqual(got[("dynamodb:PutItem", TABLE)]["EvalDecision"], "allowed")
        self.assertEqual(got[("dynamodb:DeleteItem", TABLE)]["EvalDecision"], "implicitDeny")
        elsewhere = f"arn:aws:sqs:{REGION}:{ACCOUNT}:iam-elsewhere"
        got = self.simulate(["sqs:SendMessage"], [elsewhere])
        self.assertEqual(got[("sqs:SendMessage", elsewhere)]["EvalDecision"], "implicitDeny")

    def test_conditions_read_the_context_given_and_name_the_keys_missing(self):
        missing = self.simulate(["cloudwatch:PutMetricData"], ["*"])[("cloudwatch:PutMetricData", "*")]
        self.assertEqual(missing["EvalDecision"], "implicitDeny")
        self.assertEqual(missing["MissingContextValues"], ["cloudwatch:namespace"])
        given = self.simulate(
            ["cloudwatch:PutMetricData"], ["*"],
            ContextEntries=[{"ContextKeyName": "cloudwatch:namespace", "ContextKeyValues": ["Klaxon"],
                             "ContextKeyType": "string"}],
        )[("cloudwatch:PutMetricData", "*")]
        self.assertEqual(given["EvalDecision"], "allowed")
        denied = self.simulate(
            ["dynamodb:UpdateItem"], [TABLE],
            ContextEntries=[{"ContextKeyName": "dynamodb:LeadingKeys", "ContextKeyValues": ["CONFIG#x"],
                             "ContextKeyType": "stringList"}],
        )[("dynamodb:UpdateItem", TABLE)]
        self.assertEqual(denied["EvalDecision"], "explicitDeny")

    def test_several_resources_are_decided_one_by_one(self):
        other = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iam-nothing"
        result = self.simulate(["dynamodb:GetItem"], [TABLE, other])[("dynamodb:GetItem", "*")]
        self.assertEqual(result["EvalDecision"], "implicitDeny")
        self.assertEqual(
            {r["EvalResourceName"]: r["EvalResourceDecision"] for r in result["ResourceSpecificResults"]},
            {TABLE: "allowed", other: "implicitDeny"},
        )

    def test_an_unknown_role_is_no_such_entity(self):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            admin("iam").simulate_principal_policy(
                PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/nobody", ActionNames=["sqs:SendMessage"])
        self.assertEqual(raised.exception.response["Error"]["Code"], "NoSuchEntity")

    def test_a_role_may_simulate_only_as_its_policies_allow(self):
        message = RoleEnforcement().denied(
            lambda: as_role("iam").simulate_principal_policy(
                PolicySourceArn=ROLE_ARN, ActionNames=["sqs:SendMessage"]), code="AccessDenied")
        self.assertIn("iam:SimulatePrincipalPolicy", message)
        self.assertIn(ROLE_ARN, message)


class ServiceAuthorizationReference(unittest.TestCase):
    """The mapping's output is checked against AWS's reference."""

    def setUp(self):
        from moto_ext import iam_requests

        self.checked = iam_requests.checked
        self.Unmapped = iam_requests.Unmapped

    def test_an_action_iam_does_not_have_is_refused(self):
        # A transaction is authorized per item; there is no such action.
        with self.assertRaisesRegex(self.Unmapped, "not an action"):
            self.checked([("dynamodb:TransactWriteItems", TABLE, {})])

    def test_a_resource_of_another_type_is_refused(self):
        queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:iam-steps"
        with self.assertRaisesRegex(self.Unmapped, "not a resource of dynamodb:PutItem"):
            self.checked([("dynamodb:PutItem", queue, {})])
        self.checked([("dynamodb:Query", f"{TABLE}/index/open-incidents", {})])
        self.checked([("sqs:SendMessage", queue, {})])


if __name__ == "__main__":
    unittest.main()
