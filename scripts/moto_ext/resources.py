"""The resource types moto 5.2.5's CloudFormation lacks, added.

Each creates its resource through the service's own moto backend, so that
the service's API reads back what the template declared. (moto maps types
to the direct subclasses of CloudFormationModel, cached in
moto/cloudformation/parsing.py; these derive from one base here,
BaseResource, so moto's list is extended with MODELS, and its caches
rebuilt, when parsing loads: see stacks.)

- AWS::CloudWatch::Alarm: put_metric_alarm with every property, metric
  math `Metrics` included. Ref = alarm name, GetAtt Arn.
- AWS::SNS::Subscription: subscribe, then its attributes (FilterPolicyScope
  before FilterPolicy, as moto's Subscribe does). Ref = subscription ARN.
  moto confirms every subscription at once, email ones too: left so.
- AWS::SNS::TopicPolicy, AWS::SQS::QueuePolicy, AWS::S3::BucketPolicy: the
  `Policy` of each topic, queue or bucket named.
- AWS::Lambda::EventInvokeConfig: put_function_event_invoke_config (moto
  5.2.5 serves GetFunctionEventInvokeConfig; its Put appended instead of
  replacing, fixed in services). moto keeps one per function, whatever the
  Qualifier.
- AWS::Scheduler::Schedule: create_schedule. Ref = name, GetAtt Arn.
- AWS::Lambda::Url: create_function_url_config. Ref = function ARN, GetAtt
  FunctionUrl and FunctionArn.
- AWS::Events::Connection, AWS::Events::ApiDestination: connections'.

Custom resources (`Custom::*`, AWS::CloudFormation::CustomResource) are
custom's.
"""

import json
import re
from typing import Any
from urllib.parse import urlparse

from moto.core.common_models import CloudFormationModel

from .helpers import (
    as_bool,
    as_float,
    as_int,
    epoch_seconds,
    json_text,
    lambda_backend,
    s3_backend,
    unformatted_getatt,
)


class BaseResource(CloudFormationModel):
    """A resource CloudFormation creates in a moto backend. Subclasses say
    its type, name property and GetAtt attributes, and create/remove it."""

    # moto files the models it tracks by service, the second part of the
    # class's module (moto.<service>.models): these are listed as
    # "klaxon_cfn" in /moto-api/data.json.
    __module__ = "moto.klaxon_cfn"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls.__module__ = "moto.klaxon_cfn"  # before moto's metaclass reads it
        super().__init_subclass__(**kwargs)

    TYPE = ""
    NAME_PROPERTY = ""
    ATTRIBUTES: tuple[str, ...] = ()

    def __init__(
        self,
        account_id: str,
        region_name: str,
        resource_name: str,
        properties: dict[str, Any],
        physical_id: str,
        **attributes: Any,
    ):
        self.account_id = account_id
        self.region_name = region_name
        self.resource_name = resource_name
        self.properties = properties
        self.physical_id = physical_id
        self.attributes = attributes

    # CloudFormationModel interface
    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:  # type: ignore[override]
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.attributes:
            return self.attributes[attribute_name]
        raise unformatted_getatt()

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> "BaseResource":
        properties = cloudformation_json.get("Properties") or {}
        return cls.create(account_id, region_name, resource_name, properties)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: "BaseResource",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "BaseResource":
        properties = cloudformation_json.get("Properties") or {}
        if cls.NAME_PROPERTY and cls.NAME_PROPERTY not in properties:
            # A generated name stays the resource's name.
            new_resource_name = original_resource.resource_name
        original_resource.remove()
        return cls.create(account_id, region_name, new_resource_name, properties)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        pass  # instances delete themselves (delete below)

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove()

    # subclasses
    @classmethod
    def create(
        cls, account_id: str, region_name: str, name: str, props: dict[str, Any]
    ) -> "BaseResource":
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError


