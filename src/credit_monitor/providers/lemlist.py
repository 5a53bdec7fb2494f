"""lemlist: GET /team/credits with HTTP Basic (empty user, key as password).

`credits` is the headline figure; `details.remaining` splits it into pools (subscription, paid,
gifted, freemium), shown in messages and `status` but not metered (four more custom metrics per
account would cost more than the whole monitor). The subscription credits are the plan's: they renew
with it; paid and gifted credits stay until used.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from credit_monitor.model import Balance, CheckError, FailureKind, Pool, json_type_name, require_number
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy

POOLS = ("subscription", "paid", "gifted", "freemium")
RENEWING_POOLS = frozenset({"subscription"})


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/team/credits", auth_headers(api_key))


def auth_headers(api_key: str) -> Mapping[str, str]:
    token = base64.b64encode(f":{api_key}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def parse_balance(payload: dict[str, object]) -> Balance:
    if "credits" not in payload:
        raise CheckError(FailureKind.BAD_RESPONSE, "response has no 'credits' field")
    credits = require_number(payload["credits"], "'credits'")
    return Balance(credits=credits, pools=_pools(payload.get("details")))


def _pools(details: object) -> tuple[Pool, ...]:
    """The split is optional; when present it must be well-formed, or we would show nonsense."""
    if details is None:
        return ()
    if not isinstance(details, dict):
        raise CheckError(
            FailureKind.BAD_RESPONSE, f"'details' must be an object, got {json_type_name(details)}"
        )
    remaining = details.get("remaining")
    if remaining is None:
        return ()
    if not isinstance(remaining, dict):
        raise CheckError(
            FailureKind.BAD_RESPONSE,
            f"'details.remaining' must be an object, got {json_type_name(remaining)}",
        )
    return tuple(
        Pool(name, require_number(remaining[name], f"'details.remaining.{name}'"), name in RENEWING_POOLS)
        for name in POOLS
        if name in remaining
    )


PROVIDER = Provider(
    name="lemlist",
    display_name="lemlist",
    default_api_url="https://api.lemlist.com/api",
    top_up_url="https://app.lemlist.com/settings/billing",
    build_request=build_request,
    parse_balance=parse_balance,
    # 20 requests per 2 s per key, and 429s carry Retry-After, which we honour up to the cap (without
    # one, wait a whole 2 s window). A 5xx or a dropped connection is retried soon, deadline allowing.
    retry=RetryPolicy(
        attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0, retry_after_cap_seconds=5
    ),
    rate_limit=RateLimit(requests=20, per_seconds=2),  # per API key
)
