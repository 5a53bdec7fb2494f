"""NeverBounce: GET /v4.2/account/info?key=<key>; errors come back as 200 with a `status`.

The balance is `credits_info.paid_credits_remaining + credits_info.free_credits_remaining`
(both integers; free is 0 when absent). Monthly-billed accounts get `monthly_api_usage`, a
usage figure, instead of `paid_credits_remaining`: there is no balance to watch.

Sources:
- https://developers.neverbounce.com/reference/authentication: "including this API key as the key
  parameter in the request's query string ... curl -X GET
  'https://api.neverbounce.com/v4/account/info?key=secret_xxx'".
- https://developers.neverbounce.com/reference/error-handling: "These error messages will be
  returned with a 200 level status code"; statuses success, general_failure, auth_failure,
  temp_unavail, throttle_triggered ("rejected due to rate limiting; try again shortly"),
  bad_referrer.
- Go SDK NeverBounce/NeverBounceApi-Go @ e6b7873134aec8029f20affc9202bf747852c16f: account.go
  `"account/info"`; models/generic_models.go `PaidCreditsRemaining int`,
  `FreeCreditsRemaining int`; account_test.go the success fixture on
  https://api.neverbounce.com/v4.2/account/info.
- Python SDK NeverBounce/NeverBounceApi-Python @ d2fe1b6cb2d30ab7a2048fb8fc1fac4bb2467131:
  neverbounce_sdk/utils.py `API_VERSION = 'v4.2'`.
- Ruby SDK NeverBounce/NeverBounceApi-Ruby @ b948c31259cc78b978df3c9981a3349d55f9dae3:
  lib/never_bounce/api/response/account_info.rb branches on "monthly_api_usage" vs
  "paid_credits_remaining".

Rate limit: none documented for account/info (throttling is a `throttle_triggered` status, with
no Retry-After), so `rate_limit` is None.
"""

from __future__ import annotations

from credit_monitor.model import Balance, CheckError, FailureKind, Pool, json_type_name
from credit_monitor.providers.base import Provider, Request, RetryPolicy
from credit_monitor.providers.fields import excerpt, find, number
from credit_monitor.providers.query_auth import with_query_key

SHOWN_STATUS_CHARS = 40


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", with_query_key(api_url + "/account/info", "key", api_key), {})


def parse_balance(payload: dict[str, object]) -> Balance:
    _require_success(payload)
    info = find(payload, ("credits_info",))
    if not isinstance(info, dict):
        raise CheckError(
            FailureKind.BAD_RESPONSE, f"'credits_info' must be an object, got {json_type_name(info)}"
        )
    if "paid_credits_remaining" not in info:
        if "monthly_api_usage" in info:
            raise CheckError(
                FailureKind.BAD_RESPONSE,
                "NeverBounce reports monthly_api_usage: monthly-billed accounts have no credit balance; "
                "use http-json or drop the account",
            )
        raise CheckError(
            FailureKind.BAD_RESPONSE, "response has no 'credits_info.paid_credits_remaining' field"
        )
    paid = number(info["paid_credits_remaining"], "'credits_info.paid_credits_remaining'")
    free = number(info.get("free_credits_remaining", 0), "'credits_info.free_credits_remaining'")
    return Balance(credits=paid + free, pools=(Pool("paid", paid), Pool("free", free)))


def _require_success(payload: dict[str, object]) -> None:
    status = payload.get("status")
    if status == "success":
        return
    message = excerpt(payload.get("message"))
    detail = f": {message}" if message else ""
    if status == "auth_failure":
        raise CheckError(FailureKind.AUTH, f"NeverBounce auth_failure, key rejected{detail}")
    if status == "throttle_triggered":
        raise CheckError(FailureKind.RATE_LIMITED, f"NeverBounce throttle_triggered{detail}")
    if isinstance(status, str):
        shown = status if len(status) <= SHOWN_STATUS_CHARS else status[: SHOWN_STATUS_CHARS - 1] + "…"
        raise CheckError(FailureKind.BAD_RESPONSE, f"NeverBounce status {shown!r}{detail}")
    raise CheckError(
        FailureKind.BAD_RESPONSE, f"NeverBounce reply has no status string (got {json_type_name(status)})"
    )


PROVIDER = Provider(
    name="neverbounce",
    display_name="NeverBounce",
    default_api_url="https://api.neverbounce.com/v4.2",
    top_up_url=None,
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0),
    rate_limit=None,  # not documented; throttling arrives as status throttle_triggered
)
