"""Deploys a CloudFormation or SAM template to the local emulator, as
`sam deploy` would deploy it to AWS.

    python scripts/local_stack.py deploy --name NAME [--template PATH] [--param KEY=VALUE ...]
    python scripts/local_stack.py delete --name NAME

`sam deploy` itself cannot target moto: moto's CloudFormation does not run
the `AWS::Serverless-2016-10-31` transform. So this does what `sam package`
and CloudFormation's transform do, with AWS's own translator
(`aws-sam-translator`, installed with aws-sam-cli):

1. Local `CodeUri` and `DefinitionUri` become `s3://` objects in the
   emulator's artifacts bucket, named by their content's hash. A Rust
   function's code package is its crate's source (`functions/<Binary>/`):
   the emulator never runs Lambda code, the harness runs the handlers.
2. The SAM template is expanded by `samtranslator` (cached by content
   under `.klaxon/cache/`, so only the first stack of a change pays for it)
   and uploaded next to the artifacts.
3. The emulator's CloudFormation creates (or updates) the stack from that
   URL with the given parameters.
4. A custom resource's request, which CloudFormation sends to its function,
   is run here through the function's deployed package (a Python Lambda),
   which answers CloudFormation at the request's ResponseURL; the emulator records the request instead of invoking
   (scripts/moto_ext/). The function's environment and the caller's
   endpoint settings (`AWS_ENDPOINT_URL_<SERVICE>`) apply.

It prints one JSON document: the stack's id, status, parameters, and each
resource's logical id, type and physical id, as DescribeStackResources
answers.
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".klaxon" / "cache"
ARTIFACTS = "klaxon-local-artifacts"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
# How long a stack may stay in progress (custom resources included).
DEPLOY_TIMEOUT_S = 120


def fail(message):
    sys.stderr.write(f"local_stack: {message}\n")
    sys.exit(1)


def _zip_dir(path):
    """A zip of a folder's files, the same bytes for the same files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(file.relative_to(path)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, file.read_bytes())
    return buf.getvalue()


def _digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def _source_bytes(kind, path):
    return _zip_dir(path) if kind == "dir" else path.read_bytes()


class Artifacts:
    """The artifacts bucket: objects named by their content's hash."""

    def __init__(self, s3):
        self.s3 = s3
        self.ready = False
        # What was packaged: (key, kind, source path), for the cache.
        self.uploads = []

    def _bucket(self):
        if self.ready:
            return
        try:
            self.s3.create_bucket(Bucket=ARTIFACTS)
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        self.ready = True

    def put(self, key, data):
        """Uploads unless an object of that name (so that content) exists."""
        self._bucket()
        try:
            self.s3.head_object(Bucket=ARTIFACTS, Key=key)
        except ClientError:
            self.s3.put_object(Bucket=ARTIFACTS, Key=key, Body=data)
        return key

    def package(self, prefix, kind, path):
        data = _source_bytes(kind, path)
        suffix = ".zip" if kind == "dir" else path.suffix
        key = self.put(f"{prefix}-{_digest(data)}{suffix}", data)
        self.uploads.append((key, kind, str(path)))
        return key


def package(template_path, doc, artifacts):
    """`sam package`: local code and definitions become S3 objects."""
    base = template_path.parent
    for logical_id, resource in doc.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            uri = props["CodeUri"]
            if uri.startswith("s3://"):
                continue
            binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
            source = (base / uri).resolve()
            if binary:
                source = ROOT / "functions" / binary
            if not source.is_dir():
                fail(f"{logical_id}: code folder {source} does not exist")
            key = artifacts.package(f"code/{binary or logical_id}", "dir", source)
            props["CodeUri"] = f"s3://{ARTIFACTS}/{key}"
        if kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            uri = props["DefinitionUri"]
            if uri.startswith("s3://"):
                continue
            path = (base / uri).resolve()
            key = artifacts.package(f"definitions/{path.stem}", "file", path)
            props["DefinitionUri"] = f"s3://{ARTIFACTS}/{key}"
    return doc


def _cached(entry, artifacts):
    """A cached expansion, if every artifact it names is still current."""
    if not entry.exists():
        return None
    meta = json.loads(entry.read_text())
    current = []
    for key, kind, source in meta["uploads"]:
        path = Path(source)
        if not path.exists():
            return None
        data = _source_bytes(kind, path)
        if _digest(data) not in key:
            return None
        current.append((key, data))
    for key, data in current:
        artifacts.put(key, data)
    return meta["expanded"]


