"""Templates and stacks: moto's CloudFormation parsing, UpdateStack, and
the stack's course while custom resources answer or resources fail.

- Fn::FindInMap looks up string keys: a Number parameter's 15 is "15"
  there (moto failed with KeyError).
- An Fn::If giving AWS::NoValue in a list leaves the item out (moto kept a
  null: a null statement in an IAM role's policy).
- A resource whose Condition is false is not listed as a resource (moto
  listed an empty one, and created nothing).
- UpdateStack honours Conditions: moto updated a resource whose condition
  is false (and failed on its references); such a resource is deleted
  (unless its DeletionPolicy is Retain), and one whose condition turned
  true is created. A resource also counts as changed when a parameter it
  uses in a Sub, an Fn::If or its Condition changed (moto saw only Refs),
  and changed resources are updated after those they use. One of a type
  moto cannot update (LogGroup, Permission, ...) stays as it was (moto
  dropped it from the stack).
- The types of resources and connections (their MODELS) join moto's list.
- Custom resources (custom): a resource that uses one waits for its
  answer; the answer PUT to the ResponseURL (process_cfn_response) creates
  or updates what waited, or fails the stack.
- A resource that fails as in AWS (ResourceFailed: a dynamic reference to
  a missing secret, see references) fails the stack, not the call:
  CreateStack answers, and the stack is rolled back (its resources
  deleted) to ROLLBACK_COMPLETE, its reason naming the resource; a failed
  update leaves it UPDATE_ROLLBACK_FAILED (moto cannot roll updates back).
"""

import functools
import json
import sys
import threading
from typing import Any, Callable

from . import connections, resources
from .custom import CustomResource, custom_resources, holds, is_custom, uses, waits
from .helpers import SUB_NAME, ResourceFailed, as_string, logger
from .hooks import after_import
from .resources import BaseResource

_MODELS = (*resources.MODELS, *connections.MODELS)

# Stacks' resources are created by one thread at a time: a custom
# resource's answer resumes creation while DescribeStackResources may be
# listing (and so creating) the same stack's resources.
_CREATING = threading.RLock()

_moto_update_resource: Callable[..., Any] | None = None


def _remove_resource(
    rmap: Any, logical_id: str, resource: Any, resource_json: dict[str, Any]
) -> None:
    """Takes a resource out of the stack (deleted unless it is retained)."""
    if resource_json.get("DeletionPolicy") != "Retain":
        rmap._delete_resource(resource, resource_json)
    rmap._parsed_resources[logical_id] = None


def _update_resource(logical_id, resource_json, resources_map, account_id, region_name):
    """moto's parse_and_update_resource, honouring the resource's Condition,
    and waiting for custom resources it uses."""
    existing = resources_map._parsed_resources.get(logical_id)
    if not holds(resources_map, logical_id):
        if existing is not None:
            _remove_resource(resources_map, logical_id, existing, resource_json)
        return None
    if waits(resources_map, logical_id):
        # Updated once the custom resource answers (_resume).
        resources_map.__dict__.setdefault("_klaxon_deferred", {})[logical_id] = resource_json
        return existing
    if existing is None:
        resources_map._parsed_resources.pop(logical_id, None)
        return resources_map[logical_id]
    parsing = sys.modules["moto.cloudformation.parsing"]
    model = parsing.resource_class_from_type(resource_json["Type"])
    if hasattr(model.update_from_cloudformation_json, "__isabstractmethod__"):
        return existing  # moto cannot update this type (it dropped the resource)
    updated = _moto_update_resource(
        logical_id, resource_json, resources_map, account_id, region_name
    )
    if isinstance(updated, CustomResource) and updated.request:
        # Its answer may change its data: what uses it is updated again then.
        deferred = resources_map.__dict__.setdefault("_klaxon_deferred", {})
        for other, other_json in resources_map._resource_json_map.items():
            if resources_map._parsed_resources.get(other) is not None and logical_id in uses(
                resources_map, other
            ):
                deferred[other] = other_json
    return updated


