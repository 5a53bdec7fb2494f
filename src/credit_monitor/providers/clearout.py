"""Clearout: GET /v2/email_verify/getcredits with a Bearer token; `data.available_credits`.

Source: https://docsv2.clearout.io/api-reference/email-verify/get-available-credits:
`GET https://api.clearout.io/v2/email_verify/getcredits`, `Authorization: Bearer <token>`, reply
{"status": "success", "data": {"available_credits": 114563, "credits": {"available": 114563, ...},
...}}. A reply whose `status` is not "success" fails as bad_response naming it.

Not found in the docs: this endpoint's error bodies and rate limit (`rate_limit` is None).
"""

from __future__ import annotations

from credit_monitor.model import Balance, CheckError, FailureKind
from credit_monitor.providers.base import Provider, Request, RetryPolicy
from credit_monitor.providers.fields import number_at

SHOWN_STATUS_CHARS = 40


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/email_verify/getcredits", {"Authorization": f"Bearer {api_key}"})


def parse_balance(payload: dict[str, object]) -> Balance:
    status = payload.get("status", "success")
    if status != "success":
        shown = str(status)[:SHOWN_STATUS_CHARS]
        raise CheckError(FailureKind.BAD_RESPONSE, f"Clearout status {shown!r}, not 'success'")
    return Balance(credits=number_at(payload, ("data", "available_credits")))


PROVIDER = Provider(
    name="clearout",
    display_name="Clearout",
    default_api_url="https://api.clearout.io/v2",
    top_up_url=None,
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0),
    rate_limit=None,  # not documented
)
