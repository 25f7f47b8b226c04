"""SNS's SMS sandbox and SES's account status, which moto 5.2.5 lacks.

Klaxon's self-test and `klaxon doctor` ask whether each channel can send:

- SNS (query protocol): GetSMSSandboxAccountStatus,
  ListSMSSandboxPhoneNumbers, CreateSMSSandboxPhoneNumber,
  VerifySMSSandboxPhoneNumber and DeleteSMSSandboxPhoneNumber. moto
  raised NotImplementedError on all five (HTTP 500, an HTML page).
- SESv2 GetAccount (`GET /v2/email/account`), which moto answered 404.

They are answered here as the services answer them: SNS's XML in the
2010-03-31 namespace with a RequestId, its error format (`InvalidParameter`
for a malformed parameter, `ResourceNotFound` 404 for a number not in the
sandbox, `VerificationException` for a wrong one-time password,
`OptedOut` for a number on moto's opted-out list), NextToken/MaxResults
pagination of the list; SES's JSON (`SendingEnabled`,
`ProductionAccessEnabled`, `EnforcementStatus`,
`DedicatedIpAutoWarmupEnabled`, `SendQuota`, `SuppressionAttributes`, and
`Details` when a test set them). The stand-in runs behind the IAM check
(iam.enforce), like moto itself: a role without the permission is denied
before it answers.

State is per account and region, in memory, under one lock; moto's reset
(`POST /moto-api/reset`) resets it too. The account is moto's for the
request: MOTO_ACCOUNT_ID, else the `x-moto-account-id` header, else the
access key's account.

Defaults, a test-world choice (a new AWS account starts in both sandboxes):
the SNS account is out of the SMS sandbox, with no sandbox numbers; SES
has sending enabled, production access (quota 50000 a day, 14 a second)
and enforcement status HEALTHY. A test that wants a channel in a sandbox
or paused sets a region nobody else uses (the routes in api.py):

- POST /moto-api/klaxon/sms-sandbox, body `{"region", "account",
  "in_sandbox", "verified": [...], "pending": [...],
  "one_time_passwords": {number: otp}}`; GET ?region=&account= answers the
  same keys (see sms_state).
- POST /moto-api/klaxon/ses-account, body `{"region", "account",
  "sending_enabled", "production_access", "enforcement_status",
  "details"}`; GET ?region=&account= (see ses_state).

One-time passwords: each CreateSMSSandboxPhoneNumber (and each pending
number the knob sets without one) draws a random 6-digit OTP; nothing is
texted, the GET shows it under `one_time_passwords`. A wrong OTP answers
VerificationException (HTTP 400, its Status `Pending`: the number stays
pending); verifying an already verified number succeeds.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .hooks import after_import

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

_SNS_NS = "http://sns.amazonaws.com/doc/2010-03-31/"
_SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_PHONE = re.compile(r"^(\+[0-9]{8,}|[0-9]{0,9})$")  # SNS's PhoneNumberString
_OTP = re.compile(r"^[0-9]{5,8}$")  # SNS's OTPCode
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_LANGUAGES = {
    "en-US", "en-GB", "es-419", "es-ES", "de-DE", "fr-CA", "fr-FR",
    "it-IT", "ja-JP", "pt-BR", "kr-KR", "zh-CN", "zh-TW",
}  # fmt: skip
_ENFORCEMENT = {"HEALTHY", "PROBATION", "SHUTDOWN"}
_SNS_ACTIONS = {
    "GetSMSSandboxAccountStatus",
    "ListSMSSandboxPhoneNumbers",
    "CreateSMSSandboxPhoneNumber",
    "VerifySMSSandboxPhoneNumber",
    "DeleteSMSSandboxPhoneNumber",
}
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found"}
PENDING, VERIFIED = "Pending", "Verified"


@dataclass
class _SmsSandbox:
    in_sandbox: bool = False
    numbers: dict[str, str] = field(default_factory=dict)  # number -> Pending | Verified
    otps: dict[str, str] = field(default_factory=dict)  # pending number -> its OTP


@dataclass
class _SesAccount:
    sending_enabled: bool = True
    production_access: bool = True
    enforcement_status: str = "HEALTHY"
    details: dict[str, Any] | None = None


_lock = threading.Lock()
_sms: dict[tuple[str, str], _SmsSandbox] = {}
_ses: dict[tuple[str, str], _SesAccount] = {}


def reset() -> None:
    """Every account and region back to the defaults."""
    with _lock:
        _sms.clear()
        _ses.clear()


def _otp() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


# ------------------------------------------------------------ the knobs


class Invalid(ValueError):
    """A knob's body or query the state cannot take."""