def _names_used(resource: dict[str, Any], conditions: dict[str, Any]) -> set[str]:
    """The parameters and resources a resource uses: Ref, GetAtt, Sub,
    DependsOn, and the conditions it names (Condition, Fn::If)."""
    found: set[str] = set()
    seen_conditions: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "DependsOn":
                    found.update([value] if isinstance(value, str) else value)
                elif key == "Fn::GetAtt":
                    found.add(value.split(".")[0] if isinstance(value, str) else value[0])
                elif key == "Fn::Sub":
                    text = value if isinstance(value, str) else value[0]
                    found.update(m.split(".")[0] for m in SUB_NAME.findall(text))
                    walk(value)
                elif key in ("Fn::If", "Condition"):
                    name = value[0] if key == "Fn::If" else value
                    if isinstance(name, str) and name in conditions and name not in seen_conditions:
                        seen_conditions.add(name)
                        walk(conditions[name])
                    walk(value)
                else:
                    walk(value)

    walk(resource)
    return found


def _may_be_novalue(node: Any) -> bool:
    return isinstance(node, dict) and ("Fn::If" in node or node.get("Ref") == "AWS::NoValue")


def _patch_parsing(parsing: Any) -> None:
    resource_class_from_type = parsing.resource_class_from_type

    def resource_class(resource_type: str) -> Any:
        if is_custom(resource_type):
            return CustomResource
        return resource_class_from_type(resource_type)

    parsing.resource_class_from_type = resource_class

    # Mapping keys are strings: !FindInMap [SelfTestWindow, !Ref
    # SelfTestIntervalMinutes, Minutes] looks up "15", where moto looked up
    # the Number parameter's 15 (KeyError).
    #
    # A list item that is AWS::NoValue (an Fn::If branch) is left out, as
    # CloudFormation does; moto kept a null (a null IAM policy statement).
    clean_json = parsing.clean_json

    def clean(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            items = ((item, clean(item, resources_map)) for item in resource_json)
            return [
                value for item, value in items if value is not None or not _may_be_novalue(item)
            ]
        if isinstance(resource_json, dict) and isinstance(resource_json.get("Fn::FindInMap"), list):
            name, *path = resource_json["Fn::FindInMap"]
            keys = [as_string(clean(key, resources_map)) for key in path]
            resource_json = {"Fn::FindInMap": [name, *keys]}
        return clean_json(resource_json, resources_map)

    parsing.clean_json = clean  # moto's recursion calls the module's name

    # moto lists CloudFormationModel's direct subclasses; the models of
    # resources and connections derive from BaseResource. The lists moto caches are rebuilt from this one.
    get_model_list = parsing.get_model_list

    @functools.lru_cache
    def model_list() -> list[Any]:
        return [m for m in get_model_list() if m is not BaseResource] + list(_MODELS)

    parsing.get_model_list = model_list
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    missing = [m for m in _MODELS if parsing.get_model_map().get(m.TYPE) is not m]
    assert not missing, f"CloudFormation models not found by moto: {missing}"

    ResourceMap = parsing.ResourceMap

    # UpdateStack, where moto looked only at the resources whose JSON or
    # Ref'd parameters changed, and updated them whatever their Condition.
    global _moto_update_resource
    _moto_update_resource = parsing.parse_and_update_resource
    parsing.parse_and_update_resource = _update_resource
    build_resource_diff = ResourceMap.build_resource_diff
    update = ResourceMap.update

    def resource_diff(self, other_template, parameters=None):
        """Also modified: resources using a changed parameter in a Sub, an
        Fn::If or their Condition. Modified resources come after those they
        use (moto updates them in this order)."""
        diff = build_resource_diff(self, other_template, parameters)
        resources = other_template["Resources"]
        conditions = other_template.get("Conditions", {})
        used = {name: _names_used(r, conditions) for name, r in resources.items()}
        if parameters:
            changed = {k for k, v in parameters.items() if self.input_parameters.get(k) != v}
            for name in resources:
                if name in self._resource_json_map and name not in diff["Modify"]:
                    if used[name] & changed:
                        diff["Modify"].append(name)
        ordered: list[str] = []

        def visit(name: str, path: set[str]) -> None:
            if name in ordered or name in path:
                return
            for dep in sorted(used.get(name, ()) & set(diff["Modify"])):
                visit(dep, path | {name})
            ordered.append(name)

        for name in diff["Modify"]:
            visit(name, set())
        diff["Modify"] = ordered
        return diff

    def update_with_conditions(self, template, parameters=None):
        update(self, template, parameters)
        with _CREATING:  # resources whose condition changed without their JSON
            for logical_id, resource_json in self._resource_json_map.items():
                existing = self._parsed_resources.get(logical_id)
                if not holds(self, logical_id):
                    if existing is not None:
                        _remove_resource(self, logical_id, existing, resource_json)
                elif existing is None:
                    self._parsed_resources.pop(logical_id, None)
                    self[logical_id]  # created (unless it waits)

    ResourceMap.build_resource_diff = resource_diff
    ResourceMap.update = update_with_conditions
    getitem = ResourceMap.__getitem__

    def __getitem__(self, key):
        value = self._parsed_resources.get(key)
        if value is not None or (
            key in self._parsed_resources and key not in self._resource_json_map
        ):
            return value
        with _CREATING:
            if key in self._resource_json_map:
                # Not created (an update leaves None for what it could not).
                self._parsed_resources.pop(key, None)
                if waits(self, key):
                    return None  # created once the custom resource answers
            return getitem(self, key)

    ResourceMap.__getitem__ = __getitem__


def _resume(stack: Any) -> None:
    """Creates (or updates) what no longer waits; completes the stack when
    all is."""
    rmap = stack.resource_map
    try:
        with _CREATING:
            deferred = rmap.__dict__.get("_klaxon_deferred", {})
            for logical_id, resource_json in list(deferred.items()):
                if not waits(rmap, logical_id):
                    del deferred[logical_id]
                    rmap._parsed_resources[logical_id] = _update_resource(
                        logical_id, resource_json, rmap, rmap._account_id, rmap._region_name
                    )
            ready = rmap.creation_complete() and not deferred
    except ResourceFailed as e:  # the stack fails with the resource
        _fail_with(stack, e)
        return
    except Exception as e:  # a resource failed to be created: the stack fails
        _fail(stack, None, str(e))
        return
    if not ready:
        return
    stack.output_map = stack._create_output_map()
    if stack.status == "CREATE_IN_PROGRESS":
        stack.mark_creation_complete()
    elif stack.status == "UPDATE_IN_PROGRESS":
        stack.status = "UPDATE_COMPLETE"
        stack._add_stack_event("UPDATE_COMPLETE")


def _fail(stack: Any, logical_id: str | None, reason: str) -> None:
    """A failed resource (a custom resource's FAILED answer, a
    ResourceFailed) fails the stack, as in AWS."""
    if stack.status == "CREATE_IN_PROGRESS":
        what = f"The following resource(s) failed to create: [{logical_id}]. " if logical_id else ""
        stack.status = "CREATE_FAILED"
        stack.status_reason = what + reason
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=stack.status_reason)
        # Rolled back (CloudFormation's default): what was created goes.
        stack.status = "ROLLBACK_IN_PROGRESS"
        stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=stack.status_reason)
        try:
            with _CREATING:
                stack.resource_map.delete()
        except Exception as e:
            logger.warning("rollback of %s left resources: %s", stack.name, e)
        # The stack has no resources left (moto's lazy map would create the
        # template's again when they are listed).
        stack.resource_map._resource_json_map = {}
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")
    else:
        # moto cannot undo an update: the stack says so.
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack.status_reason = reason + " (the local emulator does not roll updates back)"
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=stack.status_reason)


