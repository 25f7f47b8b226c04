"""IAM's SimulatePrincipalPolicy, which moto lacks, answered from the same
evaluation that enforces roles on calls here (iam.py).

`klaxon doctor` asks it whether each deployed function's role allows the
calls Klaxon makes; this answers as IAM's query API does (XML, the
2010-05-08 namespace), with what that check reads: per action, its
decision (allowed, explicitDeny, implicitDeny), the resource, the
condition keys a statement needed that the request did not give
(MissingContextValues), and per resource when several are asked about.

Left out: permissions boundaries, resource policies and the caller
(PolicyInputList, PermissionsBoundaryPolicyInputList, CallerArn) are not
part of the decision; ResourcePolicy is refused, not ignored.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs

from .iam import Unmapped, _as_list, _statement_applies, decide, role_policies

_NS = "https://iam.amazonaws.com/doc/2010-05-08/"


def served(environ: dict, start_response: Any) -> list[bytes] | None:
    """The answer when the request is IAM's SimulatePrincipalPolicy, else
    None (the request's body left readable)."""
    if "/iam/aws4_request" not in environ.get("HTTP_AUTHORIZATION", ""):
        return None
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    form = parse_qs(body.decode())
    if form.get("Action") != ["SimulatePrincipalPolicy"]:
        return None
    status, text = simulate(form)
    data = text.encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    return [data]


def _members(form: dict[str, list[str]], prefix: str) -> list[str]:
    found = []
    n = 1
    while f"{prefix}.member.{n}" in form:
        found.append(form[f"{prefix}.member.{n}"][0])
        n += 1
    return found


def _context(form: dict[str, list[str]]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    n = 1
    while f"ContextEntries.member.{n}.ContextKeyName" in form:
        key = form[f"ContextEntries.member.{n}.ContextKeyName"][0].lower()
        context[key] = _members(form, f"ContextEntries.member.{n}.ContextKeyValues")
        n += 1
    return context


_DECISION = {
    "allowed": "allowed",
    "explicitly denied": "explicitDeny",
}


def _missing(policies: list[dict], action: str, resource: str, context: dict) -> list[str]:
    """Condition keys of statements that name this action and resource,
    which the request gave no value for."""
    keys: list[str] = []
    for policy in policies:
        for statement in _as_list(policy.get("Statement")):
            bare = {k: v for k, v in statement.items() if k != "Condition"}
            if not _statement_applies(bare, action, resource, {}):
                continue
            for conditions in (statement.get("Condition") or {}).values():
                for key in conditions:
                    if key.lower() not in context and key not in keys:
                        keys.append(key)
    return keys


def simulate(form: dict[str, list[str]]) -> tuple[int, str]:
    """(HTTP status, XML body) of SimulatePrincipalPolicy."""
    source = (form.get("PolicySourceArn") or [""])[0]
    actions = _members(form, "ActionNames")
    if "ResourcePolicy" in form:
        return 400, _error("InvalidInput", "ResourcePolicy is not simulated by this emulator")
    if not actions:
        return 400, _error("InvalidInput", "ActionNames must name at least one action")
    if ":role/" not in source:
        return 400, _error("InvalidInput", f"PolicySourceArn {source!r}: only roles are simulated here")
    try:
        policies = role_policies(source)
    except Exception:  # moto's NoSuchEntity, whatever its class
        return 404, _error("NoSuchEntity", f"The role {source.split('/')[-1]} cannot be found.")
    resources = _members(form, "ResourceArns") or ["*"]
    context = _context(form)
    results = []
    try:
        for action in actions:
            per_resource = []
            for resource in resources:
                decision = _DECISION.get(decide(policies, action, resource, context), "implicitDeny")
                per_resource.append((resource, decision, _missing(policies, action, resource, context)))
            results.append(_result(action, per_resource))
    except Unmapped as gap:
        return 400, _error("InvalidInput", f"cannot be simulated here: {gap}")
    body = (
        f'<SimulatePrincipalPolicyResponse xmlns="{_NS}"><SimulatePrincipalPolicyResult>'
        f"<IsTruncated>false</IsTruncated><EvaluationResults>{''.join(results)}</EvaluationResults>"
        "</SimulatePrincipalPolicyResult>"
        "<ResponseMetadata><RequestId>klaxon-simulate</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )
    return 200, body


def _keys(keys: list[str]) -> str:
    return "".join(f"<member>{_xml(k)}</member>" for k in keys)


def _result(action: str, per_resource: list[tuple[str, str, list[str]]]) -> str:
    if len(per_resource) == 1:
        resource, decision, missing = per_resource[0]
        return (
            f"<member><EvalActionName>{_xml(action)}</EvalActionName>"
            f"<EvalResourceName>{_xml(resource)}</EvalResourceName>"
            f"<EvalDecision>{decision}</EvalDecision><MatchedStatements/>"
            f"<MissingContextValues>{_keys(missing)}</MissingContextValues></member>"
        )
    order = ["allowed", "implicitDeny", "explicitDeny"]
    overall = max((d for _, d, _ in per_resource), key=order.index)
    specific = "".join(
        f"<member><EvalResourceName>{_xml(r)}</EvalResourceName>"
        f"<EvalResourceDecision>{d}</EvalResourceDecision><MatchedStatements/>"
        f"<MissingContextValues>{_keys(m)}</MissingContextValues></member>"
        for r, d, m in per_resource
    )
    return (
        f"<member><EvalActionName>{_xml(action)}</EvalActionName>"
        f"<EvalResourceName>*</EvalResourceName><EvalDecision>{overall}</EvalDecision>"
        f"<MatchedStatements/><MissingContextValues/>"
        f"<ResourceSpecificResults>{specific}</ResourceSpecificResults></member>"
    )


def _error(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{_xml(message)}</Message></Error><RequestId>klaxon-simulate</RequestId></ErrorResponse>"
    )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
