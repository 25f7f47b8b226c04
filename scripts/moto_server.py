"""moto server with DynamoDB writes made atomic, and cheap.

DynamoDB runs a TransactWriteItems call as one isolated unit. moto 5.2.5
does not: it deep-copies the tables, applies the items one by one, and on a
failed condition restores the copy, so a transaction that fails while
another request writes can undo or duplicate that other write. Klaxon's
correctness under concurrent delivery rests on transactions, so the local
emulator serialises DynamoDB writes (transactions and single-item writes)
with one lock.

moto's deep copy of every table a transaction touches also makes each
transaction cost as much as the table is large: an alarm storm slows down
as it fills its table. Under the lock, a transaction here checks every
condition first and writes only when all hold (DynamoDB's own semantics),
keeping a copy of just the items it touches in case a write fails
half-way.

The harness reads what moto "sent" (SMS, email) from moto's state dump,
`/moto-api/data.json`, which serialises every tracked object of every
service (DynamoDB items included) and slows down as tests add data. Here it
also takes `?service=sns&service=ses` to dump only those services; without
the parameter it answers as moto does.

The Rust CloudWatch SDK speaks only the Smithy RPC v2 CBOR protocol, which
moto 5.2.5 does not serve; CloudWatch's JSON protocol it does. A CBOR
request (`/service/GraniteServiceVersion20100801/operation/<Op>`) is
decoded and handed to moto as the same operation in JSON, and the answer
encoded back in CBOR against the operation's output shape (botocore's own
CBOR codec and service model, both already installed with moto). So
PutMetricData, GetMetricStatistics and the rest reach moto's CloudWatch.

moto's CloudFormation creates the local stack from the expanded SAM
template: the package scripts/moto_ext/ (imported here, and told this
server's address for custom resources' ResponseURL) adds the resource
types moto skips, completes those it half-creates, resolves Secrets
Manager dynamic references, records custom resource requests for the
deploy script to run (GET /moto-api/klaxon/custom-resource-requests),
filters records as Lambda's FilterCriteria would (POST
/moto-api/klaxon/filter-records) and switches off moto's own Lambda
delivery (event source mappings, SNS `lambda` subscriptions, EventBridge
Lambda targets), which without Docker fails every message into a
dead-letter queue. Its modules' docstrings say how.

With KLAXON_DYNAMODB_LOCAL set (scripts/local-aws.sh sets it), DynamoDB
is AWS's own DynamoDB Local behind this server instead of moto's
(scripts/moto_ext/ddblocal.py): started as this server's child, every
DynamoDB and DynamoDB Streams call forwarded to it, and the stack's tables
created there too. The write lock above then only guards moto's own
tables, which nothing but point-in-time recovery reads.

Everything else is moto unchanged.

Usage: python scripts/moto_server.py [moto_server arguments]
"""

import argparse
import datetime
import functools
import gzip
import io
import json
import os
import re
import sys
import threading
from urllib.parse import parse_qs, urlparse

from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer
from botocore.session import get_session
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_api._internal.responses import MotoAPIResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main

import moto_ext  # scripts/moto_ext/: CloudFormation resources, delivery off

_WRITES = threading.RLock()


