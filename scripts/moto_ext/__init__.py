"""moto's CloudFormation made to create Klaxon's stack for real, and moto's
own Lambda delivery switched off. Imported by scripts/moto_server.py
(which puts scripts/ on sys.path), which then calls configure() with its
own address.

The local stack is created by moto's CloudFormation from the SAM template
expanded by aws-sam-translator. moto 5.2.5 skips some of its resource types
(a warning "Tried to parse X but it's not supported"), creates others with
properties left out, and would run Lambda functions, which needs Docker.

Each module says what it changes, and patches moto's modules as moto
imports them (hooks):

- hooks: post-import hooks, and configure() (this server's address).
- resources: resource types moto lacks (CloudWatch alarms, SNS
  subscriptions, topic, queue and bucket policies, Lambda event invoke
  configs and URLs, Scheduler schedules).
- connections: EventBridge connections and API destinations.
- custom: custom resources, their requests recorded for a deploy script
  to run, and what waits for their answers.
- references: `{{resolve:secretsmanager:...}}` dynamic references.
- stacks: templates and stacks: moto's parsing (FindInMap, NoValue,
  Conditions), UpdateStack, custom resources' answers, failed resources.
- services: moto's own types completed (Step Functions, IAM, Lambda,
  EventBridge bus), and Lambda delivery off (event source mappings, SNS
  `lambda` subscriptions, EventBridge Lambda targets).
- api: routes under /moto-api/klaxon/ (custom resource requests, Lambda
  filter criteria on records) and the ResponseURL's body.
- faults: faults on the calls Step Functions' executor makes itself.
- sandboxes: SNS's SMS sandbox calls and SESv2 GetAccount, which moto
  lacks, answered from per-region state a test sets (api's knobs).
- helpers: conversions of CloudFormation's values, shared backends.
- iam (with iam_requests): each assumed role's identity policies enforced
  on the calls signed with its credentials; iam_simulate: IAM's
  SimulatePrincipalPolicy (which moto lacks) from the same evaluation.
- ddblocal: DynamoDB served by AWS's DynamoDB Local behind this server
  (with KLAXON_DYNAMODB_LOCAL), the stack's tables created there too; and
  tables' TTL and point-in-time recovery, which moto's CloudFormation
  leaves out.

The wrappers for CloudFormation are moto models of their own: the
/moto-api/data.json dump lists them as service "klaxon_cfn".
"""

from . import api, ddblocal, iam, iam_simulate, references, sandboxes, services, stacks  # noqa: F401 (their hooks)
from .hooks import configure

__all__ = ["configure"]
