"""FullEnrich: GET /account/credits with a Bearer key; `balance` is a JSON number (double)."""

from __future__ import annotations

from collections.abc import Mapping

from credit_monitor.model import Balance, CheckError, FailureKind, require_number
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/account/credits", auth_headers(api_key))


def auth_headers(api_key: str) -> Mapping[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def parse_balance(payload: dict[str, object]) -> Balance:
    if "balance" not in payload:
        raise CheckError(FailureKind.BAD_RESPONSE, "response has no 'balance' field")
    return Balance(credits=require_number(payload["balance"], "'balance'"))


PROVIDER = Provider(
    name="fullenrich",
    display_name="FullEnrich",
    default_api_url="https://app.fullenrich.com/api/v2",
    top_up_url="https://app.fullenrich.com/app/settings/billing",
    build_request=build_request,
    parse_balance=parse_balance,
    # 60 requests/minute per workspace, shared with the user's enrichment jobs. A 5xx or a dropped
    # connection is retried soon, as often as the deadline allows (3 requests in 10 s cannot hurt
    # that limit). Its 429 has no Retry-After: wait 2 s, then 4 s, which the deadline usually stops.
    retry=RetryPolicy(attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0),
    rate_limit=RateLimit(requests=60, per_seconds=60),  # per workspace (its API key)
)
