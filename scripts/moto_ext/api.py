"""This package's HTTP routes, next to moto's own /moto-api/ ones.

- GET /moto-api/klaxon/custom-resource-requests[?stack=<name or id>]: the
  custom resource requests not answered yet (see custom), as a JSON list.
- POST /moto-api/klaxon/filter-records, body
  `{"patterns": ["<pattern JSON>", ...], "records": [{...}, ...]}`:
  answers `{"matches": [true|false, ...]}`, one per record, as a Lambda
  event source mapping's FilterCriteria would filter them: a record
  passes when any pattern matches it; no pattern at all lets every record
  through, as a mapping without FilterCriteria does. Lambda's filter
  syntax is EventBridge's, so the matching is moto's own EventBridge
  pattern matcher (moto.events.models.EventPattern), applied to each
  record as given: a DynamoDB stream record as Lambda delivers it
  (`{"eventName": "INSERT", "dynamodb": {"Keys": ...}}`); SQS bodies and
  Kinesis data are not decoded. An invalid pattern (not JSON, not an
  object, a value neither an object nor a non-empty array, a filter
  operator EventBridge does not have, a malformed `numeric` or `exists`)
  answers 400, the message naming the pattern; so does a record that is
  not an object.
- GET /moto-api/klaxon/dynamodb: which engine serves DynamoDB here,
  `{"engine": "dynamodb-local", "endpoint": "http://127.0.0.1:<port>"}`
  (see ddblocal) or `{"engine": "moto"}`.
- GET /moto-api/klaxon/iam-calls[?role=<role ARN>]: every call judged
  against an assumed role (see iam): `{"calls": [{"role", "access_key",
  "operation", "action", "resource", "allowed"}, ...]}`, oldest first;
  `access_key` is the session's, so a test can tell its own calls from
  those of another session of the same role.
- POST /moto-api/klaxon/iam-judge, body `{"authorization": "<SigV4
  Authorization header>", "action", "resource", "context": {...}}`: a
  stand-in for a service this emulator lacks asks whether the signer's
  role may make that call (see iam.judge).
- POST and GET /moto-api/klaxon/integration-faults: faults on the calls
  Step Functions' executor makes itself (see faults).
- POST /moto-api/klaxon/sms-sandbox, body `{"region": "<region>",
  "account": "<12 digits, default 123456789012>", "in_sandbox": bool,
  "verified": ["+1...", ...], "pending": ["+1...", ...],
  "one_time_passwords": {"<pending number>": "<5 to 8 digits>"}}`: sets
  that account and region's SMS sandbox, which SNS's
  GetSMSSandboxAccountStatus and ListSMSSandboxPhoneNumbers answer (see
  sandboxes); `in_sandbox` when given, and the numbers (verified, then
  pending) replace the list when either list is given. A pending number
  without an OTP given gets a random 6-digit one, as does each
  CreateSMSSandboxPhoneNumber (nothing is texted): GET
  /moto-api/klaxon/sms-sandbox?region=<region>[&account=<id>] answers
  `{"region", "account", "in_sandbox", "verified", "pending",
  "one_time_passwords": {"<pending number>": "<OTP>"}}`, the OTP to give
  VerifySMSSandboxPhoneNumber. POST answers the same. Default (nothing
  set): out of the sandbox, no numbers.
- POST /moto-api/klaxon/ses-account, body `{"region", "account",
  "sending_enabled": bool, "production_access": bool,
  "enforcement_status": "HEALTHY" | "PROBATION" | "SHUTDOWN", "details":
  {...SES's AccountDetails}}`: sets the fields given of that account and
  region's SES account, which SESv2 GetAccount answers (see sandboxes);
  GET /moto-api/klaxon/ses-account?region=<region>[&account=<id>] answers
  `{"region", "account", "sending_enabled", "production_access",
  "enforcement_status"}`. Default: sending enabled, production access,
  HEALTHY. Both knobs answer 400 on a missing region or a malformed value;
  tests isolate themselves by region (one nobody else uses), and moto's
  reset (POST /moto-api/reset) resets both.
- The ResponseURL of custom resources' requests
  (/cloudformation_<region>/cfnresponse, moto's) reads its body as JSON
  whatever its Content-Type.
"""

import json
import re
import sys
from typing import Any
from urllib.parse import parse_qs, urlparse

from . import ddblocal, faults, iam, sandboxes
from .custom import custom_resources
from .hooks import after_import

_JSON = {"Content-Type": "application/json"}


