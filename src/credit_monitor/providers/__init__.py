"""The provider registry: a built-in API is an entry of `table` when it differs from the others only
in data, else one module and one line here.

`PROVIDERS` are the zero-config pair, checked without an accounts file. `CATALOGUE` is every
built-in by name, for an accounts file's `provider = "..."`. An API that is in neither is declared
in the accounts file with `provider = "http-json"` (see `http_json`).
"""

from collections.abc import Mapping
from types import MappingProxyType

from credit_monitor.providers import (
    brevo,
    clearout,
    fullenrich,
    hunter,
    lemlist,
    neverbounce,
    query_auth,
    table,
    zerobounce,
)
from credit_monitor.providers.base import (
    HttpReply,
    Provider,
    RateLimit,
    ReplyContext,
    Request,
    RetryPolicy,
    Token,
    TokenExchange,
    Vendor,
)

PROVIDERS: tuple[Provider, ...] = (
    fullenrich.PROVIDER,
    lemlist.PROVIDER,
)

CATALOGUE: Mapping[str, Provider] = MappingProxyType(
    {
        provider.name: provider
        for provider in (
            *PROVIDERS,
            *sorted(
                (
                    *table.PROVIDERS,
                    brevo.PROVIDER,
                    clearout.PROVIDER,
                    hunter.PROVIDER,
                    neverbounce.PROVIDER,
                    zerobounce.PROVIDER,
                ),
                key=lambda provider: provider.name,
            ),
        )
    }
)

query_auth.install_log_filter()  # already done on import; said here so it is not lost in a refactor

__all__ = [
    "CATALOGUE",
    "PROVIDERS",
    "HttpReply",
    "Provider",
    "RateLimit",
    "ReplyContext",
    "Request",
    "RetryPolicy",
    "Token",
    "TokenExchange",
    "Vendor",
]