def _metric_data_queries(metrics: list[dict[str, Any]] | None) -> list[Any] | None:
    """`Metrics` as moto's PutMetricAlarm builds them."""
    if not metrics:
        return None
    from moto.cloudwatch.models import (
        Dimension,
        Metric,
        MetricDataQuery,
        MetricStat,
    )

    queries = []
    for metric in metrics:
        stat = None
        if metric.get("MetricStat"):
            details = metric["MetricStat"]
            inner = details.get("Metric", {})
            stat = MetricStat(
                metric=Metric(
                    metric_name=inner.get("MetricName"),
                    namespace=inner.get("Namespace"),
                    dimensions=[
                        Dimension(d.get("Name"), d.get("Value"))
                        for d in inner.get("Dimensions", [])
                    ],
                ),
                period=as_int(details.get("Period")),
                stat=details.get("Stat"),
                unit=details.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=metric.get("Id"),
                label=metric.get("Label"),
                period=as_int(metric.get("Period")),
                return_data=as_bool(metric.get("ReturnData")),
                expression=metric.get("Expression"),
                metric_stat=stat,
            )
        )
    return queries


class Alarm(BaseResource):
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, account_id, region_name, name, props):
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[account_id][region_name]
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props.get("ComparisonOperator"),
            evaluation_periods=as_int(props.get("EvaluationPeriods")),
            period=as_int(props.get("Period")),
            threshold=as_float(props.get("Threshold")),
            statistic=props.get("Statistic"),
            description=props.get("AlarmDescription"),
            dimensions=[
                {"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])
            ],
            alarm_actions=props.get("AlarmActions", []),
            metric_data_queries=_metric_data_queries(props.get("Metrics")),
            datapoints_to_alarm=as_int(props.get("DatapointsToAlarm")),
            extended_statistic=props.get("ExtendedStatistic"),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            unit=props.get("Unit"),
            actions_enabled=as_bool(props.get("ActionsEnabled"), True),
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
            tags=props.get("Tags"),
        )
        return cls(account_id, region_name, name, props, name, Arn=alarm.alarm_arn)

    def remove(self):
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[self.account_id][self.region_name].delete_alarms([self.physical_id])


def _sns_backend(account_id: str, arn: str) -> Any:
    from moto.sns.models import sns_backends

    return sns_backends[account_id][arn.split(":")[3]]


class Subscription(BaseResource):
    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)

    # Attributes in the order SetSubscriptionAttributes needs them (the
    # filter policy is validated against its scope).
    _ATTRIBUTES = (
        "FilterPolicyScope",
        "FilterPolicy",
        "RawMessageDelivery",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
    )

    @classmethod
    def create(cls, account_id, region_name, name, props):
        backend = _sns_backend(account_id, props["TopicArn"])
        sub = backend.subscribe(props["TopicArn"], props.get("Endpoint"), props["Protocol"])
        for attr in cls._ATTRIBUTES:
            if props.get(attr) is None:
                continue
            value = props[attr]
            if attr == "RawMessageDelivery":
                value = as_bool(value)
            elif isinstance(value, (dict, list)):
                value = json.dumps(value)
            backend.set_subscription_attributes(sub.arn, attr, value)
        return cls(account_id, region_name, name, props, sub.arn, Arn=sub.arn)

    def remove(self):
        _sns_backend(self.account_id, self.physical_id).unsubscribe(self.physical_id)


class TopicPolicy(BaseResource):
    TYPE = "AWS::SNS::TopicPolicy"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create(cls, account_id, region_name, name, props):
        for arn in props.get("Topics", []):
            _sns_backend(account_id, arn).set_topic_attribute(
                arn, "policy", json_text(props["PolicyDocument"])
            )
        return cls(account_id, region_name, name, props, name, Id=name)

    def remove(self):
        for arn in self.properties.get("Topics", []):
            backend = _sns_backend(self.account_id, arn)
            topic = backend.topics.get(arn)
            if topic is not None:  # back to the policy a new topic has
                topic._policy_json = topic._create_default_topic_policy(
                    backend.region_name, topic.account_id, topic.name
                )


def _queue(account_id: str, region_name: str, url: str) -> tuple[Any, str]:
    """The SQS backend of a queue URL (.../<account>/<name>), and the name."""
    from moto.sqs.models import sqs_backends

    parts = url.rstrip("/").split("/")
    account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else account_id
    region = region_name
    host = urlparse(url).hostname or ""
    match = re.match(r"sqs\.([a-z0-9-]+)\.", host)
    if match:
        region = match.group(1)
    return sqs_backends[account][region], parts[-1]