def expanded(template_path, artifacts, region, account):
    """The template as CloudFormation runs it: packaged, SAM transform
    applied. Cached by the template's text, the code and definitions it
    packages, region and account."""
    text = template_path.read_text()
    entry = CACHE / f"expanded-{_digest(f'{template_path}|{region}|{account}|{text}'.encode())}.json"
    hit = _cached(entry, artifacts)
    if hit is not None:
        return hit

    from samcli.yamlhelper import yaml_parse

    doc = package(template_path, yaml_parse(text), artifacts)
    if "AWS::Serverless-2016-10-31" in json.dumps(doc.get("Transform", "")):
        from samtranslator.translator.transform import transform

        class NoManagedPolicies:
            """Managed policies are named by ARN in the template; the
            translator never needs the account's list."""

            def load(self):
                return {}

        doc = transform(
            doc,
            {"AWS::Region": region, "AWS::AccountId": account},
            NoManagedPolicies(),
        )
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"uploads": artifacts.uploads, "expanded": doc}, sort_keys=True))
    tmp.replace(entry)
    return doc


def _stack(cfn, name):
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise


# ----------------------------------------------------- custom resources

RUNNER = '''import json, sys, types, uuid
sys.path.insert(0, sys.argv[1])
module, function = sys.argv[2].rsplit(".", 1)
handler = getattr(__import__(module), function)
event = json.loads(sys.stdin.read())
context = types.SimpleNamespace(
    function_name=sys.argv[3], aws_request_id=str(uuid.uuid4()),
    log_stream_name="local/" + sys.argv[3],
    get_remaining_time_in_millis=lambda: 60000)
handler(event, context)
'''


def _endpoint():
    return os.environ.get("AWS_ENDPOINT_URL_CLOUDFORMATION") or os.environ.get(
        "AWS_ENDPOINT_URL", "http://127.0.0.1:4566"
    )


def pending_custom_requests(stack_id):
    import urllib.parse
    import urllib.request

    url = f"{_endpoint()}/moto-api/klaxon/custom-resource-requests?" + urllib.parse.urlencode(
        {"stack": stack_id}
    )
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def run_custom_request(request, template, lambda_client, s3):
    """Runs a custom resource's request through its function's deployed
    package (a Python Lambda), fetched from the emulator's S3."""
    function_name = request["ServiceToken"].split(":function:")[-1]
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    resource = template["Resources"].get(request.get("FunctionLogicalId"), {})
    code = (resource.get("Properties") or {}).get("Code") or {}
    if not config.get("Runtime", "").startswith("python") or "S3Key" not in code:
        fail(
            f"custom resource {request['LogicalResourceId']}: only packaged Python functions run locally"
        )
    env = dict(os.environ)
    env.update((config.get("Environment") or {}).get("Variables") or {})
    env["AWS_LAMBDA_FUNCTION_NAME"] = function_name
    with tempfile.TemporaryDirectory() as folder:
        package = s3.get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])["Body"].read()
        with zipfile.ZipFile(io.BytesIO(package)) as z:
            z.extractall(folder)
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, folder, config["Handler"], function_name],
            input=json.dumps(request).encode(),
            env=env,
            capture_output=True,
            timeout=config.get("Timeout", 60),
        )
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
        fail(f"custom resource {request['LogicalResourceId']}: its function failed")


def wait(cfn, lambda_client, s3, stack_id, template):
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    handled = set()
    while True:
        stack = _stack(cfn, stack_id)
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            return stack
        if time.monotonic() > deadline:
            fail(f"stack {stack_id} still {status} after {DEPLOY_TIMEOUT_S} s")
        for request in pending_custom_requests(stack_id):
            if request["RequestId"] in handled:
                continue
            handled.add(request["RequestId"])
            # Which function answers: the one whose physical name the
            # ServiceToken ends with.
            function_name = request["ServiceToken"].split(":function:")[-1]
            for res in cfn.describe_stack_resources(StackName=stack_id)["StackResources"]:
                if res.get("PhysicalResourceId") == function_name:
                    request["FunctionLogicalId"] = res["LogicalResourceId"]
            run_custom_request(request, template, lambda_client, s3)
        time.sleep(0.05)


