"""Lusha: GET /v3/account/usage with header `api_key`; the balance is `credits.remaining`.

Sources:
- https://docs.lusha.com/account/usage: "Endpoint: GET https://api.lusha.com/v3/account/usage",
  `--header 'api_key: YOUR_API_KEY'`, "check credits.remaining before starting a large ... job",
  and "This endpoint has its own rate limit - 5 requests per minute" ("Do not poll it on every
  API call"). Reply {"credits": {"total", "used", "remaining"}, "rateLimits": ..., "plan": ...}.
- https://docs.lusha.com/error-codes: errors are {"statusCode", "message", "errors"}; 401 an
  invalid or missing key, 403 a plan without API access, 429 the rate limit (no Retry-After).

The 5-a-minute limit is the endpoint's own, so retries are few: one retry of a 5xx or a 429.
"""

from __future__ import annotations

from credit_monitor.model import Balance
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy
from credit_monitor.providers.fields import number_at


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/v3/account/usage", {"api_key": api_key})


def parse_balance(payload: dict[str, object]) -> Balance:
    return Balance(credits=number_at(payload, ("credits", "remaining")))


PROVIDER = Provider(
    name="lusha",
    display_name="Lusha",
    default_api_url="https://api.lusha.com",
    top_up_url=None,
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=2, backoff_seconds=0.5, rate_limited_backoff_seconds=5.0),
    rate_limit=RateLimit(requests=5, per_seconds=60),  # the usage endpoint's own limit, per key
)
