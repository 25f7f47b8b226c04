"""Custom resources: their requests recorded, what uses them waiting.

moto invokes the function in a thread (which needs Docker) and waits for
its cfnresponse. Here the request CloudFormation sends (RequestType,
ResponseURL, StackId, RequestId, LogicalResourceId, ResourceType,
ResourceProperties with ServiceToken, every value a string as
CloudFormation sends them) is only recorded, and GET
/moto-api/klaxon/custom-resource-requests[?stack=<name or id>] (api) lists
the requests not answered yet, so that a deploy script runs the function's
code, which PUTs its answer to the ResponseURL as in AWS. The ResponseURL
is this server's own address (moto_server.py passes it to
hooks.configure; moto named host.docker.internal) and takes the answer
whatever its Content-Type (api). Until the answer:

- resources that use the custom resource (Ref, GetAtt, Sub, DependsOn, the
  Fn::If branch taken), directly or not, are not created, as in AWS, so
  that they get its data (waits, below; stacks holds them back); the
  stack stays CREATE_IN_PROGRESS and lists the resources created so far
  (DescribeStackResources, each with its own status) and no outputs.
- a SUCCESS gives the resource the answer's PhysicalResourceId and Data
  and creates what waited; a FAILED fails the stack as AWS does: rolled
  back (its resources deleted), ROLLBACK_COMPLETE, with the reason (the
  answer is taken in stacks).
- an UpdateStack that changes a custom resource's properties sends an
  Update request (with PhysicalResourceId and OldResourceProperties), and
  one that adds a custom resource a Create request; the stack stays
  UPDATE_IN_PROGRESS until they are answered, and the resources using
  them are updated (again) after the answer, with its data. moto deletes
  a stack at once: no Delete request is sent.
"""

import uuid
from typing import Any
from urllib.parse import quote

from moto.core.common_models import CloudFormationModel

from .helpers import SUB_NAME, as_strings, lambda_backend, logger
from .hooks import server_url


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or (
        resource_type == "AWS::CloudFormation::CustomResource"
    )


