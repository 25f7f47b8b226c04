"""moto server with DynamoDB writes made atomic.

DynamoDB runs a TransactWriteItems call as one isolated unit. moto 5.2.5
does not: it deep-copies the tables, applies the items one by one, and on a
failed condition restores the copy, so a transaction that fails while
another request writes can undo or duplicate that other write. Klaxon's
correctness under concurrent delivery rests on transactions, so the local
emulator serialises DynamoDB writes (transactions and single-item writes)
with one lock.

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
