"""Faults on the calls Step Functions makes itself.

A state machine's service integrations (NotifyStep's `sqs:sendMessage`,
the DynamoDB write of a failure) are made by moto's Step Functions
executor through this server, signed as the execution's role (see
iam._sign_as_the_state_machine) or with moto's fixed key (`ak`), not by
Klaxon's code: the harness's fault proxy cannot reach them. A test arms
a fault here instead:

- POST /moto-api/klaxon/integration-faults, body `{"service": "sqs",
  "operation": "SendMessage", "contains": "<text in the request body>",
  "status": 500, "times": 3}`: the next `times` such calls from the
  executor whose body contains `contains` (a queue's name, to keep other
  tests' escalations out of it) are answered with `status` in the JSON
  protocol's error format, without reaching the service. Answers
  `{"id": n}`.
- GET /moto-api/klaxon/integration-faults: `{"faults": [{"id", "service",
  "operation", "contains", "status", "times", "fired"}, ...]}`.

Only calls signed with the executor's keys are matched: Klaxon's own
clients and the harness never are.
"""

import io
import json
import threading
from typing import Any

# The access key moto's Step Functions executor signs its calls with
# when it runs as no role (moto.stepfunctions.parser.asl.utils.boto_client).
EXECUTOR_ACCESS_KEY = "ak"

_JSON = {"Content-Type": "application/json"}
_lock = threading.Lock()
_faults: list[dict[str, Any]] = []


def _service_and_operation(environ: dict) -> tuple[str, str]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0] if "Credential=" in auth else ""
    parts = scope.split("/")
    service = parts[3] if len(parts) > 3 else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target.rsplit(".", 1)[-1] if target else ""
    return service, operation


def _access_key(environ: dict) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return ""
    return auth.split("Credential=", 1)[1].split("/", 1)[0]


def _from_executor(key: str) -> bool:
    if key == EXECUTOR_ACCESS_KEY:
        return True
    from . import iam  # noqa: PLC0415 (iam imports this package's hooks)

    return key in iam.executor_access_keys()


def intercept(environ: dict, start_response: Any) -> list[bytes] | None:
    """The armed fault's answer to this request, or None to serve it."""
    if not _faults or not _from_executor(_access_key(environ)):
        return None
    service, operation = _service_and_operation(environ)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    # The request goes on to the service unless a fault takes it.
    environ["wsgi.input"] = io.BytesIO(body)
    text = body.decode("utf-8", "replace")
    with _lock:
        fault = next(
            (
                f
                for f in _faults
                if f["fired"] < f["times"]
                and f["service"] == service
                and f["operation"] == operation
                and f["contains"] in text
            ),
            None,
        )
        if fault is None:
            return None
        fault["fired"] += 1
        status = fault["status"]
    code = "ServiceUnavailable" if status == 503 else "InternalError"
    answer = json.dumps(
        {"__type": code, "message": f"injected by the emulator's integration faults: {code}"}
    ).encode()
    start_response(
        f"{status} Injected",
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-ErrorType", code),
            ("Content-Length", str(len(answer))),
        ],
    )
    return [answer]


def arm(body: dict[str, Any]) -> int:
    """Adds a fault (see the module's docs); returns its id."""
    fault = {
        "service": str(body["service"]),
        "operation": str(body["operation"]),
        "contains": str(body.get("contains", "")),
        "status": int(body.get("status", 500)),
        "times": int(body["times"]),
        "fired": 0,
    }
    if not 400 <= fault["status"] <= 599 or fault["times"] < 1:
        raise ValueError("status must be 4xx or 5xx, times at least 1")
    with _lock:
        fault["id"] = len(_faults) + 1
        _faults.append(fault)
        return fault["id"]


def listed() -> list[dict[str, Any]]:
    with _lock:
        return [dict(f) for f in _faults]
