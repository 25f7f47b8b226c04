"""What the other modules share: CloudFormation's values as moto's APIs
take them, the backends several of them use, and the failure of a
resource."""

import datetime
import json
import logging
import re
from typing import Any

logger = logging.getLogger("moto")


class ResourceFailed(Exception):
    """A resource that fails to be created or updated, as in AWS: the stack
    fails with it (not the CreateStack or UpdateStack call)."""

    def __init__(self, logical_id: str, reason: str):
        super().__init__(reason)
        self.logical_id = logical_id
        self.reason = reason


def json_text(document: Any) -> str:
    """A policy or document as JSON text (CloudFormation gives objects)."""
    return document if isinstance(document, str) else json.dumps(document)


def as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def as_bool(value: Any, default: bool | None = None) -> bool | None:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def as_string(value: Any) -> str:
    """A scalar as CloudFormation passes it where the API wants a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_strings(value: Any) -> Any:
    """Every scalar in a structure as a string (custom resource properties)."""
    if isinstance(value, dict):
        return {k: as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_strings(v) for v in value]
    if value is None:
        return value
    return as_string(value)


def tag_map(tags: Any) -> dict[str, str]:
    """CloudFormation's [{Key, Value}] as the {key: value} Lambda keeps."""
    if isinstance(tags, list):
        return {t["Key"]: t["Value"] for t in tags}
    return dict(tags or {})


def camel_keys(value: Any) -> Any:
    """CloudFormation's PascalCase keys as Step Functions' camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def epoch_seconds(value: Any) -> Any:
    """An ISO 8601 date (CloudFormation) as epoch seconds (moto's API)."""
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return value


def unformatted_getatt() -> Exception:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    return UnformattedGetAttTemplateException()


def s3_backend(account_id: str, region_name: str) -> Any:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    return s3_backends[account_id][get_partition(region_name)]


def lambda_backend(account_id: str, region_name: str) -> Any:
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region_name)


# A ${Name} (or ${Name.Attribute}) in an Fn::Sub; ${!Literal} is none.
SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")