class QueuePolicy(BaseResource):
    TYPE = "AWS::SQS::QueuePolicy"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create(cls, account_id, region_name, name, props):
        for url in props.get("Queues", []):
            backend, queue_name = _queue(account_id, region_name, url)
            backend.set_queue_attributes(queue_name, {"Policy": json_text(props["PolicyDocument"])})
        return cls(account_id, region_name, name, props, name, Id=name)

    def remove(self):
        for url in self.properties.get("Queues", []):
            backend, queue_name = _queue(self.account_id, self.region_name, url)
            if queue_name in backend.queues:
                backend.set_queue_attributes(queue_name, {"Policy": ""})


class BucketPolicy(BaseResource):
    TYPE = "AWS::S3::BucketPolicy"

    @classmethod
    def create(cls, account_id, region_name, name, props):
        bucket = props["Bucket"]
        s3_backend(account_id, region_name).put_bucket_policy(
            bucket, json_text(props["PolicyDocument"]).encode()
        )
        # The bucket policy's identifier is its bucket's name.
        return cls(account_id, region_name, name, props, bucket)

    def remove(self):
        backend = s3_backend(self.account_id, self.region_name)
        if self.physical_id in backend.buckets:
            backend.delete_bucket_policy(self.physical_id)


class EventInvokeConfig(BaseResource):
    TYPE = "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create(cls, account_id, region_name, name, props):
        config = {
            key: props[key]
            for key in (
                "MaximumRetryAttempts",
                "MaximumEventAgeInSeconds",
                "DestinationConfig",
            )
            if key in props
        }
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in config:
                config[key] = int(config[key])
        lambda_backend(account_id, region_name).put_function_event_invoke_config(
            props["FunctionName"], config
        )
        return cls(account_id, region_name, name, props, name)

    def remove(self):
        try:
            lambda_backend(self.account_id, self.region_name).delete_function_event_invoke_config(
                self.properties["FunctionName"]
            )
        except Exception:  # the function may be gone already
            pass


class Schedule(BaseResource):
    TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, account_id, region_name, name, props):
        from moto.scheduler.models import scheduler_backends

        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=props.get("Description"),
            end_date=epoch_seconds(props.get("EndDate")),
            flexible_time_window=props.get("FlexibleTimeWindow"),
            group_name=props.get("GroupName"),
            kms_key_arn=props.get("KmsKeyArn"),
            name=name,
            schedule_expression=props.get("ScheduleExpression"),
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
            start_date=epoch_seconds(props.get("StartDate")),
            state=props.get("State"),
            target=props.get("Target"),
            action_after_completion=props.get("ActionAfterCompletion"),
        )
        return cls(account_id, region_name, name, props, name, Arn=schedule.arn)

    def remove(self):
        from moto.scheduler.models import scheduler_backends

        scheduler_backends[self.account_id][self.region_name].delete_schedule(
            self.properties.get("GroupName"), self.physical_id
        )


class FunctionUrl(BaseResource):
    TYPE = "AWS::Lambda::Url"
    ATTRIBUTES = ("FunctionArn", "FunctionUrl")

    @classmethod
    def create(cls, account_id, region_name, name, props):
        config = {
            key: props[key]
            for key in ("AuthType", "Cors", "InvokeMode", "Qualifier")
            if key in props
        }
        url = lambda_backend(account_id, region_name).create_function_url_config(
            props["TargetFunctionArn"], config
        )
        arn = url.function.function_arn
        return cls(account_id, region_name, name, props, arn, FunctionArn=arn, FunctionUrl=url.url)

    def remove(self):
        try:
            lambda_backend(self.account_id, self.region_name).delete_function_url_config(
                self.physical_id
            )
        except Exception:  # the function may be gone already
            pass


MODELS = (
    Alarm,
    Subscription,
    TopicPolicy,
    QueuePolicy,
    BucketPolicy,
    EventInvokeConfig,
    Schedule,
    FunctionUrl,
)
