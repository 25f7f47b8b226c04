"""The SIP media application's custom resource (VoiceSetupFunction).

CloudFormation has no resource type for a Chime SDK SIP media application,
so this function creates one that points at the voice-call function,
updates it when the stack's name or that function changes, and deletes it
with the stack. It answers CloudFormation at the request's ResponseURL, as
every custom resource must: a request it does not answer holds the stack
for an hour.

Tested with botocore's Stubber (scripts/test_voice_setup.py); the local
stack runs it from its deployed package (scripts/local_stack.py).
"""

import json
import urllib.request

import boto3

SUCCESS = "SUCCESS"
FAILED = "FAILED"
# The physical id of a resource whose creation failed: its rollback's
# Delete then has nothing to delete.
NOT_CREATED = "none"
# CloudFormation shows a failure's reason; it keeps at most 4 KB of the
# response, and the reason is what an operator reads.
REASON_LIMIT = 500


def handler(event, context):
    """Lambda's entry point."""
    handle(event, boto3.client("chime-sdk-voice"), log_stream=context.log_stream_name)


def handle(event, client, log_stream="voice-setup"):
    """Carries out one CloudFormation request and answers it."""
    sma_id = event.get("PhysicalResourceId") or ""
    try:
        status, data, sma_id = apply(event, client, sma_id)
        respond(event, status, data, sma_id, reason=f"See CloudWatch Logs: {log_stream}")
    except Exception as e:  # every failure must reach CloudFormation
        respond(event, FAILED, {}, sma_id or NOT_CREATED, reason=str(e)[:REASON_LIMIT])


def apply(event, client, sma_id):
    """The request's effect on the SIP media application: (status, data, id)."""
    props = event["ResourceProperties"]
    kind = event["RequestType"]
    if kind == "Delete":
        if sma_id and sma_id != NOT_CREATED:
            try:
                client.delete_sip_media_application(SipMediaApplicationId=sma_id)
            except client.exceptions.NotFoundException:
                pass
        return SUCCESS, {}, sma_id or NOT_CREATED
    endpoints = [{"LambdaArn": props["LambdaArn"]}]
    if kind == "Create":
        created = client.create_sip_media_application(
            AwsRegion=props["AwsRegion"], Name=props["Name"], Endpoints=endpoints
        )["SipMediaApplication"]
        sma_id = created["SipMediaApplicationId"]
    elif kind == "Update":
        client.update_sip_media_application(
            SipMediaApplicationId=sma_id, Name=props["Name"], Endpoints=endpoints
        )
    else:
        raise ValueError(f"unknown RequestType {kind!r}")
    sma = client.get_sip_media_application(SipMediaApplicationId=sma_id)["SipMediaApplication"]
    data = {
        "SipMediaApplicationId": sma["SipMediaApplicationId"],
        "SipMediaApplicationArn": sma["SipMediaApplicationArn"],
    }
    return SUCCESS, data, sma_id


def respond(event, status, data, physical_id, reason):
    """PUTs the answer to the request's pre-signed ResponseURL."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data,
        }
    ).encode()
    # The URL is pre-signed for an empty content type.
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"content-type": "", "content-length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