def _key(region: Any, account: Any) -> tuple[str, str]:
    if not isinstance(region, str) or not region:
        raise Invalid("region is required")
    account = DEFAULT_ACCOUNT if account is None else account
    if not isinstance(account, str) or not _ACCOUNT.match(account):
        raise Invalid("account is 12 digits")
    return account, region


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise Invalid(f"{name} is true or false")
    return value


def _numbers(body: dict[str, Any], name: str) -> list[str]:
    numbers = body.get(name) or []
    if not isinstance(numbers, list) or not all(
        isinstance(n, str) and _PHONE.match(n) and len(n) <= 20 for n in numbers
    ):
        raise Invalid(f"{name} is a list of phone numbers (E.164, +<digits>)")
    return numbers


def _sms_view(account: str, region: str, sandbox: _SmsSandbox) -> dict[str, Any]:
    return {
        "region": region,
        "account": account,
        "in_sandbox": sandbox.in_sandbox,
        "verified": [n for n, s in sandbox.numbers.items() if s == VERIFIED],
        "pending": [n for n, s in sandbox.numbers.items() if s == PENDING],
        "one_time_passwords": dict(sandbox.otps),
    }


def sms_state(region: Any, account: Any = None) -> dict[str, Any]:
    """`{"region", "account", "in_sandbox", "verified": [...], "pending":
    [...], "one_time_passwords": {pending number: OTP}}`."""
    account, region = _key(region, account)
    with _lock:
        return _sms_view(account, region, _sms.get((account, region)) or _SmsSandbox())


def set_sms(body: dict[str, Any]) -> dict[str, Any]:
    """Sets a region's SMS sandbox: `in_sandbox` when given; the numbers
    (verified, then pending) replace the list when either list is given;
    `one_time_passwords` may fix a pending number's OTP (else a random
    one). Answers the state."""
    if not isinstance(body, dict):
        raise Invalid("the body is a JSON object")
    account, region = _key(body.get("region"), body.get("account"))
    in_sandbox = _flag(body, "in_sandbox")
    verified, pending = _numbers(body, "verified"), _numbers(body, "pending")
    if set(verified) & set(pending):
        raise Invalid("a number is either verified or pending")
    otps = body.get("one_time_passwords") or {}
    if not isinstance(otps, dict) or not all(
        n in pending and isinstance(p, str) and _OTP.match(p) for n, p in otps.items()
    ):
        raise Invalid("one_time_passwords maps pending numbers to 5 to 8 digits")
    with _lock:
        sandbox = _sms.setdefault((account, region), _SmsSandbox())
        if in_sandbox is not None:
            sandbox.in_sandbox = in_sandbox
        if "verified" in body or "pending" in body:
            sandbox.numbers = {n: VERIFIED for n in verified} | {n: PENDING for n in pending}
            sandbox.otps = {n: otps.get(n) or _otp() for n in pending}
        return _sms_view(account, region, sandbox)


def _ses_view(account: str, region: str, state: _SesAccount) -> dict[str, Any]:
    view = {
        "region": region,
        "account": account,
        "sending_enabled": state.sending_enabled,
        "production_access": state.production_access,
        "enforcement_status": state.enforcement_status,
    }
    if state.details is not None:
        view["details"] = state.details
    return view


def ses_state(region: Any, account: Any = None) -> dict[str, Any]:
    """`{"region", "account", "sending_enabled", "production_access",
    "enforcement_status"}` (and `details` when set)."""
    account, region = _key(region, account)
    with _lock:
        return _ses_view(account, region, _ses.get((account, region)) or _SesAccount())


def set_ses(body: dict[str, Any]) -> dict[str, Any]:
    """Sets a region's SES account: each field given (the others keep
    their value). Answers the state."""
    if not isinstance(body, dict):
        raise Invalid("the body is a JSON object")
    account, region = _key(body.get("region"), body.get("account"))
    sending, production = _flag(body, "sending_enabled"), _flag(body, "production_access")
    status = body.get("enforcement_status")
    if status is not None and status not in _ENFORCEMENT:
        raise Invalid(f"enforcement_status is one of {', '.join(sorted(_ENFORCEMENT))}")
    details = body.get("details")
    if details is not None and not isinstance(details, dict):
        raise Invalid("details is an object (SES's AccountDetails)")
    with _lock:
        state = _ses.setdefault((account, region), _SesAccount())
        if sending is not None:
            state.sending_enabled = sending
        if production is not None:
            state.production_access = production
        if status is not None:
            state.enforcement_status = status
        if details is not None:
            state.details = details
        return _ses_view(account, region, state)


