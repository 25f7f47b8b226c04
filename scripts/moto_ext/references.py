"""Dynamic references to Secrets Manager, resolved as CloudFormation does.

moto 5.2.5's CloudFormation leaves `{{resolve:secretsmanager:...}}` as it
is: a connection's password would be that text. Here a resource's
properties, once moto has evaluated their functions (so that a reference
built by Fn::Sub is whole), have every such reference replaced by the
secret's value, read from moto's own Secrets Manager backend:

    {{resolve:secretsmanager:secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]}}

secret-id is the secret's name or ARN (another account's or region's
too); without a json-key the value is the whole SecretString, with one
that key's value in it (JSON); without version-stage or version-id, the
AWSCURRENT version. A reference may be part of a longer string.

A secret (or a key, or a version) that does not exist fails the resource,
as in AWS (helpers.ResourceFailed: the stack is rolled back, see stacks).
Custom resources get their properties unresolved: CloudFormation does not
resolve secretsmanager references for them either. `ssm` and `ssm-secure`
references are left as they are.
"""

import json
import re
from typing import Any

from .custom import is_custom
from .helpers import ResourceFailed
from .hooks import after_import

_SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:([^{}]*)\}\}")


class _Unresolved(Exception):
    pass


def _secret_value(reference: str, account_id: str, region_name: str) -> str:
    """The value a `secretsmanager` reference (what follows its prefix) names."""
    from moto.secretsmanager.models import secretsmanager_backends

    if reference.startswith("arn:"):
        # arn:aws:secretsmanager:<region>:<account>:secret:<name>, then the rest.
        parts = reference.split(":")
        secret_id, rest = ":".join(parts[:7]), parts[7:]
        if len(parts) >= 7:
            region_name, account_id = parts[3], parts[4]
    else:
        secret_id, *rest = reference.split(":")
    if len(rest) > 4 or not secret_id:
        raise _Unresolved(f"malformed dynamic reference {{{{resolve:secretsmanager:{reference}}}}}")
    kind, json_key, stage, version = (rest + ["", "", "", ""])[:4]
    if kind not in ("", "SecretString"):
        raise _Unresolved(f"{kind}: only SecretString can be resolved")
    backend = secretsmanager_backends[account_id][region_name]
    try:
        answer = backend.get_secret_value(secret_id, version or None, stage or None)
    except Exception as e:
        code = getattr(e, "error_type", type(e).__name__)
        message = getattr(e, "message", None) or str(e)
        raise _Unresolved(
            f"{message} (Service: AWSSecretsManager; Error Code: {code}; secret {secret_id})"
        ) from e
    if "SecretString" not in answer:
        raise _Unresolved(f"secret {secret_id} has no SecretString")
    value = answer["SecretString"]
    if not json_key:
        return value
    try:
        document = json.loads(value)
        value = document[json_key]
    except (ValueError, TypeError, KeyError):
        raise _Unresolved(
            f"Could not find SecretString key {json_key} in secret {secret_id}"
        ) from None
    return value if isinstance(value, str) else json.dumps(value)


def resolve(node: Any, account_id: str, region_name: str) -> Any:
    """node with every secretsmanager dynamic reference in its strings
    replaced by the secret's value (a copy, when there is one)."""
    if isinstance(node, dict):
        return {k: resolve(v, account_id, region_name) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, account_id, region_name) for v in node]
    if isinstance(node, str) and "{{resolve:secretsmanager:" in node:
        return _SECRET_REFERENCE.sub(
            lambda m: _secret_value(m.group(1), account_id, region_name), node
        )
    return node


def _patch_parsing(parsing: Any) -> None:
    parse_resource_and_generate_name = parsing.parse_resource_and_generate_name

    def parse_and_resolve(logical_id, resource_json, resources_map):
        """moto's, with the properties' dynamic references resolved (used
        to create and to update a resource, not to delete one)."""
        parsed = parse_resource_and_generate_name(logical_id, resource_json, resources_map)
        if not parsed or is_custom(parsed[1].get("Type", "")):
            return parsed
        resource_class, cleaned, name = parsed
        properties = cleaned.get("Properties")
        try:
            resolved = resolve(properties, resources_map._account_id, resources_map._region_name)
        except _Unresolved as e:
            raise ResourceFailed(logical_id, str(e)) from e
        if resolved == properties:
            return parsed
        name_property = parsing.resource_name_property_from_type(cleaned["Type"])
        if name_property and name_property in resolved:
            name = resolved[name_property]
        return resource_class, {**cleaned, "Properties": resolved}, name

    parsing.parse_resource_and_generate_name = parse_and_resolve


after_import("moto.cloudformation.parsing", _patch_parsing)
