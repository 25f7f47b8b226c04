"""moto server with DynamoDB writes made atomic.

DynamoDB runs a TransactWriteItems call as one isolated unit. moto 5.2.5
does not: it deep-copies the tables, applies the items one by one, and on a
failed condition restores the copy, so a transaction that fails while
another request writes can undo or duplicate that other write. Klaxon's
correctness under concurrent delivery rests on transactions, so the local
emulator serialises DynamoDB writes (transactions and single-item writes)
with one lock. Everything else is moto unchanged.

Usage: python scripts/moto_server.py [moto_server arguments]
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
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

if __name__ == "__main__":
    sys.exit(main())