def _fail_with(stack: Any, failure: ResourceFailed) -> None:
    if stack.status == "CREATE_IN_PROGRESS":
        _fail(stack, failure.logical_id, failure.reason)
    else:
        reason = f"The following resource(s) failed to update: [{failure.logical_id}]. "
        _fail(stack, None, reason + failure.reason)


def _patch_cloudformation_models(models: Any) -> None:
    Stack = models.Stack

    # Resources whose condition is false (or that wait) are no resources.
    Stack.stack_resources = property(
        lambda self: [r for r in self.resource_map.values() if r is not None]
    )

    # No outputs before the stack is created (they would be cached empty),
    # nor after it failed to be.
    outputs = Stack.outputs

    def stack_outputs(self):
        if self.status.startswith(("CREATE_", "ROLLBACK_")) and self.status != "CREATE_COMPLETE":
            return None
        return outputs.fget(self)

    Stack.outputs = property(stack_outputs)

    # A resource that fails (ResourceFailed) fails the stack, as in AWS,
    # not the CreateStack call (moto left the stack CREATE_IN_PROGRESS).
    create_resources = Stack.create_resources

    def create_resources_or_fail(self):
        try:
            create_resources(self)
        except ResourceFailed as e:
            _fail_with(self, e)

    Stack.create_resources = create_resources_or_fail

    # An update that sent requests to custom resources waits for them; one
    # whose resource fails fails the stack.
    update = Stack.update

    def update_and_wait(self, *args, **kwargs):
        try:
            update(self, *args, **kwargs)
        except ResourceFailed as e:
            _fail_with(self, e)
            return
        if any(r.request for r in custom_resources(self)):
            self.status = "UPDATE_IN_PROGRESS"
            if self.events and self.events[-1].resource_status == "UPDATE_COMPLETE":
                self.events.pop()

    Stack.update = update_and_wait


