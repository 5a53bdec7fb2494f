"""Dropcontact: GET /v1/account/credits with header X-Access-Token; the balance is `credits`.

Sources:
- https://developer.dropcontact.com/en/reference/get-credits/: "GET
  https://api.dropcontact.com/v1/account/credits Show the number of credits left on your account.
  ... credits | integer | yes | Total number of credits left on your account, free credits
  included. ... 401 — Missing or invalid API key". "This call uses no credit."
- https://developer.dropcontact.com/en/authentication/: "Add your key in the X-Access-Token header
  of every request".
- https://developer.dropcontact.com/en/errors/: errors from GET /v1/account/credits "put the
  message in detail", e.g. {"detail": "..."}.
- https://developer.dropcontact.com/en/rate-limits/: "You are limited to 60 requests per second",
  then 429 (no Retry-After documented).
"""

from __future__ import annotations

from credit_monitor.model import Balance
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy
from credit_monitor.providers.fields import number_at


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/account/credits", {"X-Access-Token": api_key})


def parse_balance(payload: dict[str, object]) -> Balance:
    return Balance(credits=number_at(payload, ("credits",)))


PROVIDER = Provider(
    name="dropcontact",
    display_name="Dropcontact",
    default_api_url="https://api.dropcontact.com/v1",
    top_up_url=None,
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=1.0),
    rate_limit=RateLimit(requests=60, per_seconds=1),
)