def custom_resource_requests(request: Any, full_url: str, headers: Any) -> Any:
    """GET /moto-api/klaxon/custom-resource-requests[?stack=NAME_OR_ID]: the
    custom resource requests not answered yet, oldest stack first."""
    wanted = parse_qs(urlparse(full_url).query).get("stack", [None])[0]
    found = []
    models = sys.modules.get("moto.cloudformation.models")
    if models is not None:
        for regions in list(models.cloudformation_backends.values()):
            for backend in list(regions.values()):
                for stack in list(backend.stacks.values()):
                    if wanted and wanted not in (stack.name, stack.stack_id):
                        continue
                    found.extend(r.request for r in custom_resources(stack) if r.request)
    return 200, _JSON, json.dumps(found)


# EventBridge's comparison operators (moto's matcher takes any name, and
# lets a record through on one it does not know).
_OPERATORS = {
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "wildcard",
}
_NUMERIC = {"<", "<=", "=", ">=", ">"}


class _Invalid(ValueError):
    pass


def _check_filters(node: dict[str, Any]) -> None:
    """The comparison operators of a pattern moto's parser accepted."""
    for key, value in node.items():
        if key == "$or":
            for branch in value:
                if not isinstance(branch, dict):
                    raise _Invalid("$or takes objects")
                _check_filters(branch)
        elif isinstance(value, dict):
            _check_filters(value)
        else:
            for item in value:
                if not isinstance(item, dict):
                    continue
                if len(item) != 1 or next(iter(item)) not in _OPERATORS:
                    raise _Invalid(f"unknown comparison {json.dumps(item)} at {key}")
                ((operator, operand),) = item.items()
                if operator == "exists" and not isinstance(operand, bool):
                    raise _Invalid(f"exists takes true or false, at {key}")
                if operator == "numeric" and not (
                    isinstance(operand, list)
                    and operand
                    and len(operand) % 2 == 0
                    and all(op in _NUMERIC for op in operand[::2])
                    and all(
                        isinstance(n, (int, float)) and not isinstance(n, bool)
                        for n in operand[1::2]
                    )
                ):
                    raise _Invalid(f"malformed numeric comparison at {key}")


def _pattern(text: Any) -> Any:
    """A filter's pattern as moto's EventBridge matcher (EventPattern)."""
    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPattern

    if isinstance(text, dict):  # an object given in place of its JSON text
        text = json.dumps(text)
    if not isinstance(text, str):
        raise _Invalid("a pattern is a JSON string")
    try:
        parsed = json.loads(text)
    except ValueError:
        raise _Invalid("Invalid JSON") from None
    if not isinstance(parsed, dict):
        raise _Invalid("a pattern is a JSON object")
    try:
        pattern = EventPattern.load(text)
    except InvalidEventPatternException as e:
        raise _Invalid(e.message) from None
    _check_filters(parsed)
    return pattern


def _request_body(request: Any) -> bytes:
    if hasattr(request, "get_data"):  # the server's request (Werkzeug)
        return request.get_data()
    return request.body or b""  # moto's decorator mode


def filter_records(request: Any, full_url: str, headers: Any) -> Any:
    """POST /moto-api/klaxon/filter-records: which records Lambda's filter
    criteria (the patterns) let through."""
    if request.method != "POST":
        return 405, _JSON, json.dumps({"message": "POST a JSON body"})
    try:
        body = json.loads(_request_body(request) or b"{}")
        patterns = body.get("patterns", [])
        records = body.get("records", [])
        if not isinstance(patterns, list) or not isinstance(records, list):
            raise TypeError("patterns and records are lists")
    except (ValueError, TypeError, AttributeError) as e:
        return 400, _JSON, json.dumps({"message": f"not a filter request: {e}"})
    matchers = []
    for i, text in enumerate(patterns):
        try:
            matchers.append(_pattern(text))
        except _Invalid as e:
            shown = text if isinstance(text, str) else json.dumps(text)
            message = f"pattern {i} is not valid ({e}): {shown}"
            return 400, _JSON, json.dumps({"message": message})
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            message = f"record {i} is not a JSON object"
            return 400, _JSON, json.dumps({"message": message})
    matches = [not matchers or any(m.matches_event(record) for m in matchers) for record in records]
    return 200, _JSON, json.dumps({"matches": matches})


_CFNRESPONSE = re.compile(r"^/cloudformation_[^/]+/cfnresponse$")


