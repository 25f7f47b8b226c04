"""Checks infra/voice_setup/index.py, the SIP media application's custom
resource: each CloudFormation request makes the Chime SDK calls it should
(botocore's Stubber checks their parameters) and answers CloudFormation
with a PUT to the request's ResponseURL (a local HTTP server records it).

    .venv/bin/python scripts/test_voice_setup.py [-v]
"""

import http.server
import json
import sys
import threading
import unittest
from pathlib import Path

import boto3
from botocore.stub import Stubber

sys.dont_write_bytecode = True  # nothing written into the function's package folder
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infra" / "voice_setup"))
import index  # noqa: E402

SMA_ID = "5f9c2c4e-4b8a-4c55-9d0e-0123456789ab"
SMA_ARN = f"arn:aws:chime:us-east-1:123456789012:sma/{SMA_ID}"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:klaxon-voice-call"
APPLICATION = {"SipMediaApplicationId": SMA_ID, "SipMediaApplicationArn": SMA_ARN}


class Answers(http.server.BaseHTTPRequestHandler):
    """CloudFormation's side of the ResponseURL: records each PUT."""

    received = []

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        Answers.received.append((self.headers.get("content-type"), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class VoiceSetup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.HTTPServer(("127.0.0.1", 0), Answers)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def setUp(self):
        Answers.received.clear()
        self.client = boto3.client(
            "chime-sdk-voice",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        self.stub = Stubber(self.client)
        self.stub.activate()

    def tearDown(self):
        self.stub.deactivate()

    def request(self, kind, physical_id=None, name="klaxon-voice"):
        event = {
            "RequestType": kind,
            "ResponseURL": f"http://127.0.0.1:{self.server.server_port}/answer",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/klaxon/1",
            "RequestId": "request-1",
            "LogicalResourceId": "SipMediaApplication",
            "ResourceType": "Custom::SipMediaApplication",
            "ResourceProperties": {"Name": name, "AwsRegion": "us-east-1", "LambdaArn": LAMBDA_ARN},
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        index.handle(event, self.client)
        self.stub.assert_no_pending_responses()
        self.assertEqual(len(Answers.received), 1, "exactly one answer to CloudFormation")
        content_type, answer = Answers.received[0]
        self.assertEqual(content_type, "", "the ResponseURL is signed for an empty content type")
        self.assertEqual(answer["RequestId"], "request-1")
        self.assertEqual(answer["LogicalResourceId"], "SipMediaApplication")
        return answer

    def read_back(self):
        self.stub.add_response(
            "get_sip_media_application",
            {"SipMediaApplication": APPLICATION},
            {"SipMediaApplicationId": SMA_ID},
        )

    def test_create_makes_an_application_calling_the_voice_function_and_returns_its_id_and_arn(self):
        self.stub.add_response(
            "create_sip_media_application",
            {"SipMediaApplication": APPLICATION},
            {"AwsRegion": "us-east-1", "Name": "klaxon-voice", "Endpoints": [{"LambdaArn": LAMBDA_ARN}]},
        )
        self.read_back()
        answer = self.request("Create")
        self.assertEqual(answer["Status"], "SUCCESS")
        self.assertEqual(answer["PhysicalResourceId"], SMA_ID)
        self.assertEqual(answer["Data"], APPLICATION)

    def test_update_points_the_same_application_at_the_new_name_and_function(self):
        self.stub.add_response(
            "update_sip_media_application",
            {"SipMediaApplication": APPLICATION},
            {"SipMediaApplicationId": SMA_ID, "Name": "klaxon2-voice", "Endpoints": [{"LambdaArn": LAMBDA_ARN}]},
        )
        self.read_back()
        answer = self.request("Update", physical_id=SMA_ID, name="klaxon2-voice")
        self.assertEqual(answer["Status"], "SUCCESS")
        self.assertEqual(answer["PhysicalResourceId"], SMA_ID, "an update never replaces the application")

    def test_delete_removes_the_application(self):
        self.stub.add_response("delete_sip_media_application", {}, {"SipMediaApplicationId": SMA_ID})
        answer = self.request("Delete", physical_id=SMA_ID)
        self.assertEqual(answer["Status"], "SUCCESS")
        self.assertEqual(answer["PhysicalResourceId"], SMA_ID)

    def test_delete_of_an_application_already_gone_succeeds(self):
        self.stub.add_client_error(
            "delete_sip_media_application", service_error_code="NotFoundException", http_status_code=404
        )
        self.assertEqual(self.request("Delete", physical_id=SMA_ID)["Status"], "SUCCESS")

    def test_a_refused_create_fails_the_stack_with_the_services_reason(self):
        self.stub.add_client_error(
            "create_sip_media_application",
            service_error_code="AccessDeniedException",
            service_message="not authorized to perform chime:CreateSipMediaApplication",
            http_status_code=403,
        )
        answer = self.request("Create")
        self.assertEqual(answer["Status"], "FAILED")
        self.assertEqual(answer["PhysicalResourceId"], index.NOT_CREATED)
        self.assertIn("chime:CreateSipMediaApplication", answer["Reason"])

    def test_the_rollback_of_a_failed_create_deletes_nothing_and_succeeds(self):
        # No stubbed call: a delete call would fail the Stubber.
        answer = self.request("Delete", physical_id=index.NOT_CREATED)
        self.assertEqual(answer["Status"], "SUCCESS")
        self.assertEqual(answer["PhysicalResourceId"], index.NOT_CREATED)

    def test_a_failed_delete_fails_the_stack_operation_instead_of_leaving_the_application(self):
        self.stub.add_client_error(
            "delete_sip_media_application",
            service_error_code="ConflictException",
            service_message="the application has phone numbers",
            http_status_code=409,
        )
        answer = self.request("Delete", physical_id=SMA_ID)
        self.assertEqual(answer["Status"], "FAILED")
        self.assertEqual(answer["PhysicalResourceId"], SMA_ID)
        self.assertIn("phone numbers", answer["Reason"])

    def test_an_unknown_request_type_fails_with_its_name(self):
        answer = self.request("Replace", physical_id=SMA_ID)
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("Replace", answer["Reason"])

    def test_a_long_reason_is_cut_to_what_cloudformation_keeps(self):
        self.stub.add_client_error(
            "create_sip_media_application",
            service_error_code="BadRequestException",
            service_message="x" * 5000,
            http_status_code=400,
        )
        answer = self.request("Create")
        self.assertEqual(answer["Status"], "FAILED")
        self.assertLessEqual(len(answer["Reason"]), index.REASON_LIMIT)


if __name__ == "__main__":
    unittest.main()