def _serialised(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITES:
            return method(*args, **kwargs)

    return wrapper


for _name in ("transact_write_items", "put_item", "update_item", "delete_item"):
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

def _transact_write_items(self, transact_items):
    """TransactWriteItems: all conditions, then all writes, or nothing."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    ops = []
    seen = set()
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        if op_type == "Put":
            table = self.get_table(table_name)
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        unique = (str(table_name), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        ops.append((op_type, op, table_name, key))

    errors = []
    for op_type, op, table_name, key in ops:
        condition = op.get("ConditionExpression")
        current = self.get_item(table_name, key)
        if condition is not None and not get_filter_expression(
            condition,
            op.get("ExpressionAttributeNames"),
            op.get("ExpressionAttributeValues"),
        ).expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
        else:
            errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    # Every condition holds and no other write runs (the lock): apply.
    before = []
    try:
        for op_type, op, table_name, key in ops:
            if op_type == "ConditionCheck":
                continue
            current = self.get_item(table_name, key)
            before.append(
                (table_name, key, current.to_json()["Attributes"] if current else None)
            )
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            else:
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for table_name, key, old in reversed(before):
            if old is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, old)
        raise


DynamoDBBackend.transact_write_items = _serialised(_transact_write_items)

_model_data = MotoAPIResponse.model_data


def _model_data_of_services(self, request, full_url, headers):
    wanted = parse_qs(urlparse(full_url).query).get("service")
    if not wanted:
        return _model_data(self, request, full_url, headers)
    from moto.core.model_instances import model_data

    results = {}
    for service in sorted(set(wanted) & set(model_data)):
        results[service] = {}
        for name, model in sorted(model_data[service].items()):
            instances = []
            for instance in model.instances_tracked:
                fields = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except (TypeError, AttributeError, ValueError):
                        continue
                    fields[attr] = value
                instances.append(fields)
            results[service][name] = instances
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


MotoAPIResponse.model_data = _model_data_of_services


# ------------------------------------------------------------- CBOR bridge

# Smithy service names (the path's `service` segment) served through JSON.
_CBOR_SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}
_CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")
_MODELS = {}


def _model(service):
    if service not in _MODELS:
        _MODELS[service] = get_session().get_service_model(service)
    return _MODELS[service]


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _known(value, shape):
    """The value with members its shape does not declare left out."""
    if shape is None or value is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            k: _known(v, shape.members[k])
            for k, v in value.items()
            if k in shape.members and v is not None
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_known(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _known(v, shape.value) for k, v in value.items()}
    return value


def _cbor_map_of_strings(values):
    """An error body: a CBOR map of strings, no shape needed."""
    out = bytearray()
    enc = RpcV2CBORSerializer()
    out.extend(enc._get_initial_byte(enc.MAP_MAJOR_TYPE, len(values)))
    for k, v in values.items():
        enc._serialize_type_string(out, str(k), None, None)
        enc._serialize_type_string(out, str(v), None, None)
    return bytes(out)


def _cbor_call(app, environ, start_response, service, operation):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        body = gzip.decompress(body)
    parser = RpcV2CBORParser()
    params = (
        parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))
        if body
        else {}
    )
    payload = json.dumps(params or {}, default=_json_default).encode()
    inner = dict(environ)
    for key in ("HTTP_SMITHY_PROTOCOL", "HTTP_CONTENT_ENCODING", "HTTP_ACCEPT"):
        inner.pop(key, None)
    inner.update(
        {
            "PATH_INFO": "/",
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "CONTENT_LENGTH": str(len(payload)),
            "HTTP_X_AMZ_TARGET": f"{service}.{operation}",
            "wsgi.input": io.BytesIO(payload),
        }
    )
    captured = {}

    def capture(status, headers, exc_info=None):
        captured["status"] = status
        return lambda data: None

    answer = b"".join(app(inner, capture))
    status = captured.get("status", "500 INTERNAL SERVER ERROR")
    try:
        decoded = json.loads(answer) if answer.strip() else {}
    except ValueError:
        decoded = {"__type": "InternalFailure", "message": answer.decode(errors="replace")}
    if status.startswith("2"):
        shape = _model(_CBOR_SERVICES[service]).operation_model(operation).output_shape
        out = bytearray()
        if shape is not None:
            RpcV2CBORSerializer()._serialize_data_item(out, _known(decoded, shape), shape)
        body = bytes(out)
    else:
        error = {
            "__type": decoded.get("__type", "InternalFailure"),
            "message": decoded.get("message") or decoded.get("Message") or "",
        }
        body = _cbor_map_of_strings(error)
    start_response(
        status,
        [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


_dispatch = DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    def served(env, sr):
        simulated = moto_ext.iam_simulate.served(env, sr)
        if simulated is not None:
            return simulated
        if moto_ext.ddblocal.forwards(env):
            return moto_ext.ddblocal.forward(env, sr)
        return _dispatch(self, env, sr)

    def enforced(env, sr):
        # The caller's IAM role decides first (scripts/moto_ext/iam.py).
        return moto_ext.iam.enforce(env, sr, served)

    match = _CBOR_PATH.match(environ.get("PATH_INFO", ""))
    if (
        match
        and match.group(1) in _CBOR_SERVICES
        and environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor"
    ):
        # Judged as the JSON operation it becomes.
        return _cbor_call(enforced, environ, start_response, match.group(1), match.group(2))
    return enforced(environ, start_response)


DomainDispatcherApplication.__call__ = _call


def _server_url(argv):
    """This server's address as moto.server.main will bind it (its own
    options and defaults), for clients on this machine."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    parser.add_argument("-s", "--ssl", action="store_true")
    parser.add_argument("-c", "--ssl-cert")
    parser.add_argument("-k", "--ssl-key")
    args, _ = parser.parse_known_args(argv)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(args.host, args.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = "https" if args.ssl or (args.ssl_cert and args.ssl_key) else "http"
    return f"{scheme}://{host}:{args.port}"


if __name__ == "__main__":
    moto_ext.configure(server_url=_server_url(sys.argv[1:]))
    moto_ext.ddblocal.start()  # with KLAXON_DYNAMODB_LOCAL set
    sys.exit(main())