def _patch_dispatcher(werkzeug_app: Any) -> None:
    """An answer PUT to a ResponseURL is read as JSON whatever its
    Content-Type (moto parsed a form-encoded one as a form and lost it;
    AWS's ResponseURL, an S3 URL, takes any)."""
    call = werkzeug_app.DomainDispatcherApplication.__call__

    def __call__(self, environ, start_response):
        if _CFNRESPONSE.match(environ.get("PATH_INFO", "")):
            environ["CONTENT_TYPE"] = "application/json"
        injected = faults.intercept(environ, start_response)
        if injected is not None:
            return injected
        # Behind the IAM check (moto_server.py wraps this call in
        # iam.enforce), as moto's own answers are.
        stood_in = sandboxes.served(environ, start_response)
        if stood_in is not None:
            return stood_in
        return call(self, environ, start_response)

    werkzeug_app.DomainDispatcherApplication.__call__ = __call__


def dynamodb_engine(request: Any, full_url: str, headers: Any) -> Any:
    """GET /moto-api/klaxon/dynamodb: the engine serving DynamoDB."""
    if ddblocal.active():
        body = {"engine": "dynamodb-local", "endpoint": ddblocal.endpoint()}
    else:
        body = {"engine": "moto"}
    return 200, _JSON, json.dumps(body)


def iam_calls(request: Any, full_url: str, headers: Any) -> Any:
    """GET /moto-api/klaxon/iam-calls[?role=ARN]: the calls judged so far."""
    role = parse_qs(urlparse(full_url).query).get("role", [None])[0]
    return 200, _JSON, json.dumps({"calls": iam.calls(role)})


def iam_judge(request: Any, full_url: str, headers: Any) -> Any:
    """POST /moto-api/klaxon/iam-judge: a stand-in asks whether the role
    that signed a call it received may make it."""
    try:
        body = json.loads(_request_body(request) or b"{}")
        verdict = iam.judge(
            body["authorization"], body["action"], body["resource"], body.get("context")
        )
    except (KeyError, TypeError, ValueError) as e:
        return 400, _JSON, json.dumps({"message": f"iam-judge: {e}"})
    return 200, _JSON, json.dumps(verdict)


def integration_faults(request: Any, full_url: str, headers: Any) -> Any:
    """POST arms a fault on Step Functions' own calls; GET lists them."""
    if getattr(request, "method", "GET") == "POST":
        try:
            fault_id = faults.arm(json.loads(_request_body(request) or b"{}"))
        except (KeyError, TypeError, ValueError) as e:
            return 400, _JSON, json.dumps({"message": f"integration-faults: {e}"})
        return 200, _JSON, json.dumps({"id": fault_id})
    return 200, _JSON, json.dumps({"faults": faults.listed()})


def _knob(request: Any, full_url: str, name: str, state: Any, setter: Any) -> Any:
    """GET answers a region's state (?region=&account=); POST sets it."""
    try:
        if getattr(request, "method", "GET") == "POST":
            answer = setter(json.loads(_request_body(request) or b"{}"))
        else:
            query = parse_qs(urlparse(full_url).query)
            answer = state(query.get("region", [None])[0], query.get("account", [None])[0])
    except ValueError as e:  # sandboxes.Invalid, or a body that is not JSON
        return 400, _JSON, json.dumps({"message": f"{name}: {e}"})
    return 200, _JSON, json.dumps(answer)


def sms_sandbox(request: Any, full_url: str, headers: Any) -> Any:
    """POST sets a region's SMS sandbox; GET answers it (with the OTPs)."""
    return _knob(request, full_url, "sms-sandbox", sandboxes.sms_state, sandboxes.set_sms)


def ses_account(request: Any, full_url: str, headers: Any) -> Any:
    """POST sets a region's SES account status; GET answers it."""
    return _knob(request, full_url, "ses-account", sandboxes.ses_state, sandboxes.set_ses)


def _patch_moto_api(urls: Any) -> None:
    urls.url_paths["{0}/moto-api/klaxon/custom-resource-requests"] = custom_resource_requests
    urls.url_paths["{0}/moto-api/klaxon/filter-records"] = filter_records
    urls.url_paths["{0}/moto-api/klaxon/dynamodb"] = dynamodb_engine
    urls.url_paths["{0}/moto-api/klaxon/iam-calls"] = iam_calls
    urls.url_paths["{0}/moto-api/klaxon/iam-judge"] = iam_judge
    urls.url_paths["{0}/moto-api/klaxon/integration-faults"] = integration_faults
    urls.url_paths["{0}/moto-api/klaxon/sms-sandbox"] = sms_sandbox
    urls.url_paths["{0}/moto-api/klaxon/ses-account"] = ses_account


after_import("moto.moto_api._internal.urls", _patch_moto_api)
after_import("moto.moto_server.werkzeug_app", _patch_dispatcher)
