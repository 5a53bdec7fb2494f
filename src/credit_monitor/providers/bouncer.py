"""Bouncer: GET /v1.1/credits with header x-api-key; the balance is `credits`.

Source: Bouncer's OpenAPI, https://docs.usebouncer.com/api-reference/credits/credits.md:
`/v1.1/credits`, auth "x-api-key in header" (or Basic with the key as password), example
{"credits": 1000}, "Limit of 10 requests per minute", errors 401, 402 (not enough credits), 429,
503 (retry). https://docs.usebouncer.com/getting-started gives the host api.usebouncer.com.

With 10 requests a minute, a check makes at most 3.
"""

from __future__ import annotations

from credit_monitor.model import Balance
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy
from credit_monitor.providers.fields import number_at


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/credits", {"x-api-key": api_key})


def parse_balance(payload: dict[str, object]) -> Balance:
    return Balance(credits=number_at(payload, ("credits",)))


PROVIDER = Provider(
    name="bouncer",
    display_name="Bouncer",
    default_api_url="https://api.usebouncer.com/v1.1",
    top_up_url=None,
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=3, backoff_seconds=0.5, rate_limited_backoff_seconds=6.0),
    rate_limit=RateLimit(requests=10, per_seconds=60),
)
