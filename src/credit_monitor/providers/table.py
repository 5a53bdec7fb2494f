"""The built-in vendors that differ only in data: where to ask, how the key is sent, where the
balance is, the documented rate limit and how hard to retry. Each entry is validated by the same
code as an accounts file's http-json account (`http_json.from_entry`), so a mistake here is the
same clear ValueError. A vendor whose replies need code (lemlist's pools, NeverBounce's sum,
ZeroBounce's -1, Hunter's plans, Clearout's status) keeps a module of its own.

Fields besides http-json's: `name` (the accounts file's `provider`), `url` the base URL (an
account's `url` replaces it, e.g. a regional host), `path` appended to it, `retry` (RetryPolicy's
fields) and `source` (where the numbers come from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from credit_monitor.providers import http_json
from credit_monitor.providers.base import Provider, Request, RetryPolicy

TABLE_FIELDS = ("name", "url", "path", "auth", "balance", "rate_limit", "display_name", "retry", "source")

TABLE: tuple[Mapping[str, Any], ...] = (
    {
        "name": "bouncer",
        "display_name": "Bouncer",
        "url": "https://api.usebouncer.com/v1.1",
        "path": "/credits",
        "auth": {"kind": "header", "name": "x-api-key"},
        "balance": "credits",
        "rate_limit": {"requests": 10, "per_seconds": 60},  # with 10 a minute, a check makes at most 3
        "retry": {"attempts": 3, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 6.0},
        "source": "Bouncer's OpenAPI, https://docs.usebouncer.com/api-reference/credits/credits.md:"
        " /v1.1/credits, auth 'x-api-key in header', example {'credits': 1000}, 'Limit of 10 requests"
        " per minute', errors 401, 402, 429, 503; https://docs.usebouncer.com/getting-started gives"
        " the host api.usebouncer.com.",
    },
    {
        "name": "dropcontact",
        "display_name": "Dropcontact",
        "url": "https://api.dropcontact.com/v1",
        "path": "/account/credits",
        "auth": {"kind": "header", "name": "X-Access-Token"},
        "balance": "credits",
        "rate_limit": {"requests": 60, "per_seconds": 1},
        "retry": {"attempts": 4, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 1.0},
        "source": "https://developer.dropcontact.com/en/reference/get-credits/: GET"
        " https://api.dropcontact.com/v1/account/credits, `credits` the credits left, free ones included,"
        " 401 a missing or invalid key, no credit used; /en/authentication/: the X-Access-Token header;"
        " /en/errors/: {'detail': ...}; /en/rate-limits/: 60 requests per second, then 429 (no Retry-After).",
    },
    {
        "name": "lusha",
        "display_name": "Lusha",
        "url": "https://api.lusha.com",
        "path": "/v3/account/usage",
        "auth": {"kind": "header", "name": "api_key"},
        "balance": "credits.remaining",
        "rate_limit": {"requests": 5, "per_seconds": 60},  # the usage endpoint's own limit, per key
        "retry": {"attempts": 2, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 5.0},
        "source": "https://docs.lusha.com/account/usage: GET https://api.lusha.com/v3/account/usage, header"
        " 'api_key', 'check credits.remaining', 'This endpoint has its own rate limit - 5 requests per"
        " minute'; https://docs.lusha.com/error-codes: 401 a bad key, 403 no API access, 429 the limit"
        " (no Retry-After). At 5 a minute, one retry at most.",
    },
)


def built_in(entry: Mapping[str, Any]) -> Provider:
    """The Provider an entry describes; ValueError("<field>: <what is wrong>") as for http-json."""
    unknown = sorted(str(name) for name in entry if name not in TABLE_FIELDS)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field (a table entry takes {', '.join(TABLE_FIELDS)})")
    path = entry.get("path")
    if not isinstance(path, str) or not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError("path: must start with '/', without a query or fragment")
    base = entry.get("url")
    http_fields = ("auth", "balance", "rate_limit", "display_name")
    provider, _ = http_json.from_entry(
        {"url": f"{base}{path}" if isinstance(base, str) else base}
        | {name: entry[name] for name in http_fields if name in entry}
    )
    request_at = provider.build_request

    def build_request(api_url: str, api_key: str) -> Request:
        return request_at(api_url + path, api_key)

    return replace(
        provider,
        name=str(entry["name"]),
        default_api_url=str(base).rstrip("/"),
        build_request=build_request,
        retry=RetryPolicy(**entry.get("retry", {})),
    )


PROVIDERS: tuple[Provider, ...] = tuple(built_in(entry) for entry in TABLE)
