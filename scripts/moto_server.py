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
the parameter it answers as moto does. Everything else is moto unchanged.

Usage: python scripts/moto_server.py [moto_server arguments]
"""

import functools
import json
import sys
import threading
from urllib.parse import parse_qs, urlparse

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
from moto.server import main

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

if __name__ == "__main__":
    sys.exit(main())