# ------------------------------------------------------- the stand-ins


def _scope(environ: dict) -> tuple[str, str, str]:
    """(access key, region, signing name) of a SigV4-signed request."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.groups() if match else ("", DEFAULT_REGION, "")


def _account(environ: dict, access_key: str) -> str:
    """The account moto serves the request as (BaseResponse.get_current_account)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def _answer(
    start_response: Any, status: int, content_type: str, text: str, request_id: str
) -> list[bytes]:
    data = text.encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("x-amzn-RequestId", request_id),
            ("Content-Length", str(len(data))),
        ],
    )
    return [data]


def served(environ: dict, start_response: Any) -> list[bytes] | None:
    """The answer when the request is one of the calls stood in for here,
    else None (the request's body left readable)."""
    key, region, service = _scope(environ)
    method = environ.get("REQUEST_METHOD", "GET")
    if (
        service in ("ses", "email")
        and method == "GET"
        and environ.get("PATH_INFO") == "/v2/email/account"
    ):
        request_id = str(uuid.uuid4())
        text = json.dumps(_get_account(_account(environ, key), region))
        return _answer(start_response, 200, "application/json", text, request_id)
    if service != "sns" or method != "POST":
        return None
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    form = {
        k: v[0] for k, v in parse_qs(body.decode(errors="replace"), keep_blank_values=True).items()
    }
    action = form.get("Action", "")
    if action not in _SNS_ACTIONS:
        return None
    request_id = str(uuid.uuid4())
    status, text = _sns(action, form, _account(environ, key), region, request_id)
    return _answer(start_response, status, "text/xml", text, request_id)


# SES


def _sent(account: str, region: str) -> float:
    """What moto's SES sent in this account and region (its GetSendQuota's
    SentLast24Hours)."""
    try:
        from moto.ses.models import ses_backends

        return float(ses_backends[account][region].sent_message_count)
    except (KeyError, AttributeError):
        return 0.0


def _get_account(account: str, region: str) -> dict[str, Any]:
    """SESv2 GetAccount's answer."""
    with _lock:
        state = _ses.get((account, region)) or _SesAccount()
        answer: dict[str, Any] = {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": state.enforcement_status,
            "ProductionAccessEnabled": state.production_access,
            "SendQuota": {
                # SES's quotas of a sandboxed account, and a new production one's.
                "Max24HourSend": 50000.0 if state.production_access else 200.0,
                "MaxSendRate": 14.0 if state.production_access else 1.0,
                "SentLast24Hours": 0.0,
            },
            "SendingEnabled": state.sending_enabled,
            "SuppressionAttributes": {"SuppressedReasons": []},
        }
        if state.details is not None:
            answer["Details"] = state.details
    answer["SendQuota"]["SentLast24Hours"] = _sent(account, region)
    return answer


# SNS


class _SnsError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _invalid(name: str, reason: str) -> _SnsError:
    return _SnsError(400, "InvalidParameter", f"Invalid parameter: {name} Reason: {reason}")


def _phone(form: dict[str, str]) -> str:
    number = form.get("PhoneNumber")
    if number is None:
        raise _invalid("PhoneNumber", "a value is required")
    if len(number) > 20 or not _PHONE.match(number):
        raise _invalid("PhoneNumber", f"{number} is not a valid phone number")
    return number