def dependency_graph(rmap: Any) -> tuple[dict[str, set[str]], set[str]]:
    """Each resource's direct dependencies (Ref, GetAtt, Sub, DependsOn, the
    Fn::If branch its condition takes), and the custom resources. Cached
    per template and conditions."""
    resources = rmap._resource_json_map
    conditions = getattr(rmap, "lazy_condition_map", None)
    key = (id(resources), id(conditions))
    cached = getattr(rmap, "_klaxon_graph", None)
    if cached is not None and cached[0] == key:
        return cached[1]

    def walk(node: Any, found: set[str]) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, found)
            return
        if not isinstance(node, dict):
            return
        if isinstance(node.get("Ref"), str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            found.add(target.split(".")[0] if isinstance(target, str) else target[0])
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
            found.update(m.split(".")[0] for m in SUB_NAME.findall(text) if m not in variables)
            walk(variables, found)
        if "Fn::If" in node and conditions is not None:
            condition, when_true, when_false = node["Fn::If"]
            walk(when_true if conditions[condition] else when_false, found)
            return
        for name, value in node.items():
            if name not in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If"):
                walk(value, found)

    deps: dict[str, set[str]] = {}
    customs = set()
    for logical_id, resource in resources.items():
        found: set[str] = set()
        walk(resource.get("Properties"), found)
        depends_on = resource.get("DependsOn") or []
        found.update([depends_on] if isinstance(depends_on, str) else depends_on)
        deps[logical_id] = {d for d in found if d in resources and d != logical_id}
        if is_custom(resource.get("Type", "")):
            customs.add(logical_id)
    rmap._klaxon_graph = (key, (deps, customs))
    return deps, customs


def holds(rmap: Any, logical_id: str) -> bool:
    condition = rmap._resource_json_map[logical_id].get("Condition")
    conditions = getattr(rmap, "lazy_condition_map", None)
    return not condition or conditions is None or bool(conditions[condition])


def uses(rmap: Any, logical_id: str) -> set[str]:
    """The resources a resource uses, directly or not."""
    deps, _ = dependency_graph(rmap)
    seen: set[str] = set()
    todo = list(deps.get(logical_id, ()))
    while todo:
        dep = todo.pop()
        if dep not in seen and dep != logical_id:
            seen.add(dep)
            todo.extend(deps.get(dep, ()))
    return seen


def waits(rmap: Any, logical_id: str) -> bool:
    """Whether the resource uses, directly or not, a custom resource that
    has not answered (or not been asked) yet."""
    _, customs = dependency_graph(rmap)
    if not customs:
        return False
    for dep in uses(rmap, logical_id) & customs:
        if holds(rmap, dep):
            instance = rmap._parsed_resources.get(dep)
            if instance is None or not instance.is_created():
                return True
    return False


class CustomResource(CloudFormationModel):
    """A custom resource: its request waits, recorded, for an answer."""

    __module__ = "moto.klaxon_cfn"

    def __init__(
        self,
        stack: Any,
        logical_id: str,
        resource_type: str,
        resource_name: str,
        properties: dict[str, Any],
    ):
        self.stack_id = stack.stack_id
        self.region_name = stack.region_name
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.resource_name = resource_name
        self.properties = properties
        self.physical_id: str | None = None  # until the function answers
        self.data: dict[str, Any] = {}
        # The request not answered yet (None once answered).
        self.request: dict[str, Any] | None = None
        self.failure: str | None = None

    @property
    def logical_resource_id(self) -> str:  # moto's CustomModel attribute
        return self.logical_id

    @logical_resource_id.setter
    def logical_resource_id(self, value: str) -> None:
        self.logical_id = value

    def send(self, request_type: str, **extra: Any) -> None:
        self.request = {
            "RequestType": request_type,
            "ServiceToken": self.properties["ServiceToken"],
            "ResponseURL": f"{server_url()}/cloudformation_{self.region_name}/cfnresponse"
            f"?stack={quote(self.stack_id, safe='')}",
            "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": self.properties,
            **extra,
        }

    def answer(self, body: dict[str, Any]) -> None:
        self.request = None
        if body.get("Status") == "SUCCESS":
            self.physical_id = body.get("PhysicalResourceId") or self.physical_id
            self.data = body.get("Data") or {}
        else:
            self.failure = body.get("Reason") or "no reason given"

    # CloudFormationModel interface
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::CustomResource"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # whatever the function answers

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.data and self.is_created():
            logger.warning(
                "custom resource %s: no %s in its answer", self.logical_id, attribute_name
            )
        return self.data.get(attribute_name)

    @property
    def physical_resource_id(self) -> str | None:
        return self.physical_id

    def is_created(self) -> bool:
        return self.request is None and self.failure is None

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> "CustomResource":
        from moto.cloudformation.models import cloudformation_backends

        properties = as_strings(cloudformation_json["Properties"])
        token = properties["ServiceToken"]
        if ":lambda:" in token:  # the function must exist, as in AWS
            lambda_backend(account_id, region_name).get_function(token)
        stack = cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"])
        resource = cls(
            stack, kwargs["LogicalId"], kwargs["ResourceType"], resource_name, properties
        )
        stack.add_custom_resource(resource)
        resource.send("Create")
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: "CustomResource",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "CustomResource":
        properties = as_strings(cloudformation_json["Properties"])
        if properties != original_resource.properties:
            old = original_resource.properties
            original_resource.properties = properties
            original_resource.send(
                "Update",
                PhysicalResourceId=original_resource.physical_id,
                OldResourceProperties=old,
            )
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        pass

    def delete(self, account_id: str, region_name: str) -> None:
        pass  # moto deletes a stack at once: no Delete request


def custom_resources(stack: Any) -> list[CustomResource]:
    return [r for r in stack.custom_resources.values() if isinstance(r, CustomResource)]
