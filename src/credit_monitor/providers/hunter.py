"""Hunter: GET /v2/usage with header X-API-KEY; the balance is `data.requests.credits.remaining`.

Plans with a single credit bucket report `requests.credits` {used, available, remaining}; legacy
plans have separate `searches` and `verifications` quotas and no one balance, which fails the
check as bad_response saying so (monitor one bucket with http-json instead). Values may be
fractional. `available` is the period's allowance and does not go down: `remaining` is the balance.
`data.reset_date` (a date) is when the period's credits renew, at 00:00 UTC: `renews_at`.

/v2/usage rather than /v2/account: Hunter's own client types the `credits` bucket on /usage, and
/account's `requests` only with searches and verifications {used, available}.

Sources:
- https://hunter.io/api-documentation/v2: "API endpoint https://api.hunter.io/v2/", the key "can
  be passed in the api_key query parameter or in the X-API-KEY header", "401 - Unauthorized: No
  valid API key was provided.", "403 - Forbidden: You have reached the rate limit." Errors are
  {"errors":[{"id", "code", "details"}]}.
- hunter-io/chatgpt-mcp @ 0ea59e3615bd5ca09e49327bd5b6a8125c9adeda, src/tools/account-management.ts:
  `callHunterApi({ path: "/usage", ... })`; "Teams on a single-credits-bucket plan additionally
  get a `credits` bucket with `remaining`. Credit values can be FRACTIONAL"; "`available` is the
  gross period allowance plus extra packs and does NOT decrease ... `remaining` is the value to
  pace work against". Reading usage "consumes no credits and no requests".
- hunter-io/chatgpt-mcp @ 6434a89fefa7fa4dfd599077d4bc6af834f73b5e, src/tools/account.ts: the
  /account schema, without `credits`.

Rate limit: none documented for /usage or /account, so `rate_limit` is None. Hunter documents its
rate-limit reply as 403, which `checks.interpret_reply` reports as auth (every 403 is), with
Hunter's "You have reached the rate limit." in the message.
"""

from __future__ import annotations

from credit_monitor.model import Balance, CheckError, FailureKind
from credit_monitor.providers.base import Provider, Request, RetryPolicy
from credit_monitor.providers.fields import find, number, number_at, renewal_date

CREDITS = ("data", "requests", "credits")


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/usage", {"X-API-KEY": api_key})


def parse_balance(payload: dict[str, object]) -> Balance:
    requests = find(payload, CREDITS[:2])
    if isinstance(requests, dict) and "credits" not in requests:
        raise CheckError(
            FailureKind.BAD_RESPONSE,
            "this Hunter plan has no single credit balance (no 'data.requests.credits'), only separate "
            "searches and verifications quotas; watch one with http-json, balance = "
            "data.requests.searches.remaining",
        )
    remaining = number_at(payload, (*CREDITS, "remaining"))
    quota = None
    credits = find(payload, CREDITS)
    if isinstance(credits, dict) and "available" in credits:
        quota = number(credits["available"], "'data.requests.credits.available'")
    data = payload.get("data")
    reset = data.get("reset_date") if isinstance(data, dict) else None
    renews_at = renewal_date(reset, "'data.reset_date'")
    return Balance(credits=remaining, quota=quota, renews_at=renews_at)


PROVIDER = Provider(
    name="hunter",
    display_name="Hunter",
    default_api_url="https://api.hunter.io/v2",
    top_up_url=None,
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0),
    rate_limit=None,  # none documented for /usage
)