def _sns(
    action: str, form: dict[str, str], account: str, region: str, request_id: str
) -> tuple[int, str]:
    """(HTTP status, XML body) of one SMS sandbox action."""
    try:
        result = _sns_result(action, form, account, region)
    except _SnsError as e:
        extra = "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in e.extra.items())
        return e.status, (
            f'<ErrorResponse xmlns="{_SNS_NS}"><Error><Type>Sender</Type>'
            f"<Code>{e.code}</Code><Message>{_xml(e.message)}</Message>{extra}</Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    inner = f"<{action}Result>{result}</{action}Result>" if result else f"<{action}Result/>"
    return 200, (
        f'<{action}Response xmlns="{_SNS_NS}">{inner}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )


def _opted_out(account: str, region: str, number: str) -> bool:
    """Whether moto's SNS has the number opted out (its opted-out list)."""
    try:
        from moto.sns.models import sns_backends

        return number in sns_backends[account][region].opt_out_numbers
    except (KeyError, AttributeError):
        return False


def _page_start(form: dict[str, str]) -> tuple[int, int]:
    """(first index, page size) from NextToken and MaxResults."""
    try:
        size = int(form.get("MaxResults", "100"))
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise _invalid("MaxResults", "must be between 1 and 100")
    token = form.get("NextToken")
    if not token:
        return 0, size
    try:
        start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise _invalid("NextToken", "not a token ListSMSSandboxPhoneNumbers gave") from None
    if start < 0:
        raise _invalid("NextToken", "not a token ListSMSSandboxPhoneNumbers gave")
    return start, size


def _sns_result(action: str, form: dict[str, str], account: str, region: str) -> str:
    """The XML inside <{action}Result>; raises _SnsError."""
    if action == "GetSMSSandboxAccountStatus":
        with _lock:
            sandbox = _sms.get((account, region)) or _SmsSandbox()
            return f"<IsInSandbox>{'true' if sandbox.in_sandbox else 'false'}</IsInSandbox>"
    if action == "ListSMSSandboxPhoneNumbers":
        start, size = _page_start(form)
        with _lock:
            numbers = list(((_sms.get((account, region)) or _SmsSandbox()).numbers).items())
        page = numbers[start : start + size]
        members = "".join(
            f"<member><PhoneNumber>{_xml(n)}</PhoneNumber><Status>{s}</Status></member>"
            for n, s in page
        )
        text = f"<PhoneNumbers>{members}</PhoneNumbers>" if members else "<PhoneNumbers/>"
        if start + size < len(numbers):
            token = base64.urlsafe_b64encode(json.dumps({"offset": start + size}).encode()).decode()
            text += f"<NextToken>{token}</NextToken>"
        return text
    number = _phone(form)
    if action == "CreateSMSSandboxPhoneNumber":
        language = form.get("LanguageCode")
        if language is not None and language not in _LANGUAGES:
            raise _invalid("LanguageCode", f"{language} is not a supported language code")
        if _opted_out(account, region, number):
            raise _SnsError(400, "OptedOut", f"Phone number {number} is opted out")
        with _lock:
            sandbox = _sms.setdefault((account, region), _SmsSandbox())
            if sandbox.numbers.get(number) == VERIFIED:
                raise _invalid("PhoneNumber", f"{number} is already verified")
            sandbox.numbers[number] = PENDING
            sandbox.otps[number] = _otp()  # "sent" again
        return ""
    if action == "VerifySMSSandboxPhoneNumber":
        otp = form.get("OneTimePassword")
        if otp is None or not _OTP.match(otp):
            raise _invalid("OneTimePassword", "must be 5 to 8 digits")
        with _lock:
            sandbox = _sms.get((account, region)) or _SmsSandbox()
            status = sandbox.numbers.get(number)
            if status is None:
                raise _SnsError(
                    404, "ResourceNotFound", f"Phone number {number} is not in the SMS sandbox"
                )
            if status == PENDING:
                if sandbox.otps.get(number) != otp:
                    raise _SnsError(
                        400,
                        "VerificationException",
                        "Invalid one-time password",
                        {"Status": PENDING},
                    )
                sandbox.numbers[number] = VERIFIED
                sandbox.otps.pop(number, None)
        return ""
    # DeleteSMSSandboxPhoneNumber
    with _lock:
        sandbox = _sms.get((account, region)) or _SmsSandbox()
        if number not in sandbox.numbers:
            raise _SnsError(
                404, "ResourceNotFound", f"Phone number {number} is not in the SMS sandbox"
            )
        del sandbox.numbers[number]
        sandbox.otps.pop(number, None)
    return ""


# ----------------------------------------------------------- moto's reset


def _patch_reset(models: Any) -> None:
    """moto's reset (POST /moto-api/reset) resets this state too."""
    backend_reset = models.MotoAPIBackend.reset

    def reset_too(self: Any) -> None:
        backend_reset(self)
        reset()

    models.MotoAPIBackend.reset = reset_too


after_import("moto.moto_api._internal.models", _patch_reset)
