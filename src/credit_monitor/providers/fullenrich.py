"""FullEnrich: GET /account/credits with a Bearer key; `balance` is a JSON number (double)."""

from __future__ import annotations

from collections.abc import Mapping

from credit_monitor.model import Balance, CheckError, FailureKind, require_number
from credit_monitor.providers.base import Provider, RetryPolicy


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
    path="/account/credits",
    top_up_url="https://app.fullenrich.com/app/settings/billing",
    auth_headers=auth_headers,
    parse_balance=parse_balance,
    # 60 requests/minute per workspace, shared with the user's enrichment jobs. A 5xx or a dropped
    # connection is retried soon, as often as the deadline allows (3 requests in 10 s cannot hurt
    # that limit). Its 429 has no Retry-After: wait 2 s, then 4 s, which the deadline usually stops.
    retry=RetryPolicy(attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0),
)