def rule_failures(template, params):
    """What CloudFormation refuses a stack for before creating anything:
    each rule (the template's `Rules`) whose assertion is false for these
    parameters (the given ones over the defaults), with its description.
    The emulator's CloudFormation ignores `Rules`, so this checks them as
    CloudFormation does. Only the rule functions Klaxon's template uses
    are known; any other fails loudly rather than passing."""
    values = {k: str(p.get("Default", "")) for k, p in template.get("Parameters", {}).items()}
    values.update(params)

    def ev(node):
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref":
                if arg not in values:
                    fail(f"rule refers to {arg}, which is not a parameter")
                return values[arg]
            if fn == "Fn::Equals":
                a, b = (ev(x) for x in arg)
                return a == b
            if fn == "Fn::Not":
                return not ev(arg[0])
            if fn == "Fn::And":
                return all(ev(x) for x in arg)
            if fn == "Fn::Or":
                return any(ev(x) for x in arg)
            fail(f"rule function {fn} is not evaluated locally; add it to rule_failures")
        if isinstance(node, (str, bool)):
            return node
        fail(f"rule: cannot evaluate {node!r}")

    failures = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not ev(rule["RuleCondition"]):
            continue
        for assertion in rule.get("Assertions", []):
            if not ev(assertion["Assert"]):
                failures.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
    return failures


def deploy(args):
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    s3 = session.client("s3")
    cfn = session.client("cloudformation")
    lambda_client = session.client("lambda")
    account = session.client("sts").get_caller_identity()["Account"]
    artifacts = Artifacts(s3)
    template_path = Path(args.template).resolve()
    template = expanded(template_path, artifacts, region, account)
    body = json.dumps(template, sort_keys=True).encode()
    template_key = artifacts.put(f"templates/{template_path.stem}-{_digest(body)}.json", body)
    url = f"https://{ARTIFACTS}.s3.amazonaws.com/{template_key}"
    params = []
    for p in args.param or []:
        if "=" not in p:
            fail(f"--param {p}: expected KEY=VALUE")
        k, v = p.split("=", 1)
        if k not in template.get("Parameters", {}):
            fail(f"--param {k}: the template has no such parameter")
        params.append({"ParameterKey": k, "ParameterValue": v})
    refused = rule_failures(template, {p["ParameterKey"]: p["ParameterValue"] for p in params})
    if refused:
        fail("CloudFormation refuses these parameters: " + "; ".join(refused))
    tags = [{"Key": "klaxon:template", "Value": template_key}]
    existing = _stack(cfn, args.name)
    if existing is None or existing["StackStatus"] in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        if existing is not None:
            cfn.delete_stack(StackName=args.name)
        stack_id = cfn.create_stack(
            StackName=args.name,
            TemplateURL=url,
            Parameters=params,
            Capabilities=CAPABILITIES,
            Tags=tags,
        )["StackId"]
    else:
        stack_id = existing["StackId"]
        same = {t["Key"]: t["Value"] for t in existing.get("Tags", [])}.get(
            "klaxon:template"
        ) == template_key and sorted(
            (p["ParameterKey"], p["ParameterValue"]) for p in existing.get("Parameters", [])
            if p["ParameterKey"] in {q["ParameterKey"] for q in params}
        ) == sorted((p["ParameterKey"], p["ParameterValue"]) for p in params)
        if not same:
            cfn.update_stack(
                StackName=stack_id,
                TemplateURL=url,
                Parameters=params,
                Capabilities=CAPABILITIES,
                Tags=tags,
            )
    stack = wait(cfn, lambda_client, s3, stack_id, template)
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        fail(
            f"stack {args.name}: {stack['StackStatus']} ({stack.get('StackStatusReason', '')})"
        )
    resources = cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
    json.dump(
        {
            "StackId": stack_id,
            "StackName": args.name,
            "StackStatus": stack["StackStatus"],
            "Region": region,
            "Account": account,
            "Parameters": {
                p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])
            },
            "Resources": [
                {
                    "LogicalResourceId": r["LogicalResourceId"],
                    "ResourceType": r["ResourceType"],
                    "PhysicalResourceId": r.get("PhysicalResourceId"),
                }
                for r in resources
                if r.get("LogicalResourceId")
            ],
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


def delete(args):
    cfn = boto3.client("cloudformation")
    if _stack(cfn, args.name) is not None:
        cfn.delete_stack(StackName=args.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("deploy")
    d.add_argument("--name", required=True)
    d.add_argument("--template", default=str(ROOT / "infra" / "template.yaml"))
    d.add_argument("--param", action="append")
    x = sub.add_parser("delete")
    x.add_argument("--name", required=True)
    args = parser.parse_args()
    {"deploy": deploy, "delete": delete}[args.command](args)


if __name__ == "__main__":
    main()