def _patch_cloudformation_responses(responses: Any) -> None:
    def process_cfn_response(self):
        from moto.cloudformation.models import cloudformation_backends

        try:
            body = json.loads(self.body or "{}")
            stack_id = body["StackId"]
            _, _, _, region, account, _ = stack_id.split(":", 5)
            stack = cloudformation_backends[account][region].get_stack(stack_id)
            resource = stack.custom_resources[body["LogicalResourceId"]]
        except Exception as e:
            return (
                400,
                {"status": 400},
                json.dumps({"message": f"not a custom resource answer: {e}"}),
            )
        if (
            not isinstance(resource, CustomResource)
            or resource.request is None
            or (resource.request["RequestId"] != body.get("RequestId"))
        ):
            return 404, {"status": 404}, json.dumps({"message": "no such request waits"})
        with _CREATING:
            resource.answer(body)
            if resource.failure:
                reason = (
                    f"Received response status [FAILED] from custom resource"
                    f" {resource.logical_id}. Message returned: {resource.failure}"
                )
                _fail(stack, resource.logical_id, reason)
            else:
                _resume(stack)
        return 200, {"status": 200}, json.dumps({})

    responses.CloudFormationResponse.process_cfn_response = process_cfn_response

    # Per-resource status while the stack waits (moto gives the stack's).
    dto_init = responses.StackResourceDTO.__init__

    def dto(self, stack, resource):
        dto_init(self, stack, resource)
        if stack.status in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"):
            verb = stack.status.split("_")[0]
            done = getattr(resource, "is_created", lambda: True)()
            self.resource_status = f"{verb}_{'COMPLETE' if done else 'IN_PROGRESS'}"

    responses.StackResourceDTO.__init__ = dto


after_import("moto.cloudformation.parsing", _patch_parsing)
after_import("moto.cloudformation.models", _patch_cloudformation_models)
after_import("moto.cloudformation.responses", _patch_cloudformation_responses)
